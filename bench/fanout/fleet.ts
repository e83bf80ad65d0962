// Starts bench/fanout/sim-fleet.ts in its own process and posts check-ins the
// way checkin.sh does, for the benchmarks that need simulated hosts.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { FleetHost } from './sim-fleet'

export type { FleetHost }

export interface Fleet {
  hosts: FleetHost[]
  /** Closes the servers and removes the fleet's files. */
  stop(): void
}

/** `count` simulated hosts, every command held `delayMs`, root password `password`. */
export function startFleet(count: number, delayMs: number, password: string): Promise<Fleet> {
  const child = spawn(
    process.execPath,
    [
      join('scripts', 'run-ts.mjs'),
      join('bench', 'fanout', 'sim-fleet.ts'),
      String(count),
      String(delayMs),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, MIDWIFE_BENCH_SIM_PASSWORD: password },
    },
  )
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const end = out.indexOf('\n')
      if (end < 0) return
      const { hosts } = JSON.parse(out.slice(0, end)) as { hosts: FleetHost[] }
      // Closing stdin tells the fleet to shut its servers and remove its files.
      resolve({ hosts, stop: () => child.stdin.end() })
    })
    child.once('exit', (code) => reject(new Error(`the simulator fleet exited with ${code}`)))
  })
}

/**
 * Posts a host's check-in to the listener; returns how long the answer took
 * in ms. A nonce makes the body new, so it is stored rather than counted as a
 * repeat.
 */
export async function postCheckin(
  listenerUrl: string,
  token: string,
  h: FleetHost,
  nonce?: number,
): Promise<number> {
  const outputs = { ...h.checkin.outputs }
  if (nonce !== undefined) outputs.hostname = `${outputs.hostname}\n   Uptime: ${nonce}`
  const t0 = process.hrtime.bigint()
  const res = await fetch(`${listenerUrl}/checkin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, ...h.checkin, outputs }),
  })
  await res.arrayBuffer()
  if (res.status !== 201) throw new Error(`check-in answered ${res.status}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

/** A host's deployment token, from its kickstart URL as the operator sees it. */
export function tokenOf(kickstartUrl: string): string {
  const token = /\/ks\/([^/]+)\.cfg$/.exec(kickstartUrl)?.[1]
  if (!token) throw new Error('no token in the kickstart URL')
  return token
}
