// A spec as it is stored, shown and run: secret values sealed at rest and
// never sent to a screen; the resolved spec of a host (identity, site
// profile, its own values) with where each value came from.
import { resolveSpec, settingByKey, SETTINGS } from '../../catalogue/registry'
import type { ResolvedValue } from '../../contract/schemas'
import { openNamed, OTHERWISE, sameSecret, type SecretBox } from '../secrets'
import type { StoredSpec } from '../store'

const SEALED = '$sealed'

function sealedOf(v: unknown): string | null {
  return typeof v === 'object' && v !== null && SEALED in v
    ? String((v as Record<string, unknown>)[SEALED])
    : null
}

/** Whether a stored value is sealed and holds `plain`; one this box cannot open holds nothing. */
function holds(box: SecretBox, stored: unknown, plain: string): boolean {
  const sealed = sealedOf(stored)
  if (sealed === null) return false
  try {
    return sameSecret(box.open(Buffer.from(sealed, 'base64')), plain)
  } catch {
    return false
  }
}

/**
 * The spec to store: secret values sealed; a secret left out of the input
 * keeps its stored value unless it is listed in `clear`. A secret given again
 * as it is stored keeps its sealed value: each seal has a new nonce, and what
 * a change would affect (a profile's hosts, a configured host's next run) is
 * worked out by comparing stored values.
 */
export function sealSpec(
  box: SecretBox,
  input: Record<string, unknown>,
  previous: StoredSpec,
  clear: readonly string[],
): StoredSpec {
  const out: StoredSpec = {}
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue
    // A secret setting's value is a string (its schema says so).
    if (!settingByKey(key)?.secret) out[key] = value
    else if (holds(box, previous[key], value as string)) out[key] = previous[key]
    else out[key] = { [SEALED]: box.seal(value as string).toString('base64') }
  }
  for (const s of SETTINGS) {
    if (!s.secret || s.key in out || clear.includes(s.key)) continue
    if (previous[s.key] !== undefined) out[s.key] = previous[s.key]
  }
  return out
}

/** The spec a screen may see: secrets left out, and which are set. */
export function publicSpec(stored: StoredSpec): {
  spec: Record<string, unknown>
  secretsSet: string[]
} {
  const spec: Record<string, unknown> = {}
  const secretsSet: string[] = []
  for (const [key, value] of Object.entries(stored)) {
    if (sealedOf(value) !== null || settingByKey(key)?.secret) secretsSet.push(key)
    else spec[key] = value
  }
  return { spec, secretsSet }
}

/** The spec with its secrets opened: only for a plan or a run, never for a screen. */
export function openSpec(box: SecretBox, stored: StoredSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(stored)) {
    const sealed = sealedOf(value)
    out[key] =
      sealed === null
        ? value
        : openNamed(
            box,
            Buffer.from(sealed, 'base64'),
            `the ${settingByKey(key)?.title ?? key} setting`,
            OTHERWISE.setting,
          )
  }
  return out
}

/** What a host is configured to, for a screen: each value, shown, with its source. */
export function resolvedForScreen(
  identity: { hostname: string; domain: string },
  profile: StoredSpec,
  own: StoredSpec,
): ResolvedValue[] {
  return resolveSpec(identity, profile, own).map((r) => {
    const setting = settingByKey(r.key)
    const secret = setting?.secret === true
    return {
      key: r.key,
      title: setting?.title ?? r.key,
      source: r.source,
      value: secret ? null : r.value,
      shown: secret ? '(set)' : (setting?.show(r.value) ?? JSON.stringify(r.value)),
      secret,
    }
  })
}

/** The IPv4 addresses a host's own values give it (management address, VMkernel NICs). */
export function addressesOf(spec: StoredSpec): string[] {
  return Object.entries(spec).flatMap(([key, value]) => {
    const setting = settingByKey(key)
    return setting?.addresses && !setting.secret ? setting.addresses(value) : []
  })
}
