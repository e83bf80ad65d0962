import { STATE_INFO } from '../../contract/lifecycle'
import { hostName } from '../hosts/host-view'
import { TOKEN_SPENT } from '../lifecycle/table'
import { tokenHash } from '../secrets'
import type { HostRecord, Store } from '../store'

/** The host a deployment token belongs to, or why the token does not work (401 or 410). */
export type TokenCheck =
  { ok: true; host: HostRecord } | { ok: false; status: 401 | 410; message: string }

/**
 * A token only says "this server may be stored": it stops working once its
 * host is configured or retired (410, so the client stops retrying), and a
 * token replaced by a reinstall answers 410 too.
 */
export function checkToken(store: Store, token: string): TokenCheck {
  const hash = tokenHash(token)
  const host = store.hosts.byTokenHash(hash)
  if (!host) {
    if (store.hosts.retiredToken(hash) !== undefined) {
      return {
        ok: false,
        status: 410,
        message:
          'this deployment token was replaced when its host was re-armed; use the new boot material',
      }
    }
    return { ok: false, status: 401, message: 'unknown deployment token' }
  }
  if (TOKEN_SPENT.includes(host.state)) {
    return {
      ok: false,
      status: 410,
      message: `${hostName(host)} is ${STATE_INFO[host.state].label.toLowerCase()}; its deployment token no longer works. Use Reinstall in Midwife to re-arm it.`,
    }
  }
  return { ok: true, host }
}
