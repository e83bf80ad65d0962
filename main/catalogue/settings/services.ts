import { z } from 'zod'
import { hostSaid } from '../shell'
import { defineSetting, type Change, type Command, type Reader } from '../types'

export type OnOff = 'on' | 'off'

export interface ServicesValue {
  /** Midwife works over SSH, so only 'on' is wanted here; see sshOffAfterRun. */
  ssh: OnOff | 'unknown'
  /** 'unknown' only as read: the host has no status script for it. */
  esxShell: OnOff | 'unknown'
}

const state = (running: boolean | undefined) =>
  running === undefined ? 'unknown' : running ? 'on' : 'off'

const SERVICES = {
  ssh: { script: 'SSH', verb: 'ssh', title: 'SSH' },
  esxShell: { script: 'ESXShell', verb: 'esx_shell', title: 'the ESXi Shell' },
} as const
type ServiceKey = keyof typeof SERVICES

export const hostsvc = (action: string, service: ServiceKey): Command => ({
  words: ['vim-cmd', `hostsvc/${action}_${SERVICES[service].verb}`],
})

/**
 * Whether a service runs now: `/etc/init.d/SSH status` (esxi.md). Its wording and exit code are
 * not stated, so the words win and the LSB exit codes (0 running, 3 stopped) are the fallback.
 * esxi.md names no status script for the ESXi Shell: where the host has none, whether it runs
 * is unknown (undefined).
 */
export async function serviceRunning(r: Reader, service: ServiceKey): Promise<boolean | undefined> {
  const script = `/etc/init.d/${SERVICES[service].script}`
  const res = await r.probe([script, 'status'])
  const text = `${res.stdout}\n${res.stderr}`
  if (/\b(not running|stopped|inactive)\b/i.test(text)) return false
  if (/\b(is running|running)\b/i.test(text)) return true
  if (res.code === 127 || /\bnot found\b|no such file/i.test(text)) return undefined
  if (res.code === 0) return true
  if (res.code === 3) return false
  const said = hostSaid(res) || 'nothing'
  throw new Error(
    `\`${script} status\` did not say whether it runs (exit ${res.code ?? 'none'}): ${said}`,
  )
}

/**
 * SSH and the ESXi Shell. The commands esxi.md gives can express two things per service:
 * whether it starts with the host (`enable_`/`disable_`, the service policy) and whether it runs
 * now (`start_`/`stop_`). Only the second can be read back (`/etc/init.d/SSH status`); nothing
 * over SSH reads the policy. So "on" and "on with the host" cannot be told apart: "on" enables
 * and starts, "off" stops and disables, and only whether it runs is compared and verified. A
 * policy changed by hand on a running service goes unnoticed until the host reboots.
 */
export const services = defineSetting<ServicesValue>({
  key: 'services',
  title: 'SSH and ESXi Shell',
  group: 'security',
  description:
    'On starts the service and makes it start with the host; off stops it and keeps it from starting. Only whether it runs can be read back, so that is what is verified.',
  example: { ssh: 'on', esxShell: 'off' },
  value: z.object({
    ssh: z
      .literal('on', {
        message:
          'SSH stays on while Midwife configures the host; to turn it off when the run ends, use "Turn SSH off after configuration"',
      })
      .default('on'),
    esxShell: z.enum(['on', 'off'], { message: 'the ESXi Shell is on or off' }),
  }),
  scope: 'site',
  field: {
    kind: 'object',
    fields: [
      {
        key: 'ssh',
        title: 'SSH',
        field: {
          kind: 'select',
          options: [{ value: 'on', label: 'On (now and with the host)' }],
          hint: 'Midwife needs it; "Turn SSH off after configuration" turns it off at the end.',
        },
      },
      {
        key: 'esxShell',
        title: 'ESXi Shell',
        field: {
          kind: 'select',
          options: [
            { value: 'on', label: 'On (now and with the host)' },
            { value: 'off', label: 'Off' },
          ],
        },
      },
    ],
    hint: 'Both not set: Midwife leaves SSH and the ESXi Shell as they are on the host. Choosing the ESXi Shell sets SSH on too (now and with the host). Whether a service starts with the host cannot be read back over SSH; only whether it runs is verified.',
  },
  async read(r) {
    return {
      ssh: state(await serviceRunning(r, 'ssh')),
      esxShell: state(await serviceRunning(r, 'esxShell')),
    }
  },
  diff(current, wanted) {
    const changes: Change[] = []
    for (const key of Object.keys(SERVICES) as ServiceKey[]) {
      if (current[key] === wanted[key]) continue
      // Off on a host that cannot say: ESXi leaves SSH and the ESXi Shell off after install
      // (esxi.md), and the stop_/disable_ verbs are not among those it lists, so nothing runs.
      if (current[key] === 'unknown' && wanted[key] === 'off') continue
      // On where the host cannot say: the commands are idempotent, so they run on every run.
      changes.push(
        wanted[key] === 'on'
          ? {
              summary: `turn ${SERVICES[key].title} on (now and with the host)`,
              commands: [hostsvc('enable', key), hostsvc('start', key)],
            }
          : {
              summary: `turn ${SERVICES[key].title} off`,
              commands: [hostsvc('stop', key), hostsvc('disable', key)],
            },
      )
    }
    return changes
  },
  // What cannot be read is not held against the run: the vim-cmd commands that set it succeeded.
  verify: (after, wanted) =>
    (Object.keys(SERVICES) as ServiceKey[]).every(
      (k) => after[k] === wanted[k] || after[k] === 'unknown',
    ),
  show: (v) =>
    (Object.keys(SERVICES) as ServiceKey[])
      .map(
        (k) =>
          `${SERVICES[k].title.replace(/^the /, '')} ${v[k] === 'unknown' ? '(the host cannot say)' : v[k]}`,
      )
      .join(', '),
  connection: 'keeps',
})
