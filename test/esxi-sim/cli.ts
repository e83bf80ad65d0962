// Entry point of the command shims, bundled to sim-cli.mjs by buildSimCli:
//   node sim-cli.mjs <statePath> <program> [args...]
//   node sim-cli.mjs <statePath> firewall-wget [wget args...]
//   node sim-cli.mjs <statePath> record-exec <command line>   (OpenSSH's ForceCommand)
import { spawn } from 'node:child_process'
import { lookup } from 'node:dns/promises'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { firewallDropsOutbound } from './firewall'
import { recordExec, runInStateFile } from './interpreter'
import { loadState } from './state'

const URL_ARG = /^(https?|ftp):\/\//i

async function firewallWget(statePath: string, args: string[]): Promise<number> {
  const target = args.find((a) => URL_ARG.test(a))
  if (target !== undefined) {
    const url = new URL(target)
    const defaults: Record<string, number> = { 'http:': 80, 'https:': 443, 'ftp:': 21 }
    const port = url.port === '' ? (defaults[url.protocol] ?? 80) : Number(url.port)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    let ip: string | undefined = isIP(host) ? host : undefined
    if (ip === undefined) {
      try {
        ip = (await lookup(host)).address
      } catch {
        // Unresolvable: busybox wget reports that itself.
      }
    }
    if (ip !== undefined && firewallDropsOutbound(loadState(statePath).firewall, port)) {
      // A dropped SYN just times out; ~1 s keeps tests fast while still being a timeout.
      await new Promise((resolve) => setTimeout(resolve, 1000))
      process.stderr.write(`wget: can't connect to remote host (${ip}): Connection timed out\n`)
      return 1
    }
  }
  const child = spawn('/bin/busybox', ['wget', ...args], { stdio: 'inherit' })
  return new Promise((resolve) => {
    child.on('error', () => resolve(127))
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}

/**
 * A program started with SIGHUP ignored (a script's `trap '' HUP`) keeps it ignored, as ESXi's
 * own tools do. Node resets inherited dispositions at startup, so take the ignore back from the
 * parent that forked this shim with it (SigIgn bit 0 is SIGHUP).
 */
function keepIgnoredHangup(): void {
  try {
    const status = readFileSync(`/proc/${process.ppid}/status`, 'utf8')
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1]
    if (mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n)
      process.on('SIGHUP', () => undefined)
  } catch {
    // No /proc: leave the default.
  }
}

async function main(argv: string[]): Promise<number> {
  const [statePath, program, ...args] = argv
  if (statePath === undefined || program === undefined) {
    process.stderr.write('usage: sim-cli <statePath> <program> [args...]\n')
    return 2
  }
  if (program === 'firewall-wget') return firewallWget(statePath, args)
  if (program === 'record-exec') {
    // SSH_CONNECTION is "client-ip client-port server-ip server-port".
    const address = (process.env.SSH_CONNECTION ?? '').split(' ')[2] ?? ''
    await recordExec(statePath, { address, line: args.join(' ') })
    return 0
  }
  const result = await runInStateFile(statePath, [program, ...args])
  await new Promise<void>((resolve) => process.stdout.write(result.stdout, () => resolve()))
  await new Promise<void>((resolve) => process.stderr.write(result.stderr, () => resolve()))
  return result.code
}

keepIgnoredHangup()
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`sim-cli: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  },
)
