import { z } from 'zod'
import { defineSetting } from '../types'
import { hostsvc, serviceRunning } from './services'

/**
 * SSH off once everything else is applied and verified. It ends SSH access, so its connection is
 * 'ends': the run engine applies it after every other setting (moving ones included) and runs
 * nothing after it. The policy goes first (`disable_ssh`), then the service stops: if ESXi drops
 * the session when sshd stops (unconfirmed), SSH still stays off after a reboot. The read-back
 * uses the same session, which the simulator keeps; if a real host drops it, the engine verifies
 * instead that a new SSH connection is refused.
 */
export const sshOffAfterRun = defineSetting<boolean>({
  key: 'sshOffAfterRun',
  title: 'Turn SSH off after configuration',
  group: 'security',
  description:
    'Stops SSH, and keeps it from starting with the host, once every other setting is applied and verified. Drift checks and re-runs then cannot reach the host until SSH is turned back on: in the host client (Host > Actions > Services > Enable Secure Shell) or through the vSphere API, as Midwife does after a Secure Boot install.',
  example: true,
  value: z.boolean({ message: 'turning SSH off after configuration is yes or no' }),
  scope: 'site',
  field: {
    kind: 'boolean',
    label: 'Turn SSH off when the run ends',
    hint: 'Later drift checks and re-runs need SSH turned back on first.',
  },
  // true: SSH is off.
  async read(r) {
    return (await serviceRunning(r, 'ssh')) === false
  },
  diff(current, wanted) {
    // Unticked leaves SSH as it is; keeping it on is the services setting's business.
    if (!wanted || current) return []
    return [
      {
        summary: 'turn SSH off: later drift checks and re-runs need it turned back on',
        commands: [hostsvc('disable', 'ssh'), hostsvc('stop', 'ssh')],
      },
    ]
  },
  show: (off) => (off ? 'SSH off' : 'SSH on'),
  connection: 'ends',
})
