import type { Shell } from '../../main/catalogue/types'
import { runCommand, runCommandLine, splitOrRefuse } from '../esxi-sim/interpreter'
import { defaultState, type SimOverrides, type SimState } from '../esxi-sim/state'

/**
 * A simulated host in memory, reached without SSH: each command line runs
 * through the simulator's interpreter (simple lines only: no shell syntax; `sh -c LINE` runs
 * LINE, itself a simple line).
 * For catalogue tests of read -> diff -> apply -> verify.
 */
export function memoryHost(overrides: SimOverrides = {}): { state: SimState; shell: Shell } {
  const state = defaultState(overrides)
  return {
    state,
    shell: {
      exec(command) {
        const argv = splitOrRefuse(command)
        if (!Array.isArray(argv)) return Promise.resolve(argv)
        // `sh -c LINE`, as custom steps run their lines: LINE is one more simple command here.
        if (argv.length === 3 && argv[0] === 'sh' && argv[1] === '-c') {
          return Promise.resolve(runCommandLine(argv[2] as string, state))
        }
        return Promise.resolve(runCommand(argv, state))
      },
    },
  }
}
