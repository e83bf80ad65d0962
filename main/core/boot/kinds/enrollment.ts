// The generic PBHOST/PBKEY line (issue 5): what every generic menu carries,
// on its own for sites with their own menus or a stateless boot.
import type { BootKind, KindResult, BootContext } from '../input'
import { enrollmentOptions } from '../layout'
import { genericSecrets } from './shared'

const ID = 'enrollment'

function render(c: BootContext): KindResult {
  return {
    artifacts: [
      {
        kind: ID,
        scope: 'generic',
        title: 'PBHOST/PBKEY boot options for any server',
        delivery: 'console',
        path: 'pbhost-boot-options.txt',
        text: `${enrollmentOptions(c)}\n`,
        syntax: 'boot-options',
        secrets: genericSecrets(c),
      },
    ],
    warnings: [],
  }
}

export const enrollment: BootKind = {
  id: ID,
  label: 'PBHOST line (unknown and stateless servers)',
  firmware: 'any',
  description:
    "Boot options for any server: add them to your own boot menu's kernel line or a stateless boot.cfg's kernelopt. The check-in client reads them from the boot command line and enrolls the server as discovered.",
  applies: () => ({ applies: true }),
  render,
}
