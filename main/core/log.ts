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

  apply(text: string): string {
    let out = text
    for (const s of this.secrets) out = out.split(s).join('********')
    return out
  }
}

/**
 * Masks anything shaped like a token in a listener path (/ks/<token>.cfg,
 * /c/<token>.sh, /install/<token>/installed): the token becomes ***.
 */
export function redactPath(path: string): string {
  return path.replace(/\/(ks|c|install)\/(discover\/)?[^/?#.]+/g, '/$1/$2***')
}

// C0 (with \n \r \t), DEL, C1 (with NEL), the Unicode line and paragraph
// separators, the bidi overrides, isolates and marks that can make a terminal
// or a page show text in another order than it was written, and the
// zero-width characters that make two different strings look the same.
const CONTROL =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/
const CONTROLS = new RegExp(CONTROL.source, 'g')
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

/**
 * Shows control characters as visible escapes (\n, \x1b, \u2028), so text a
 * host reported or a client requested can never start a line of its own in a
 * log. Idempotent: its output holds no control character.
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0)
    return NAMED[c] ?? (code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`)
  })
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

export function hasControl(text: string): boolean {
  return CONTROL.test(text)
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
