// Before the tests: the system tools they drive for real. On a fresh Debian
// machine as root this installs them (so `npm ci && npm test` is the whole
// story); anywhere else it names what is missing and how to get it.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'

const needs = [
  { path: '/usr/bin/chromium', pkg: 'chromium', why: 'end-to-end tests drive the UI in Chromium' },
  { path: '/bin/busybox', pkg: 'busybox', why: 'the check-in client runs under BusyBox ash' },
  {
    path: '/usr/sbin/sshd',
    pkg: 'openssh-server',
    why: 'configuration is tested against a real OpenSSH server',
  },
  {
    path: '/usr/bin/ssh-keygen',
    pkg: 'openssh-client',
    why: 'SSH host keys for the simulated ESXi host',
  },
]

const missing = needs.filter((n) => !existsSync(n.path))
if (missing.length > 0) {
  const pkgs = [...new Set(missing.map((m) => m.pkg))]
  const isRoot = process.getuid?.() === 0
  const hasApt = spawnSync('apt-get', ['--version']).status === 0
  if (!isRoot || !hasApt) {
    console.error('Missing system packages for the tests:')
    for (const m of missing) console.error(`  ${m.pkg}: ${m.why}`)
    console.error(`Install them with: sudo apt-get install -y ${pkgs.join(' ')}`)
    process.exit(1)
  }
  console.log(`Installing ${pkgs.join(', ')} for the tests...`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env,
  })
}
// sshd's privilege separation directory; tmpfs on most systems, so it may be gone.
if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
