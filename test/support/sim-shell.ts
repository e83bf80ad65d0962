import type { Shell } from '../../main/catalogue/types'
import { runCommand, runCommandLine, splitOrRefuse } from '../esxi-sim/interpreter'
import { withLoginWarning } from '../esxi-sim/result'
import { defaultState, type SimOverrides, type SimState } from '../esxi-sim/state'

/**
 * A simulated host in memory, reached without SSH: each command line runs
 * through the simulator's interpreter (simple lines only: no shell syntax; `sh -c LINE` runs
 * LINE, itself a simple line), and its output opened by the login warning where the
 * loginWarning quirk puts it, as an SSH session would see it.
 * For catalogue tests of read -> diff -> apply -> verify.
 */
export function memoryHost(overrides: SimOverrides = {}): { state: SimState; shell: Shell } {
  const state = defaultState(overrides)
  return {
    state,
    shell: {
      exec(command) {
        const argv = splitOrRefuse(command)
        if (!Array.isArray(argv)) return Promise.resolve(withLoginWarning(state, argv))
        // `sh -c LINE`, as custom steps run their lines: LINE is one more simple command here.
        const r =
          argv.length === 3 && argv[0] === 'sh' && argv[1] === '-c'
            ? runCommandLine(argv[2] as string, state)
            : runCommand(argv, state)
        return Promise.resolve(withLoginWarning(state, r))
      },
    },
  }
}
