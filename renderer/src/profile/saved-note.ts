// What a saved site profile means for each host it changed, by where the host is: when the
// new values reach it, and what the operator does for that.
import type { HostState } from '../../../main/contract/lifecycle'

export interface ChangedHost {
  hostId: number
  name: string
  keys: string[]
}

/** States whose host has a run that was approved with the values before: Retry reuses them. */
const HAS_RUN: readonly HostState[] = ['approved', 'configuring', 'failed', 'interrupted']

/**
 * The sentences after "Site profile saved.": configured hosts need approving again; hosts with
 * a run take the new values only when approved again (Retry uses those approved then); the
 * others when next installed or approved. `describe` names hosts with their settings.
 */
export function savedProfileNote(
  changes: readonly ChangedHost[],
  stateOf: (id: number) => HostState | undefined,
  describe: (changes: readonly ChangedHost[]) => string,
): string {
  if (changes.length === 0) return 'No defined host takes a different value.'
  const configured = changes.filter((c) => stateOf(c.hostId) === 'configured')
  const withRun = changes.filter((c) => HAS_RUN.includes(stateOf(c.hostId) as HostState))
  const rest = changes.length - configured.length - withRun.length
  const hosts = (n: number) => (n === 1 ? '1 host' : `${n} hosts`)
  const said: string[] = []
  if (configured.length > 0) {
    said.push(
      `${configured.length === 1 ? '1 configured host needs' : `${configured.length} configured hosts need`} approving again on the Servers step to apply them: ${describe(configured)}.`,
    )
  }
  if (withRun.length > 0) {
    said.push(
      `${hosts(withRun.length)} with a run ${withRun.length === 1 ? 'takes' : 'take'} them only when approved again on the Servers step (Retry uses the values approved before): ${describe(withRun)}.`,
    )
  }
  if (rest > 0) {
    said.push(
      `${hosts(rest)} not configured yet ${rest === 1 ? 'takes' : 'take'} them when next installed or approved.`,
    )
  }
  return said.join(' ')
}
