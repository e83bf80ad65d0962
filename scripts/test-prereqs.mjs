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
  // The DHCP configuration Midwife generates is checked by each server's own
  // syntax check; the daemons themselves are never started by the tests.
  { path: '/usr/sbin/dnsmasq', pkg: 'dnsmasq-base', why: 'dnsmasq --test checks generated config' },
  { path: '/usr/sbin/dhcpd', pkg: 'isc-dhcp-server', why: 'dhcpd -t checks generated config' },
  {
    path: '/usr/sbin/kea-dhcp4',
    pkg: 'kea-dhcp4-server',
    why: 'kea-dhcp4 -t checks generated config',
  },
]

// Installing a DHCP server package may enable its service; a test machine
// must not answer DHCP on a real network, so those services are disabled.
const dhcpServices = new Set(['isc-dhcp-server', 'kea-dhcp4-server'])

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
  const services = pkgs.filter((p) => dhcpServices.has(p))
  if (services.length > 0 && spawnSync('systemctl', ['--version']).status === 0) {
    spawnSync('systemctl', ['disable', '--now', ...services], { stdio: 'inherit' })
  }
}
// sshd's privilege separation directory; tmpfs on most systems, so it may be gone.
if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
