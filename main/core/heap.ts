import { setFlagsFromString } from 'node:v8'

let tuned = false

/**
 * Turns off V8's allocation-site pretenuring in the process that runs the
 * listener. Once most objects from a literal have outlived a scavenge, V8
 * allocates that literal straight into the old generation, and whatever such
 * an object points at then outlives the next scavenge too, dead or not. On
 * the check-in path some sites qualify (--trace-pretenuring tenured several;
 * one is each host's latest check-in record, which does live until the
 * host's next check-in), and check-ins long answered were then copied into
 * the old generation and marked again before they could be freed: 930 KB per
 * scavenge with 200 hosts checking in over one connection, 110 KB without
 * pretenuring. bench:listener measured the listener's CPU per check-in lower
 * without it at 50 and 200 concurrent (README, Performance).
 *
 * The flag is read at each collection and when code is compiled, so setting
 * it at start applies from then on; Node and Electron's main process keep
 * V8's flags writable after start for exactly this (v8.setFlagsFromString).
 */
export function tuneHeapForListener(): void {
  if (tuned) return
  tuned = true
  setFlagsFromString('--no-allocation-site-pretenuring')
}
