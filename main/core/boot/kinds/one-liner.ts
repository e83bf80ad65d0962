// The one-liner for a host installed by hand: pasted into the host's shell,
// it fetches the personal check-in client (material.ts holds the line).
import type { BootKind, KindResult, BootContext } from '../input'
import { listenerBase } from '../layout'
import { oneLiner as oneLinerText } from '../material'
import { hostSecrets } from './shared'

const ID = 'one-liner'

function render(c: BootContext): KindResult {
  const h = c.host
  if (h === undefined) return { artifacts: [], warnings: [] }
  return {
    artifacts: [
      {
        kind: ID,
        scope: 'host',
        title: `One-liner for ${h.hostname}`,
        delivery: 'console',
        path: `${h.hostname}-one-liner.sh`,
        text: `${oneLinerText(listenerBase(c), h.token)}\n`,
        syntax: 'shell',
        secrets: hostSecrets(h),
      },
    ],
    warnings: [],
  }
}

export const oneLiner: BootKind = {
  id: ID,
  label: 'One-liner (installed by hand)',
  firmware: 'any',
  description:
    "For a host installed by hand: paste into the host's shell (SSH or the ESXi Shell). It turns the outbound firewall off only while it fetches and runs the check-in client.",
  applies: (c) =>
    c.host !== undefined
      ? { applies: true }
      : { applies: false, reason: 'the one-liner is per host' },
  render,
}
