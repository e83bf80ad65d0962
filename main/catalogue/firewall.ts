// The host's firewall rulesets, as the settings that need one open read them.
import { parseRulesets } from './parse'
import { esxcli } from './shell'
import type { Reader } from './types'

const LIST_RULESETS = esxcli('network', 'firewall', 'ruleset', 'list')

/**
 * Whether a firewall ruleset is on; undefined when the host does not say: it
 * does not list its rulesets (`ruleset list` is not among the commands esxi.md
 * gives), or its list has no row for this one. The command that opens one
 * (`ruleset set -e true`) is in esxi.md, and it is idempotent, so a setting
 * that cannot read the ruleset opens it on every run. A missing row is not
 * "closed": the ruleset would then read closed again after being opened, and
 * the step would fail its verification.
 */
export async function rulesetEnabled(r: Reader, name: string): Promise<boolean | undefined> {
  const res = await r.probe(LIST_RULESETS)
  if (res.code !== 0) return undefined
  return parseRulesets(res.stdout)[name]
}
