// What bench/listener's scripts share: starting a server in its own process
// (it prints {"port", "tokens", "pid"} once ready), loading it with
// autocannon, and reading its CPU time from /proc.
import autocannon from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { templates } from './bodies'

export interface Server {
  child: ChildProcess
  port: number
  /** The server's own process (run-ts.mjs runs it as its child). */
  pid: number
  bodies: string[]
}

/** CPU seconds a process has used (user + system), from /proc; null where there is none. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return null
  }
}

/** Starts bench/listener/<name>-server.ts; `env` is added to its environment. */
export function start(
  name: 'midwife' | 'baseline',
  env: Record<string, string> = {},
): Promise<Server> {
  const child = spawn(
    process.execPath,
    [join('scripts', 'run-ts.mjs'), join('bench', 'listener', `${name}-server.ts`)],
    // Midwife's log goes where a service's stderr would: not to this terminal.
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } },
  )
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (!line) return
      const { port, tokens, pid } = JSON.parse(line) as {
        port: number
        tokens: string[]
        pid: number
      }
      resolve({ child, port, pid, bodies: templates(tokens) })
    })
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)))
  })
}

let nonce = 0
export interface Load {
  seconds: number
  /** Every response time, in ms. */
  latencies: number[]
}

export async function load(s: Server, connections: number, duration: number): Promise<Load> {
  let next = 0
  const latencies: number[] = []
  const options: autocannon.Options = {
    url: `http://127.0.0.1:${s.port}/checkin`,
    connections,
    duration,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest(req) {
          const body = (s.bodies[next++ % s.bodies.length] as string).replace(
            'NONCE',
            String(nonce++),
          )
          return { ...req, body }
        },
      },
    ],
  }
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: Error | null, r) => (err ? reject(err) : resolve(r)))
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime)
    })
  })
  const bad = result.non2xx + result.errors + result.timeouts
  if (bad > 0) throw new Error(`${bad} failed requests (non-2xx ${result.non2xx})`)
  return { seconds: result.duration, latencies }
}

export function p99(latencies: number[]): number {
  const sorted = Float64Array.from(latencies).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0
}
