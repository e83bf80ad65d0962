// The host lifecycle as data (after MAAS's NODE_TRANSITIONS): for each state,
// the states it may move to. This is enforced by the store's one transition
// operation, so get it right: a move that is not listed here cannot happen.
import type { HostState } from '../../contract/lifecycle'

export const TRANSITIONS: Readonly<Record<HostState, readonly HostState[]>> = {
  // A definition waits for its server: the kickstart is fetched, the installer
  // reports (%pre, %post; either may be lost on the way), or it checks in.
  defined: ['booting', 'installing', 'installed', 'checked_in', 'needs_attention', 'retired'],
  booting: ['installing', 'installed', 'checked_in', 'needs_attention', 'defined', 'retired'],
  // The installer is writing the disk; if %post is lost, the first check-in moves it on.
  installing: ['installed', 'checked_in', 'needs_attention', 'defined', 'retired'],
  // Installed and disarmed: the first check-in binds it (or the Secure Boot path
  // does, over the vSphere API); installed again from an ISO with its live token.
  installed: ['installing', 'checked_in', 'needs_attention', 'defined', 'retired'],
  // A server that no definition claims: assigned or defined from it, or dismissed.
  discovered: ['checked_in', 'needs_attention', 'retired'],
  // Identified and bound; it reboots into the installer (booting, installing) or is approved.
  checked_in: ['approved', 'booting', 'installing', 'needs_attention', 'defined', 'retired'],
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

/** States of a definition whose server has not checked in yet: its first check-in binds it. */
export const AWAITING_CHECKIN: readonly HostState[] = [
  'defined',
  'booting',
  'installing',
  'installed',
]

/**
 * States in which the host's netboot is armed: its per-MAC files start the
 * installer. From `installed` on they boot the local disk, so a server that
 * boots from the network first does not reinstall itself on every reboot;
 * Reinstall (back to `defined`) arms it again.
 */
export const NETBOOT_ARMED: readonly HostState[] = ['defined', 'booting', 'installing']

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
