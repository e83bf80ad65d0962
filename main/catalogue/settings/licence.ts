import { z } from 'zod'
import { defineSetting } from '../types'

const KEY = /^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$/
const EVALUATION = '00000-00000-00000-00000-00000'

/** The major version of a version string (7.0.3 -> 7), or null. */
function major(version: string | null): number | null {
  const m = /^(\d+)\./.exec(version ?? '')
  return m ? Number(m[1]) : null
}

/**
 * The key in `vim-cmd vimsvc/license --show`, whose output esxi.md does not give: its `serial:`
 * line (as hosts print it), else the first thing shaped like a key (`licenseKey = "..."`,
 * `License Key: ...`); '' when there is none.
 */
export function licenceSerial(text: string): string {
  const serial = /^\s*serial:\s*(\S+)\s*$/im.exec(text)?.[1]
  if (serial !== undefined) return serial.toUpperCase()
  return (/\b[A-Z0-9]{5}(?:-[A-Z0-9]{5}){4}\b/i.exec(text)?.[0] ?? '').toUpperCase()
}

/**
 * The host's licence key (7.0 and 8.0). ESX 9.x hosts are licensed through vCenter, so there the
 * setting is refused before anything runs. The key is a secret: show() never prints it, the
 * command carries it in `secrets`, and the read prints it, which the field kind 'secret' tells
 * the run engine to keep out of step output.
 */
export const licence = defineSetting<string>({
  key: 'licence',
  title: 'Licence key',
  group: 'security',
  description:
    'The vSphere licence key for ESXi 7.0 and 8.0; ESX 9.x hosts are licensed through vCenter.',
  example: 'AB12C-3DE45-F6G7H-8JK9L-0MN1P',
  value: z
    .string({ message: 'a licence key is text' })
    .trim()
    .toUpperCase()
    .superRefine((s, ctx) => {
      if (!KEY.test(s))
        ctx.addIssue({
          code: 'custom',
          message:
            'a licence key is 5 groups of 5 letters or digits, like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX',
        })
      else if (s === EVALUATION)
        ctx.addIssue({
          code: 'custom',
          message: 'that is the evaluation placeholder, not a licence key',
        })
    }),
  scope: 'site',
  field: { kind: 'secret', hint: 'XXXXX-XXXXX-XXXXX-XXXXX-XXXXX; not for ESX 9.x hosts.' },
  async read(r) {
    return licenceSerial(await r.read(['vim-cmd', 'vimsvc/license', '--show']))
  },
  diff(current, wanted) {
    if (current === wanted) return []
    return [
      {
        summary: 'install the licence key',
        commands: [{ words: ['vim-cmd', 'vimsvc/license', '--set', wanted], secrets: [wanted] }],
      },
    ]
  },
  show: (v) =>
    v === '' ? '(no key)' : v === EVALUATION ? 'evaluation mode' : 'a licence key (hidden)',
  connection: 'keeps',
  secret: true,
  unsupported: (version) =>
    (major(version) ?? 0) >= 9
      ? "ESX 9.x hosts are licensed through vCenter; remove the licence key from this host's spec"
      : null,
})
