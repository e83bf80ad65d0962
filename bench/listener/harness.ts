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
  /** Seconds of steady load: from the moment every connection had its first answer. */
  seconds: number
  /** Answers that arrived in those seconds. */
  answers: number
  /** Response times (ms) of the requests sent in steady load. */
  latencies: number[]
  /** Every response time (ms), the ramp included: what the server's CPU time is divided by. */
  all: number[]
}

/** Longest a slice may take to get every connection its first answer. */
const RAMP_LIMIT_S = 30

/**
 * Loads a server with `connections` keep-alive connections for `duration`
 * seconds of steady load. Node's libuv accepts one connection per turn of
 * the event loop (libuv#3696), and each turn also serves every request
 * already waiting: while 200 connections open at once, the last is accepted
 * only after ~200 turns, up to seconds later on this 2-core machine (even a
 * server that does nothing took 240 ms), and the busier each turn, the
 * longer. Those first answers would time that ramp, about 1% of a slice,
 * right where a p99 falls. So, as wrk and other load generators measure with
 * their connections open first, the `duration` seconds start when every
 * connection has had an answer; latencies are those of the requests sent
 * from then on. `all` keeps every answer, the ramp's too.
 */
export async function load(s: Server, connections: number, duration: number): Promise<Load> {
  let next = 0
  const latencies: number[] = []
  const all: number[] = []
  const answered = new Set<unknown>()
  let steadyFrom: number | null = null
  let stopped = false
  let answers = 0
  let bad = 0
  const options: autocannon.Options = {
    url: `http://127.0.0.1:${s.port}/checkin`,
    connections,
    duration: duration + RAMP_LIMIT_S,
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
  await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: Error | null, r) => (err ? reject(err) : resolve(r)))
    instance.on('reqError', () => bad++)
    instance.on('response', (client, status, _bytes, responseTime) => {
      if (stopped) return
      if (status < 200 || status > 299) bad++
      const now = performance.now()
      all.push(responseTime)
      if (steadyFrom === null) {
        answered.add(client)
        if (answered.size < connections) return
        steadyFrom = now
        setTimeout(() => {
          stopped = true
          instance.stop()
        }, duration * 1000)
        return
      }
      answers++
      if (now - responseTime >= steadyFrom) latencies.push(responseTime)
    })
  })
  if (bad > 0) throw new Error(`${bad} failed requests`)
  if (steadyFrom === null) {
    throw new Error(
      `only ${answered.size} of ${connections} connections answered in ${RAMP_LIMIT_S} s`,
    )
  }
  return { seconds: duration, answers, latencies, all }
}

export function p99(latencies: number[]): number {
  const sorted = Float64Array.from(latencies).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0
}
