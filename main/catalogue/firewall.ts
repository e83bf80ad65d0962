// The host's firewall rulesets, as the settings that need one open read them.
import { parseRulesets } from './parse'
import { esxcli } from './shell'
import type { Reader } from './types'

const LIST_RULESETS = esxcli('network', 'firewall', 'ruleset', 'list')

/**
 * Whether a firewall ruleset is on; undefined when the host does not list its
 * rulesets (`ruleset list` is not among the commands esxi.md gives). The
 * command that opens one (`ruleset set -e true`) is, and it is idempotent, so
 * a setting that cannot read the ruleset opens it on every run.
 */
export async function rulesetEnabled(r: Reader, name: string): Promise<boolean | undefined> {
  const res = await r.probe(LIST_RULESETS)
  if (res.code !== 0) return undefined
  return parseRulesets(res.stdout)[name] === true
}
