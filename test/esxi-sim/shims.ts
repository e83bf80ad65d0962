import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { loadState } from './state'

/** Bundles cli.ts so shims start with plain node, without a TypeScript loader. */
export async function buildSimCli(outDir: string): Promise<string> {
  const outfile = join(resolve(outDir), 'sim-cli.mjs')
  await build({
    entryPoints: [fileURLToPath(new URL('./cli.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  })
  return outfile
}

export const ESXI_APPLETS: readonly string[] = [
  // esxi.md: "Applets known to exist".
  'ash',
  'awk',
  'sed',
  'grep',
  'cut',
  'sort',
  'uniq',
  'wget',
  'nslookup',
  'timeout',
  'mktemp',
  'sha256sum',
  'xargs',
  // ESXi's /bin/sh is BusyBox ash under the name sh.
  'sh',
]

// The simulator's programs that sit on ESXi's PATH (/bin, /sbin). vmkping is added or removed
// by its quirk; the init scripts live outside PATH and exist only for simple command lines.
const SHIM_PROGRAMS = ['esxcli', 'localcli', 'vim-cmd', 'vsish', 'vmware', 'esxcfg-route']
// sleep is not in esxi.md's list, though ESXi's BusyBox has it and public kickstarts use it.
const QUIRK_TOOLS = ['vmkping', 'nohup', 'setsid', 'sleep']

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

function writeShim(path: string, simCli: string, statePath: string, program: string): void {
  // Absolute paths throughout: the PATH a product's script sees holds only binDir.
  const target = [process.execPath, simCli, statePath].map((p) => shQuote(resolve(p))).join(' ')
  writeFileSync(path, `#!/bin/sh\nexec ${target} ${program} "$@"\n`)
  chmodSync(path, 0o755)
}

/**
 * A bin directory that holds what an ESXi shell offers and nothing else, so a host-side script
 * that reaches for curl, bash, cat or tr fails here as it would on the host.
 */
export function installEsxiBin(
  binDir: string,
  opts: { statePath: string; simCli: string; enforceFirewall?: boolean },
): void {
  mkdirSync(binDir, { recursive: true })
  const ours = new Set([...ESXI_APPLETS, ...SHIM_PROGRAMS, ...QUIRK_TOOLS])
  const foreign = readdirSync(binDir).filter((f) => !ours.has(f))
  if (foreign.length > 0) {
    throw new Error(`${binDir} holds files the ESXi bin may not have: ${foreign.join(', ')}`)
  }
  for (const name of ours) rmSync(join(binDir, name), { force: true })
  for (const applet of ESXI_APPLETS) {
    if (applet === 'wget' && opts.enforceFirewall) {
      writeShim(join(binDir, 'wget'), opts.simCli, opts.statePath, 'firewall-wget')
    } else {
      symlinkSync('/bin/busybox', join(binDir, applet))
    }
  }
  for (const program of SHIM_PROGRAMS) {
    writeShim(join(binDir, program), opts.simCli, opts.statePath, program)
  }
  syncQuirkTools(binDir, opts)
}

// BusyBox 1.29's timeout: `-t SECS` (default 10) and `-s SIG` before the program; without -t its
// first word is the program, which does not exist when it is a number.
const OLD_TIMEOUT = `#!/bin/busybox sh
secs=10
while :; do
  case "$1" in
    -t) secs=$2; shift 2 ;;
    -s) shift 2 ;;
    *) break ;;
  esac
done
if ! command -v "$1" >/dev/null 2>&1; then
  echo "timeout: can't execute '$1': No such file or directory" >&2
  exit 127
fi
exec /bin/busybox timeout "$secs" "$@"
`

/**
 * Adds or removes the tools whose presence a quirk decides (vmkping; nohup and setsid; sleep),
 * and sets how timeout takes its seconds, from the quirks in the state file. Call it again after
 * changing those quirks.
 */
export function syncQuirkTools(binDir: string, opts: { statePath: string; simCli: string }): void {
  const { quirks } = loadState(opts.statePath)
  const timeout = join(binDir, 'timeout')
  rmSync(timeout, { force: true })
  if ((quirks.timeoutArgs ?? 'seconds') === 'dash-t') {
    writeFileSync(timeout, OLD_TIMEOUT)
    chmodSync(timeout, 0o755)
  } else {
    symlinkSync('/bin/busybox', timeout)
  }
  const want = {
    vmkping: quirks.vmkping === 'present',
    nohup: quirks.nohupSetsid === 'present',
    setsid: quirks.nohupSetsid === 'present',
    sleep: quirks.sleep === 'present',
  }
  for (const [name, present] of Object.entries(want)) {
    const path = join(binDir, name)
    const there = existsSync(path)
    if (there === present) continue
    if (!present) rmSync(path, { force: true })
    else if (name === 'vmkping') writeShim(path, opts.simCli, opts.statePath, 'vmkping')
    else if (name === 'setsid' || name === 'sleep') symlinkSync('/bin/busybox', path)
    else {
      // Debian's BusyBox has no nohup applet; this is what nohup does when nothing is a terminal.
      writeFileSync(path, `#!/bin/busybox sh\ntrap '' HUP\nexec "$@"\n`)
      chmodSync(path, 0o755)
    }
  }
}

export interface HostKey {
  privatePath: string
  publicLine: string
}

/**
 * Host keys as ESXi generates them at first boot (RSA 2048 and ECDSA nistp256, OpenSSH format,
 * `.pub` beside them). Existing keys are kept, as a host keeps its keys across restarts.
 */
export function generateHostKeys(dir: string): { rsa: HostKey; ecdsa: HostKey } {
  mkdirSync(dir, { recursive: true })
  const make = (type: 'rsa' | 'ecdsa', bits: string): HostKey => {
    const privatePath = join(resolve(dir), `ssh_host_${type}_key`)
    if (!existsSync(privatePath) || !existsSync(`${privatePath}.pub`)) {
      rmSync(privatePath, { force: true })
      rmSync(`${privatePath}.pub`, { force: true })
      execFileSync('ssh-keygen', ['-q', '-t', type, '-b', bits, '-N', '', '-f', privatePath], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    }
    return { privatePath, publicLine: readFileSync(`${privatePath}.pub`, 'utf8').trim() }
  }
  return { rsa: make('rsa', '2048'), ecdsa: make('ecdsa', '256') }
}
