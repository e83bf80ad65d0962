import { randomBytes } from 'node:crypto'
import { passwordProblem } from '../../main/catalogue/values'

/**
 * A random root password that passes ESXi's default rules (Midwife refuses any other as an
 * install password), whatever the random part: the prefix brings lower case, then a hyphen and
 * a digit that is not the last character; hex after them cannot spell root. 31 characters for
 * a 5-letter prefix, under ESXi's 39.
 */
export function randomRootPassword(prefix: string): string {
  const password = `${prefix}-7${randomBytes(12).toString('hex')}`
  const problem = passwordProblem(password)
  if (problem) throw new Error(`randomRootPassword(${prefix.length} letters): ${problem}`)
  return password
}
