import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { profileVersion, type EsxiProfile } from './profile'

export interface Nic {
  name: string
  pci: string
  driver: string
  admin: 'Up' | 'Down'
  link: 'Up' | 'Down'
  speed: number
  duplex: 'Full' | 'Half'
  mac: string
  mtu: number
  description: string
}

export interface Vmknic {
  name: string
  portgroup: string
  mac: string
  mtu: number
  enabled: boolean
  ipv4: {
    address: string
    netmask: string
    broadcast: string
    type: 'STATIC' | 'DHCP' | 'NONE'
    gateway: string
  }
  tags: string[]
}

// Only routes added with `route ipv4 add`; the connected subnet of each vmknic is derived when
// listing, so changing an address cannot leave a stale connected route behind.
export interface Route {
  network: string
  netmask: string
  gateway: string
  interface: string
  source: 'MANUAL' | 'DHCP'
}

export interface VSwitch {
  name: string
  mtu: number
  numPorts: number
  uplinks: string[]
  portgroups: string[]
  // invented (teaming is not in esxi.md): the failover order once `policy failover set` has run.
  // Absent: every uplink active, in the order it was added.
  failover?: { active: string[]; standby: string[] }
}

export interface Portgroup {
  name: string
  vswitch: string
  vlanId: number
}

export interface Fault {
  match: string
  stdout?: string
  stderr?: string
  code?: number
  delayMs?: number
  /** The command runs as usual and only its answer is delayed (a slow host, not a broken one). */
  slowOnly?: boolean
  /**
   * invented: stdout and stderr are printed this many times over (a broken host, or something
   * else at its address, printing without end), e.g. a line repeated past a client's limit.
   */
  repeat?: number
}

/** What an invented DHCP server on the vmknic's network would hand out. */
export interface DhcpLease {
  address: string
  netmask: string
  gateway: string
}

/** One line the SSH server was asked to run, and the address the session had connected to. */
export interface ExecRecord {
  address: string
  line: string
}

// esxi.md leaves these behaviours unconfirmed (or does not describe them at all), so tests can
// exercise every answer the product must survive.
export interface Quirks {
  // Stream that esxcli/vim-cmd error messages go to.
  errorStream: 'stdout' | 'stderr'
  // esxi.md: what a duplicate DNS server, search domain or default route add does is unconfirmed.
  // 'error': it fails; 'ignore': nothing happens; 'append': a second copy is added without a word.
  // A removal of what is not there fails with 'error' and does nothing otherwise.
  duplicates: 'error' | 'ignore' | 'append'
  // Whether `esxcli system ntp set -s` replaces the server list or appends to it.
  ntpSetServers: 'replace' | 'append'
  // What a session to vmk0's old address sees when the address changes: the connection is reset
  // at once, or it hangs (packets to the old address go nowhere) until the client gives up.
  oldAddressSessions: 'reset' | 'hang'
  // invented: whether a closing SSH connection sends SIGHUP to everything its shells started
  // (background jobs included). 'HUP' is the harsher answer: a detached script must `trap '' HUP`.
  sessionCloseSignal: 'HUP' | 'none'
  // vmkping is not in esxi.md: the product must also work on a host without it.
  vmkping: 'present' | 'absent'
  // esxi.md: whether ESXi's BusyBox has nohup/setsid is unconfirmed.
  nohupSetsid: 'absent' | 'present'
  // What a real host offers beyond esxi.md's lists. 'absent' is a host written from esxi.md alone:
  // no `network firewall ruleset list`, `network ip interface list` or `vswitch standard policy
  // failover get|set`, no /etc/init.d/ESXShell; `vswitch standard list` blocks have no title
  // line; `settings advanced list -o` prints only its value line; `syslog config get` only its
  // Remote Host.
  unlisted: 'present' | 'absent'
  // esxi.md does not list sleep among the applets known to exist: host scripts must also wait
  // on a host without it.
  sleep: 'present' | 'absent'
  // esxi.md lists timeout but not how it takes its seconds: BusyBox before 1.30 wants
  // `timeout -t SECS PROG` (and runs SECS as the program otherwise), 1.30 on `timeout SECS PROG`.
  timeoutArgs: 'seconds' | 'dash-t'
  // Not in esxi.md: whether stopping the SSH service ends the sessions already open.
  sshStopSessions: 'keep' | 'reset'
  // esxi.md gives `route ipv4 list`'s columns but no rows: the default route's Network cell reads
  // `default` (as a real host prints it) or 0.0.0.0 with Netmask 0.0.0.0.
  defaultRouteNetwork: 'default' | 'zeros'
  // invented: how esxcli's plain output ends its lines. esxi.md shows bare lines; 'padded-crlf'
  // ends each with a blank and a CR, as output that passed through a terminal or was written
  // with Windows line ends would. Parsers and host scripts must read both alike.
  lineEnds: 'lf' | 'padded-crlf'
  // esxi.md: a login prints a banner and a warning that commands are logged, without saying
  // where. 'banner': the SSH banner before the password (as ESXi's sshd sends /etc/issue);
  // 'stdout' / 'stderr': the warning also opens that stream of every command a session runs.
  loginWarning: 'banner' | 'stdout' | 'stderr'
}

export interface SimState {
  // The release the host runs; sets `version` unless that is given too. Behaviour that differs
  // between releases is derived from `version` (see profile.ts), so a test can also hand-set one.
  profile: EsxiProfile
  hostname: string
  domain: string
  dns: { servers: string[]; search: string[] }
  ntp: { enabled: boolean; servers: string[] }
  firewall: { enabled: boolean; defaultAction: 'DROP' | 'PASS'; rulesets: Record<string, boolean> }
  nics: Nic[]
  platform: { uuid: string; productName: string; vendorName: string; serialNumber: string }
  // build is stored as esxcli prints it (`Releasebuild-22380479`); maintenance is printed only when
  // set, because 9.0 adds that field and 7.x/8.x do not have it.
  version: {
    product: string
    version: string
    build: string
    update: string
    patch: string
    maintenance?: string
  }
  vmknics: Vmknic[]
  routes: Route[]
  // invented: leases by vmknic name, taken by `ipv4 set -t dhcp`; no lease leaves 0.0.0.0.
  dhcpLeases: Record<string, DhcpLease>
  // invented: addresses that answer vmkping (gateways, peers). Nothing else answers.
  reachable: string[]
  // Bumped whenever vmk0's reachable address changes (see net.ts managementAddress), so an SSH
  // server drops its sessions even when a change is undone before it looks at the state.
  managementChanges: number
  // invented: the VLANs on which the management network reaches Midwife. null: any VLAN does.
  // Otherwise vmk0 answers SSH (and vmkping) only while its port group's VLAN is listed here.
  managementVlans: number[] | null
  vswitches: VSwitch[]
  portgroups: Portgroup[]
  // logDir '' means the default local log output (/scratch/log).
  syslog: { remoteHost: string; logDir: string }
  services: {
    ssh: { enabled: boolean; running: boolean }
    esxShell: { enabled: boolean; running: boolean }
  }
  maintenanceMode: boolean
  licenseKey: string
  advanced: Record<string, number | string>
  bootCmdLine: string
  // null: every DNS name resolves. An array: only these names resolve (IP literals always do).
  resolvableNames: string[] | null
  // Set by `esxcli system account set -i root`; the SSH simulator then expects it instead of the
  // password it was started with, so a product that changes the password must use the new one.
  rootPassword: string | null
  quirks: Quirks
  faults: Fault[]
  // Every esxcli/localcli/vim-cmd/vsish/vmware/esxcfg-route/vmkping/init-script command run, from
  // SSH sessions and shims alike, as `program arg arg`. isWriteCommand() tells writes from reads.
  log: string[]
  // Every command line an SSH session asked to run (shell syntax and all).
  execLog: ExecRecord[]
}

/** A state override: any field, and any subset of the quirks. */
export type SimOverrides = Partial<Omit<SimState, 'quirks'>> & { quirks?: Partial<Quirks> }

export const DEFAULT_QUIRKS: Quirks = {
  errorStream: 'stdout',
  duplicates: 'error',
  ntpSetServers: 'replace',
  oldAddressSessions: 'reset',
  sessionCloseSignal: 'HUP',
  vmkping: 'present',
  nohupSetsid: 'absent',
  unlisted: 'present',
  sleep: 'present',
  timeoutArgs: 'seconds',
  sshStopSessions: 'keep',
  defaultRouteNetwork: 'default',
  lineEnds: 'lf',
  loginWarning: 'banner',
}

/** The first 14 bytes of every simulated machine's SMBIOS UUID, as ESXi prints them. */
const UUID_HEAD = '0xff 0x0 0x33 0x42 0xdc 0xd6 0x71 0xba 0xa 0x6a 0xf9 0x1c 0x57 0x13'

/** A vmxnet3 NIC as ESXi lists it in a VM, with this name and MAC. */
export function vmxnet3(name: string, mac: string, pci = '0000:0b:00.0'): Nic {
  return {
    name,
    pci,
    driver: 'nvmxnet3',
    admin: 'Up',
    link: 'Up',
    speed: 10000,
    duplex: 'Full',
    mac,
    mtu: 1500,
    description: 'VMware Inc. vmxnet3 Virtual Ethernet Controller',
  }
}

/**
 * Another machine than the default one: one NIC with this MAC, and its own
 * serial and SMBIOS UUID (`uuidTail` is the UUID's last bytes as ESXi prints
 * them, e.g. '0x26 0x3').
 */
export function oneNicMachine(
  mac: string,
  uuidTail: string,
  serialNumber: string,
): Pick<SimState, 'nics' | 'platform'> {
  return {
    nics: [vmxnet3('vmnic0', mac)],
    platform: {
      uuid: `${UUID_HEAD} ${uuidTail}`,
      productName: 'VMware20,1',
      vendorName: 'VMware, Inc.',
      serialNumber,
    },
  }
}

export function defaultState(overrides: SimOverrides = {}): SimState {
  const profile = overrides.profile ?? '8.0.2'
  const base: SimState = {
    profile,
    hostname: 'localhost',
    domain: '',
    dns: { servers: [], search: [] },
    ntp: { enabled: false, servers: [] },
    firewall: {
      enabled: true,
      defaultAction: 'DROP',
      rulesets: {
        sshServer: true,
        sshClient: false,
        nfsClient: false,
        dhcp: true,
        dns: true,
        snmp: true,
        ntpClient: false,
        CIMHttpServer: true,
        CIMHttpsServer: true,
        CIMSLP: true,
        iSCSI: false,
        vpxHeartbeats: true,
        updateManager: true,
        faultTolerance: true,
        webAccess: true,
        vMotion: true,
        vSphereClient: true,
        activeDirectoryAll: false,
        NFC: true,
        HBR: true,
        ftpClient: false,
        httpClient: false,
        gdbserver: false,
        DVFilter: false,
        DHCPv6: false,
        DVSSync: true,
        syslog: false,
        WOL: true,
        vSPC: false,
        remoteSerialPort: false,
      },
    },
    nics: [
      vmxnet3('vmnic0', '00:50:56:aa:bb:01'),
      vmxnet3('vmnic1', '00:50:56:aa:bb:02', '0000:13:00.0'),
    ],
    platform: {
      uuid: `${UUID_HEAD} 0x25 0x99`,
      productName: 'VMware20,1',
      vendorName: 'VMware, Inc.',
      serialNumber: 'VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99',
    },
    version: profileVersion(profile),
    vmknics: [
      {
        name: 'vmk0',
        portgroup: 'Management Network',
        mac: '00:50:56:aa:bb:01',
        mtu: 1500,
        enabled: true,
        ipv4: {
          address: '127.0.0.1',
          netmask: '255.0.0.0',
          broadcast: '127.255.255.255',
          type: 'STATIC',
          gateway: '0.0.0.0',
        },
        tags: ['Management'],
      },
    ],
    routes: [],
    dhcpLeases: {},
    reachable: [],
    managementChanges: 0,
    managementVlans: null,
    vswitches: [
      {
        name: 'vSwitch0',
        mtu: 1500,
        numPorts: 2560,
        uplinks: ['vmnic0'],
        portgroups: ['VM Network', 'Management Network'],
      },
    ],
    portgroups: [
      { name: 'VM Network', vswitch: 'vSwitch0', vlanId: 0 },
      { name: 'Management Network', vswitch: 'vSwitch0', vlanId: 0 },
    ],
    syslog: { remoteHost: '', logDir: '' },
    services: {
      ssh: { enabled: false, running: false },
      esxShell: { enabled: false, running: false },
    },
    maintenanceMode: false,
    licenseKey: '00000-00000-00000-00000-00000',
    advanced: {
      '/UserVars/SuppressShellWarning': 0,
      '/UserVars/ESXiShellTimeOut': 0,
      '/UserVars/ESXiShellInteractiveTimeOut': 0,
      '/UserVars/HostClientCEIPOptIn': 0,
      '/Net/FollowHardwareMac': 0,
      '/Syslog/global/logHost': '',
      // invented default: a real string option of the host client, for string-typed tests.
      '/UserVars/HostClientWelcomeMessage': '',
      '/Syslog/global/logDir': '[] /scratch/log',
      '/Net/TcpipHeapMax': 1024,
    },
    // Not from esxi.md: an installed host boots its own boot.cfg, whose kernelopt is usually short.
    bootCmdLine: 'autoPartition=FALSE',
    resolvableNames: null,
    rootPassword: null,
    quirks: DEFAULT_QUIRKS,
    faults: [],
    log: [],
    execLog: [],
  }
  // A structured clone keeps callers from sharing nested arrays between states.
  return structuredClone({
    ...base,
    ...overrides,
    quirks: { ...DEFAULT_QUIRKS, ...overrides.quirks },
  })
}

export function loadState(path: string): SimState {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'))
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: not a simulator state object`)
  }
  // Fields added after a state file was written fall back to the defaults.
  return defaultState(parsed)
}

export function saveState(path: string, s: SimState): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n')
  renameSync(tmp, path)
}

const inProcessTails = new Map<string, Promise<unknown>>()

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function acquireFileLock(lockPath: string): Promise<void> {
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeFileSync(fd, String(process.pid))
      closeSync(fd)
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let holder = NaN
    try {
      holder = Number(readFileSync(lockPath, 'utf8'))
    } catch {
      // Released between our open and read: just retry.
    }
    if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
      try {
        unlinkSync(lockPath)
      } catch {
        // Another waiter removed the stale lock first.
      }
      continue
    }
    await sleep(3)
  }
}

/**
 * Runs fn while holding the host's lock. Shims run in their own processes and the SSH simulator in
 * the test process, so both an in-process queue and a lock file are needed for them to see one
 * host whose load-run-save steps never interleave.
 */
export function withStateLock<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  const previous = inProcessTails.get(path) ?? Promise.resolve()
  const run = previous.then(async () => {
    const lockPath = `${path}.lock`
    await acquireFileLock(lockPath)
    try {
      return await fn()
    } finally {
      try {
        unlinkSync(lockPath)
      } catch {
        // Nothing to release.
      }
    }
  })
  const tail = run.catch(() => undefined)
  inProcessTails.set(path, tail)
  void tail.then(() => {
    if (inProcessTails.get(path) === tail) inProcessTails.delete(path)
  })
  return run
}
