import { isLoopback, managementAddress } from './net'
import { loadState, type Quirks, type SimState } from './state'
import { watchState } from './watch'

/** What an sshd stand-in does when the host's management network changes. */
export interface FollowTarget {
  /** Ends (reset) or freezes (hang) every session: they were to the old address. */
  drop(how: Quirks['oldAddressSessions']): void
  /** Stops listening, then listens at the address unless it is null. */
  moveTo(address: string | null): Promise<void>
  /** Anything else the stand-in mirrors from the state (the OpenSSH account's password). */
  observe?(s: SimState): void
}

export interface Follower {
  /** The address listened on now; null while vmk0 is unreachable or the SSH service stopped. */
  listening(): string | null
  /** Re-reads the state now; resolves once the sshd matches it. */
  resync(): Promise<void>
  /** Resolves once the sshd listens at the address (null: once it listens nowhere). */
  waitForAddress(address: string | null): Promise<void>
  stop(): Promise<void>
}

/**
 * Keeps an sshd where the host says it is: at vmk0's address while vmk0 is reachable and the SSH
 * service runs. Every change of the management address (even one undone before we look, which
 * `managementChanges` counts) drops the sessions. Addresses outside 127.0.0.0/8 are networks the
 * tests cannot reach: nobody answers there.
 */
export function followManagement(
  statePath: string,
  listeningAt: string,
  target: FollowTarget,
): Follower {
  const first = loadState(statePath)
  let seen = { address: managementAddress(first), changes: first.managementChanges }
  let sshRunning = first.services.ssh.running
  let current: string | null = listeningAt
  let stopped = false
  let waiters: Array<{ address: string | null; resolve: () => void }> = []

  async function sync(): Promise<void> {
    if (stopped) return
    let s: SimState
    try {
      s = loadState(statePath)
    } catch {
      return
    }
    target.observe?.(s)
    const address = managementAddress(s)
    if (address !== seen.address || s.managementChanges !== seen.changes) {
      target.drop(s.quirks.oldAddressSessions)
      seen = { address, changes: s.managementChanges }
    }
    if (sshRunning && !s.services.ssh.running && s.quirks.sshStopSessions === 'reset') {
      target.drop('reset')
    }
    sshRunning = s.services.ssh.running
    const want = address !== null && isLoopback(address) && s.services.ssh.running ? address : null
    if (want !== current) {
      current = null
      await target.moveTo(want)
      current = want
    }
  }

  let queue: Promise<void> = Promise.resolve()
  const resync = () => {
    // A failed move leaves the sshd listening nowhere; the next change tries again.
    queue = queue
      .then(sync)
      .catch(() => undefined)
      .then(() => {
        const ready = waiters.filter((w) => w.address === current)
        waiters = waiters.filter((w) => w.address !== current)
        for (const w of ready) w.resolve()
      })
    return queue
  }
  const unwatch = watchState(statePath, () => void resync())

  return {
    listening: () => current,
    resync,
    waitForAddress: (address) =>
      address === current
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ address, resolve })),
    async stop() {
      stopped = true
      unwatch()
      await queue
    },
  }
}

/**
 * Where an sshd stand-in starts: vmk0's address, which must be in 127.0.0.0/8. Starting the sshd
 * is starting the host's SSH service, so the state says it runs.
 */
export function startingAddress(s: SimState): string {
  const address = managementAddress(s)
  if (address === null) {
    throw new Error('vmk0 has no reachable address: the SSH simulator has nowhere to listen')
  }
  if (!isLoopback(address)) {
    throw new Error(`the ESXi SSH simulator only listens on 127.0.0.0/8, not ${address}`)
  }
  return address
}
