// An operator's regular expression runs on Midwife's main thread against whatever a host
// printed. Patterns known to backtrack without end are refused when saved; this bounds the rest.
import { runInNewContext } from 'node:vm'

/** How long one pattern may take on one output: far beyond any sane pattern, short of a stall. */
export const PATTERN_BUDGET_MS = 2_000

/**
 * `pattern.test(text)`, stopped once it has run `budgetMs`: V8 interrupts a backtracking match
 * when a script's timeout fires, so a pathological pattern costs at most the budget.
 */
export function boundedMatch(
  pattern: RegExp,
  text: string,
  budgetMs: number = PATTERN_BUDGET_MS,
): boolean {
  try {
    return runInNewContext('pattern.test(text)', { pattern, text }, { timeout: budgetMs }) === true
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new Error(
        `was stopped after ${budgetMs / 1000} s matching ${text.length} characters of the check's output: simplify the pattern (it backtracks too much) or narrow the check's output`,
        { cause: err },
      )
    }
    throw err
  }
}
