import { esxcli } from '../shell'
import { defineSetting } from '../types'
import { esxiPassword, PASSWORD_RULES } from '../values'

const MASK = '********'

/**
 * The root password, rotated from the profile. ESXi cannot read a password back, so the current
 * value is the one this run logged in with (ctx.loginPassword): a re-run with the same wanted
 * password plans nothing. After the change ESXi's exit code is all a read-back can confirm: the
 * run engine keeps the new password from then on, and proves it with a new login (`relogin`).
 */
export const rootPassword = defineSetting<string>({
  key: 'rootPassword',
  title: 'Root password',
  group: 'security',
  description:
    "The host's root password. Once ESXi takes the new one, Midwife keeps it and logs in again with it.",
  example: 'Rack-mw7!lab',
  value: esxiPassword,
  scope: 'site',
  field: {
    kind: 'secret',
    hint: `${PASSWORD_RULES}.`,
  },
  // The password this run logged in with, or '' when it is not known (no password login).
  read: (_r, ctx) => Promise.resolve(ctx.loginPassword ?? ''),
  diff(current, wanted) {
    if (current === wanted) return []
    return [
      {
        summary:
          current === ''
            ? 'set the root password (the current one cannot be read)'
            : 'change the root password',
        commands: [
          {
            words: esxcli('system', 'account', 'set', '-i', 'root', '-p', wanted, '-c', wanted),
            secrets: [wanted],
          },
        ],
      },
    ]
  },
  // Never the password: only whether one is known.
  show: (v) => (v === '' ? '(not known)' : MASK),
  connection: 'keeps',
  secret: true,
  relogin: (wanted) => wanted,
})
