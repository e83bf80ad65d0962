// The host lifecycle as data (after MAAS's NODE_TRANSITIONS): for each state,
// the states it may move to. This is enforced by the store's one transition
// operation, so get it right: a move that is not listed here cannot happen.
import type { HostState } from '../../contract/lifecycle'

export const TRANSITIONS: Readonly<Record<HostState, readonly HostState[]>> = {
  // A definition waits for its server: the kickstart is fetched, or it checks in.
  defined: ['booting', 'checked_in', 'needs_attention', 'retired'],
  booting: ['checked_in', 'needs_attention', 'defined', 'retired'],
  // A server that no definition claims: assigned or defined from it, or dismissed.
  discovered: ['checked_in', 'needs_attention', 'retired'],
  // Identified and bound; it reboots into the installer (booting) or is approved.
  checked_in: ['approved', 'booting', 'needs_attention', 'defined', 'retired'],
  // Only an explicit operator decision leaves this state.
  needs_attention: ['checked_in', 'discovered', 'defined', 'retired'],
  // A queued run starts, is cancelled before it starts, or Midwife stops first.
  approved: ['configuring', 'checked_in', 'failed', 'interrupted'],
  configuring: ['configured', 'failed', 'interrupted'],
  // Run again (a re-run on a configured host changes nothing), reinstall, retire.
  configured: ['approved', 'needs_attention', 'defined', 'retired'],
  failed: ['approved', 'needs_attention', 'defined', 'retired'],
  interrupted: ['approved', 'needs_attention', 'defined', 'retired'],
  // Re-armed by a reinstall.
  retired: ['defined'],
}

export function canMove(from: HostState, to: HostState): boolean {
  return TRANSITIONS[from].includes(to)
}

/** States in which a configuration run holds the host: nothing else may change it. */
export const BUSY: readonly HostState[] = ['approved', 'configuring']

/** States whose deployment token is spent: its URLs answer 410. */
export const TOKEN_SPENT: readonly HostState[] = ['configured', 'retired']

export class IllegalTransition extends Error {
  constructor(
    readonly from: HostState,
    readonly to: HostState,
    why: string,
  ) {
    super(why)
    this.name = 'IllegalTransition'
  }
}
