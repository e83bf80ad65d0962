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

/** Masks anything shaped like a token in a listener path: /ks/<token>.cfg -> /ks/***.cfg */
export function redactPath(path: string): string {
  return path.replace(/\/(ks|c)\/[^/?#.]+/g, '/$1/***')
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
