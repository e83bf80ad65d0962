import type { Shell } from '../../main/catalogue/types'
import { runCommandLine } from '../esxi-sim/interpreter'
import { defaultState, type SimOverrides, type SimState } from '../esxi-sim/state'

/**
 * A simulated host in memory, reached without SSH: each command line runs
 * through the simulator's interpreter (simple lines only: no shell syntax).
 * For catalogue tests of read -> diff -> apply -> verify.
 */
export function memoryHost(overrides: SimOverrides = {}): { state: SimState; shell: Shell } {
  const state = defaultState(overrides)
  return {
    state,
    shell: {
      exec(command) {
        return Promise.resolve(runCommandLine(command, state))
      },
    },
  }
}
