import { maskSecret, shellQuote } from '../catalogue/shell'
import { escapeControl } from '../contract/text'

export { escapeControl, hasControl } from '../contract/text'

/** Where the core reports what it does. Secrets are masked before anything is written. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export class Redactor {
  private readonly secrets = new Set<string>()

  add(secret: string | null | undefined): void {
    if (secret && secret.length >= 4) this.secrets.add(secret)
  }

  /** A secret as typed and as Midwife quotes it on a command line. */
  addQuoted(secret: string): void {
    this.add(secret)
    this.add(shellQuote(secret))
  }

  apply(text: string): string {
    let out = text
    for (const s of this.secrets) out = maskSecret(out, s)
    return out
  }
}

/**
 * `value` with every string in it (in arrays and plain objects too) passed through `mask`: a
 * setting's read value masked before its show() cuts a long text short, which would leave the
 * piece of a secret before the cut for no mask to recognise.
 */
export function maskDeep<T>(value: T, mask: (text: string) => string): T {
  const walk = (v: unknown): unknown =>
    typeof v === 'string'
      ? mask(v)
      : Array.isArray(v)
        ? v.map(walk)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v
  return walk(value) as T
}

/**
 * Masks anything shaped like a token in a listener path (/ks/<token>.cfg,
 * /c/<token>.sh, /install/<token>/installed): the token becomes ***.
 */
export function redactPath(path: string): string {
  return path.replace(/\/(ks|c|install)\/(discover\/)?[^/?#.]+/g, '/$1/$2***')
}

/**
 * Why JSON.parse refused a body, without the piece of the body V8 quotes in
 * some of its messages (`Unexpected token 's', "secret-tok"... is not valid
 * JSON`): a body may hold a token or a password, and this reason is logged.
 */
export function jsonProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.includes('"') ? 'unexpected character: the body is not valid JSON' : message
}

/** Loggers with lines not yet written; all are written when the process exits. */
const unwritten = new Set<() => void>()
let exitHooked = false

/**
 * One line per message on stderr, whatever the message holds. Info lines
 * written in one turn of the event loop go out in one write at the end of it
 * (a rack checking in logs a line per server, and a write per line cost more
 * than storing the check-in); a warning or an error goes out at once, after
 * the lines before it. What is pending is written when the process exits; a
 * kill -9 can lose one turn's info lines, never a warning or an error.
 */
export function consoleLogger(
  prefix = 'midwife',
  write: (text: string) => void = (text) => void process.stderr.write(text),
): Logger {
  let pending: string[] = []
  const flush = () => {
    unwritten.delete(flush)
    if (pending.length === 0) return
    const text = pending.join('')
    pending = []
    write(text)
  }
  if (!exitHooked) {
    exitHooked = true
    process.on('exit', () => {
      for (const f of [...unwritten]) f()
    })
  }
  const format = (level: string, m: string) =>
    `${new Date().toISOString()} ${prefix} ${level} ${escapeControl(m)}\n`
  const later = (level: string, m: string) => {
    if (pending.length === 0) {
      unwritten.add(flush)
      setImmediate(flush)
    }
    pending.push(format(level, m))
  }
  const now = (level: string, m: string) => {
    pending.push(format(level, m))
    flush()
  }
  return {
    info: (m) => later('info', m),
    warn: (m) => now('warn', m),
    error: (m) => now('error', m),
  }
}
