// The operator's own shell lines with ${hostname}-style variables. Midwife puts each value in
// quoted for the place it lands (bare, inside '...', inside "..."), so a value can never become
// shell syntax, whatever it holds.
import { shellQuote } from './shell'
import type { PlanContext } from './types'

export const STEP_VARIABLES = ['hostname', 'domain', 'fqdn', 'mgmt.ip'] as const
export type StepVariable = (typeof STEP_VARIABLES)[number]
export type StepValues = Record<StepVariable, string>

export function stepValues(ctx: PlanContext): StepValues {
  return {
    hostname: ctx.hostname,
    domain: ctx.domain,
    fqdn: ctx.domain ? `${ctx.hostname}.${ctx.domain}` : ctx.hostname,
    'mgmt.ip': ctx.address,
  }
}

const known = (name: string): name is StepVariable =>
  (STEP_VARIABLES as readonly string[]).includes(name)

const listed = STEP_VARIABLES.map((v) => `\${${v}}`).join(', ')

function unknownVariable(name: string): string {
  return `\${${name}} is not a variable Midwife knows (${listed}); for a shell variable write $${/^\w+$/.test(name) ? name : 'name'} without braces`
}

// Characters that mean nothing to ash in any position, so such a value needs no quotes.
const PLAIN = /^[A-Za-z0-9_.,:/@%+-]+$/

function quoted(value: string, inside: 'none' | 'single' | 'double'): string {
  if (inside === 'double') return value.replace(/[\\"$`]/g, '\\$&')
  const word = PLAIN.test(value) ? value : shellQuote(value)
  // Inside '...': close the quote, put the quoted value, open it again.
  return inside === 'single' ? `'${word}'` : word
}

/** What is wrong with a line (an unknown variable, an open quote), or null. */
export function lineProblem(line: string): string | null {
  try {
    fillLine(line, { hostname: 'h', domain: 'd', fqdn: 'h.d', 'mgmt.ip': '10.0.0.1' })
    return null
  } catch (err) {
    return (err as Error).message
  }
}

/**
 * A shell line with every ${variable} replaced by its value, quoted for where it stands. Follows
 * ash's quoting: backslash escapes outside and inside "...", nothing escapes inside '...'.
 */
export function fillLine(line: string, values: StepValues): string {
  let out = ''
  let inside: 'none' | 'single' | 'double' = 'none'
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (c === '#' && inside === 'none' && (i === 0 || /\s/.test(line[i - 1] as string))) {
      // A comment: ash reads nothing in it, quotes included.
      out += line.slice(i)
      break
    } else if (c === '$' && line[i + 1] === '{') {
      const end = line.indexOf('}', i + 2)
      if (end < 0) throw new Error('a ${ is not closed with }')
      const name = line.slice(i + 2, end)
      if (!known(name)) throw new Error(unknownVariable(name))
      out += quoted(values[name], inside)
      i = end
    } else if (c === '\\' && inside !== 'single') {
      out += line.slice(i, i + 2)
      i++
    } else {
      if (c === "'" && inside !== 'double') inside = inside === 'single' ? 'none' : 'single'
      else if (c === '"' && inside !== 'single') inside = inside === 'double' ? 'none' : 'double'
      out += c
    }
  }
  if (inside !== 'none') {
    throw new Error(`a ${inside === 'single' ? "'" : '"'} quote is not closed`)
  }
  return out
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

/** An expected pattern with every ${variable} replaced by its value, matched literally. */
export function fillPattern(pattern: string, values: StepValues): RegExp {
  const source = pattern.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    if (!known(name)) throw new Error(unknownVariable(name))
    return escapeRegExp(values[name])
  })
  return new RegExp(source, 'm')
}

/** A quantifier at `i` of a pattern's source: its length, and whether it repeats without a small bound. */
function quantifierAt(source: string, i: number): { length: number; repeats: boolean } | null {
  const c = source[i]
  let length: number
  let repeats = false
  if (c === '*' || c === '+') {
    length = 1
    repeats = true
  } else if (c === '?') {
    length = 1
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i))
    if (!m) return null
    length = m[0].length
    const most = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3])
    repeats = most > 10
  } else {
    return null
  }
  // A lazy or possessive mark after it belongs to it.
  if (source[i + length] === '?') length++
  return { length, repeats }
}

/**
 * Whether a pattern repeats a group that holds a repeat of its own, like (a+)+ or (\s*x)*: the
 * shape that takes a backtracking engine exponential time on a line that almost matches.
 */
function nestedRepeat(source: string): boolean {
  // Per open group: whether something inside it varies in length by repetition.
  const groups: boolean[] = []
  let inner = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    let atomRepeats = false
    if (c === '\\') {
      i++
    } else if (c === '[') {
      // A class is one atom: skip to its closing ], minding escapes.
      i++
      if (source[i] === '^') i++
      if (source[i] === ']') i++
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1
    } else if (c === '(') {
      groups.push(inner)
      inner = false
      continue
    } else if (c === ')') {
      const held: boolean = inner
      inner = groups.pop() ?? false
      const q = quantifierAt(source, i + 1)
      if (q?.repeats && held) return true
      atomRepeats = held || (q?.repeats ?? false)
      inner ||= atomRepeats
      if (q) i += q.length
      continue
    }
    const q = quantifierAt(source, i + 1)
    if (q) {
      atomRepeats = q.repeats
      i += q.length
    }
    inner ||= atomRepeats
  }
  return false
}

/** What is wrong with a pattern (an unknown variable, bad syntax, a nested repeat), or null. */
export function patternProblem(pattern: string): string | null {
  try {
    const re = fillPattern(pattern, {
      hostname: 'h',
      domain: 'd',
      fqdn: 'h.d',
      'mgmt.ip': '10.0.0.1',
    })
    if (nestedRepeat(re.source)) {
      return `${pattern} repeats a group that holds a repeat itself (like (a+)+), which can take exponentially long to match a host's output; repeat only one of them (like (a)+ or a+)`
    }
    return null
  } catch (err) {
    return err instanceof SyntaxError
      ? `${pattern} is not a regular expression: ${err.message.replace(/^Invalid regular expression: /, '')}`
      : (err as Error).message
  }
}
