/** Where the core reports what it does. Secrets are masked before anything is written. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

/**
 * Makes a reported or requested string safe to put in a log line: control
 * characters become visible escapes, so nobody can start a forged line.
 */
export function escapeForLog(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0)
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`
  })
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

/** Masks anything shaped like a token in a listener path: /ks/<token>.cfg -> /ks/***.cfg */
export function redactPath(path: string): string {
  return path.replace(/\/(ks|c)\/(discover\/)?[^/?#.]+/g, '/$1/$2***')
}

export function consoleLogger(prefix = 'midwife'): Logger {
  const line = (level: string, m: string) =>
    process.stderr.write(`${new Date().toISOString()} ${prefix} ${level} ${m}\n`)
  return {
    info: (m) => line('info', m),
    warn: (m) => line('warn', m),
    error: (m) => line('error', m),
  }
}
