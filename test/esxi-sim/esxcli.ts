import type { Output } from './format'
import {
  broadcastOf,
  dropUnusableRoutes,
  isIPv4,
  isIPv6,
  isNetmask,
  networkOf,
  prefixToMask,
  routeTable,
  vmknicFor,
} from './net'
import type { SimState, Vmknic, VSwitch } from './state'

// Error texts below that are not in esxi.md are marked `invented`: they are plausible, but tests
// and product code must not rely on their wording, only on the non-zero exit code.

// `flag` options take no value (`--all`); the others always take one, booleans included.
type OptType = 'str' | 'long' | 'bool' | 'flag'

export interface OptDef {
  long: string
  short?: string
  type: OptType
  required?: boolean
  repeat?: boolean
  help: string
}

export interface CmdDef {
  path: string
  help: string
  opts: OptDef[]
  run: (o: Opts, s: SimState) => Output
}

export class EsxcliError extends Error {
  constructor(
    message: string,
    readonly withUsage = false,
  ) {
    super(message)
  }
}

type OptValue = string | number | boolean

export class Opts {
  constructor(private readonly values: Map<string, OptValue[]>) {}
  has(long: string): boolean {
    return this.values.has(long)
  }
  all(long: string): OptValue[] {
    return this.values.get(long) ?? []
  }
  str(long: string): string | undefined {
    const v = this.values.get(long)?.at(-1)
    return v === undefined ? undefined : String(v)
  }
  int(long: string): number | undefined {
    const v = this.values.get(long)?.at(-1)
    return typeof v === 'number' ? v : undefined
  }
  bool(long: string): boolean | undefined {
    const v = this.values.get(long)?.at(-1)
    return typeof v === 'boolean' ? v : undefined
  }
  req(long: string): string {
    const v = this.str(long)
    if (v === undefined) throw new EsxcliError(`Missing required parameter --${long}`, true)
    return v
  }
}

const none: Output = { kind: 'none' }

function fail(message: string): never {
  throw new EsxcliError(message)
}

function parseBool(raw: string): boolean | undefined {
  const v = raw.toLowerCase()
  if (['true', '1', 'yes'].includes(v)) return true
  if (['false', '0', 'no'].includes(v)) return false
  return undefined
}

const TYPE_WORD: Record<OptType, string> = {
  str: 'string',
  long: 'integer',
  bool: 'boolean',
  flag: 'boolean',
}

function convert(opt: OptDef, raw: string): OptValue {
  if (opt.type === 'str') return raw
  const v =
    opt.type === 'long' ? (/^[+-]?\d+$/.test(raw) ? Number(raw) : undefined) : parseBool(raw)
  if (v === undefined) {
    // esxi.md gives the integer text; the boolean variant follows the same pattern (invented).
    throw new EsxcliError(
      `While processing '--${opt.long}'. Argument type mismatch. Expecting ${TYPE_WORD[opt.type]} value. Got '${raw}'`,
      true,
    )
  }
  return v
}

export function parseOpts(cmd: CmdDef, args: string[]): Opts {
  const values = new Map<string, OptValue[]>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    let opt: OptDef | undefined
    let raw: string | undefined
    const long = /^--([^=]+)(?:=(.*))?$/s.exec(arg)
    const short = /^-([A-Za-z])(?:=(.*))?$/s.exec(arg)
    if (long) {
      opt = cmd.opts.find((o) => o.long === long[1])
      raw = long[2]
    } else if (short) {
      opt = cmd.opts.find((o) => o.short === short[1])
      raw = short[2]
    }
    if (!opt) throw new EsxcliError(`Invalid option ${arg.replace(/=.*$/s, '')}`, true)
    if (raw === undefined && opt.type === 'flag') {
      raw = 'true'
    } else if (raw === undefined) {
      const next = args[i + 1]
      if (next === undefined)
        throw new EsxcliError(`Missing argument for option --${opt.long}`, true) // invented
      raw = next
      i++
    }
    const list = values.get(opt.long) ?? []
    list.push(convert(opt, raw))
    values.set(opt.long, opt.repeat ? list : list.slice(-1))
  }
  for (const o of cmd.opts) {
    if (o.required && !values.has(o.long)) {
      const flag = o.short ? `-${o.short}|--${o.long}` : `--${o.long}`
      throw new EsxcliError(`Missing required parameter ${flag}`, true) // invented
    }
  }
  return new Opts(values)
}

export function usage(program: string, cmd: CmdDef): string {
  const words = cmd.path.split(' ')
  const name = words.at(-1) ?? ''
  const optLines = cmd.opts.map((o) => {
    const value = o.type === 'flag' ? '' : `=<${o.type}>`
    const flag = `  ${o.short ? `-${o.short}|` : ''}--${o.long}${value}`
    const help = o.help + (o.required ? ' (required)' : '')
    return flag.length < 24 ? `${flag.padEnd(24)}${help}\n` : `${flag}\n${' '.repeat(24)}${help}\n`
  })
  return (
    `Usage: ${program} ${cmd.path} [cmd options]\n\n` +
    `Description: \n  ${name.padEnd(22)}${cmd.help}\n\n` +
    (optLines.length ? `Cmd options:\n${optLines.join('')}` : '')
  )
}

// --- small helpers -------------------------------------------------------------------------

function ensureIp(value: string, what: string): string {
  if (!isIPv4(value) && !isIPv6(value)) fail(`Invalid ${what} address: ${value}`) // invented
  return value
}

function ensureIPv4(value: string, what: string): string {
  if (!isIPv4(value)) fail(`Invalid ${what}: ${value}`) // invented
  return value
}

function checkMtu(mtu: number): number {
  if (mtu < 1280 || mtu > 9000) fail(`Invalid MTU ${mtu}. The valid range is 1280-9000.`) // invented
  return mtu
}

function vmknic(s: SimState, name: string): Vmknic {
  return s.vmknics.find((v) => v.name === name) ?? fail(`Unable to find vmknic ${name}`) // invented
}

function vswitch(s: SimState, name: string) {
  return s.vswitches.find((v) => v.name === name) ?? fail(`Unable to find vswitch ${name}`) // invented
}

function failoverOf(v: VSwitch): { active: string[]; standby: string[] } {
  return v.failover ?? { active: [...v.uplinks], standby: [] }
}

/**
 * An add of what is there, or a removal of what is not (quirk duplicates): fails with the
 * message, does nothing, or (an add given `again`) silently adds a second copy.
 */
function duplicate(s: SimState, message: string, again?: () => void): Output {
  if (s.quirks.duplicates === 'error') fail(message)
  if (s.quirks.duplicates === 'append') again?.()
  return none
}

const TAGS = [
  'Management',
  'VMotion',
  'faultToleranceLogging',
  'vSphereReplication',
  'vSphereReplicationNFC',
  'vSphereProvisioning',
  'vSAN',
  'vSANWitness',
  'vSphereBackupNFC',
  'PTP',
  'nvmeTCP',
  'nvmeRDMA',
]

const DEFAULT_LOGDIR = '[] /scratch/log'

interface AdvancedDef {
  type: 'integer' | 'string'
  def: number | string
  min?: number
  max?: number
  description: string
}

const ADVANCED: Record<string, AdvancedDef> = {
  '/UserVars/SuppressShellWarning': {
    type: 'integer',
    def: 0,
    min: 0,
    max: 1,
    description: "Don't show warning for enabled local and remote shell access",
  },
  '/UserVars/ESXiShellTimeOut': {
    type: 'integer',
    def: 0,
    min: 0,
    max: 86400,
    description:
      'Time before automatically disabling local and remote shell access (in seconds, 0 disables).',
  },
  '/UserVars/ESXiShellInteractiveTimeOut': {
    type: 'integer',
    def: 0,
    min: 0,
    max: 86400,
    description:
      'Idle time before an interactive shell is automatically logged out (in seconds, 0 disables).',
  },
  '/UserVars/HostClientCEIPOptIn': {
    type: 'integer',
    def: 0,
    min: 0,
    max: 2,
    description: 'Whether or not to opt-in for CEIP. 0 for undecided, 1 for yes, and 2 for no.',
  },
  '/Net/FollowHardwareMac': {
    type: 'integer',
    def: 0,
    min: 0,
    max: 1,
    description:
      'If set to 1, the management interface MAC address will update if the uplink is changed',
  },
  '/Syslog/global/logHost': {
    type: 'string',
    def: '',
    description: 'The remote host to output logs to.',
  },
  '/Syslog/global/logDir': {
    type: 'string',
    def: DEFAULT_LOGDIR,
    description: 'Datastore path of directory to output logs to.',
  },
  // invented: the range; the default is what 7.0 and later ship.
  '/Net/TcpipHeapMax': {
    type: 'integer',
    def: 1024,
    min: 32,
    max: 1576,
    description: 'Max megabytes the tcpip module heap can grow to. (REQUIRES REBOOT!)',
  },
}

function advancedDef(s: SimState, path: string): AdvancedDef {
  const known = ADVANCED[path]
  if (known) return known
  const current = s.advanced[path]
  if (current === undefined) fail(`Unable to find option ${path.split('/').at(-1) ?? path}`) // invented
  return {
    type: typeof current === 'number' ? 'integer' : 'string',
    def: current,
    description: '',
  }
}

function advancedBlock(s: SimState, path: string) {
  const def = advancedDef(s, path)
  const value = s.advanced[path] ?? def.def
  const isInt = def.type === 'integer'
  if (s.quirks.unlisted === 'absent') {
    // esxi.md gives only `   Int Value: 1`; a string option's line is written the same way.
    return {
      fields: [
        isInt
          ? { label: 'Int Value', value: Number(value) }
          : { label: 'String Value', value: String(value) },
      ],
    }
  }
  return {
    fields: [
      { label: 'Path', value: path },
      { label: 'Type', value: def.type },
      { label: 'Int Value', value: isInt ? Number(value) : 0 },
      { label: 'Default Int Value', value: isInt ? Number(def.def) : 0 },
      { label: 'Min Value', value: def.min ?? 0 },
      { label: 'Max Value', value: def.max ?? 0 },
      { label: 'String Value', value: isInt ? '' : String(value) },
      { label: 'Default String Value', value: isInt ? '' : String(def.def) },
      { label: 'Valid Characters', value: isInt ? '' : '*' },
      { label: 'Description', value: def.description },
    ],
  }
}

function routeOpts(verb: string): OptDef[] {
  return [
    {
      long: 'gateway',
      short: 'g',
      type: 'str',
      required: true,
      help: `The IPv4 address of the gateway through which a route to be ${verb}.`,
    },
    {
      long: 'network',
      short: 'n',
      type: 'str',
      required: true,
      help: `The IPv4 address and prefix length of the network to ${verb === 'added' ? 'add the route to' : 'remove'}. Specify default to indicate the default network.`,
    },
  ]
}

function routeNetwork(raw: string): { network: string; netmask: string } {
  if (raw === 'default') return { network: 'default', netmask: '0.0.0.0' }
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(raw)
  if (!m || !isIPv4(m[1] ?? '') || Number(m[2]) > 32) fail(`Invalid network: ${raw}`) // invented
  const netmask = prefixToMask(Number(m[2]))
  return { network: networkOf(m[1] ?? '', netmask), netmask }
}

/**
 * esxi.md: the gateway must be inside a vmknic's subnet, or ESXi says "Unable to set VMkernel
 * gateway" (the rest of the message is invented).
 */
export function usableGateway(s: SimState, gateway: string): Vmknic {
  return (
    vmknicFor(s, gateway) ??
    fail(
      `Unable to set VMkernel gateway to ${gateway}: it is not in the subnet of any VMkernel interface`,
    )
  )
}

/** Replaces the manual default route (what `esxcfg-route G` does). */
export function setDefaultGateway(s: SimState, gateway: string): void {
  const via = usableGateway(s, gateway)
  s.routes = [
    { network: 'default', netmask: '0.0.0.0', gateway, interface: via.name, source: 'MANUAL' },
    ...s.routes.filter((r) => r.network !== 'default'),
  ]
}

// The syslog settings live in two places on ESXi (syslog config and the Syslog.global advanced
// options); both write through these so they always agree.
// invented: the validation rules and their messages.
function setLoghost(s: SimState, loghost: string): void {
  const entries = loghost === '' ? [] : loghost.split(',')
  for (const e of entries) {
    if (!/^((udp|tcp|ssl):\/\/)?[A-Za-z0-9.:[\]-]+$/.test(e.trim())) fail(`Invalid loghost: ${e}`)
  }
  s.syslog.remoteHost = loghost
  s.advanced['/Syslog/global/logHost'] = loghost
}

function setLogdir(s: SimState, logdir: string): void {
  const configured = logdir === DEFAULT_LOGDIR ? '' : logdir
  if (configured !== '' && !/^(\/|\[[^\]]*\] )/.test(configured)) {
    fail(`Invalid logdir: ${logdir}. Use an absolute path or a [datastore] path.`)
  }
  s.syslog.logDir = configured
  s.advanced['/Syslog/global/logDir'] = configured === '' ? DEFAULT_LOGDIR : configured
}

/**
 * esxi.md's root password rules (the 7.0/8.0 default Security.PasswordQualityControl): 7-39
 * characters, at least 3 of the 4 character classes, where a leading capital and a trailing digit
 * do not count, and no part of the user name. Dictionary words are not simulated. 9.0's defaults
 * are unconfirmed; the same rules apply to every profile. Returns the first rule broken, or null.
 */
export function passwordProblem(password: string, user = 'root'): string | null {
  if (password.length < 7) return 'it must have at least 7 characters'
  if (password.length > 39) return 'it must have at most 39 characters'
  const chars = [...password]
  const classes = [
    chars.some((ch) => /[a-z]/.test(ch)),
    chars.some((ch, i) => /[A-Z]/.test(ch) && i > 0),
    chars.some((ch, i) => /[0-9]/.test(ch) && i < chars.length - 1),
    chars.some((ch) => !/[A-Za-z0-9]/.test(ch)),
  ].filter(Boolean).length
  if (classes < 3) {
    return (
      'it must mix at least 3 of lower case, upper case, digits and other characters ' +
      '(a leading capital and a trailing digit do not count)'
    )
  }
  if (password.toLowerCase().includes(user.toLowerCase()))
    return 'it must not contain the user name'
  return null
}

function activeClients(s: SimState, portgroup: string): number {
  return s.vmknics.filter((v) => v.portgroup === portgroup).length
}

// --- the commands ----------------------------------------------------------------------------

export const COMMANDS: CmdDef[] = [
  {
    path: 'system hostname get',
    help: 'Get the host, domain or fully qualified name of the ESX host.',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'FullyQualifiedHostName',
      fields: [
        { label: 'Domain Name', value: s.domain },
        {
          label: 'Fully Qualified Domain Name',
          value: s.domain ? `${s.hostname}.${s.domain}` : s.hostname,
        },
        { label: 'Host Name', value: s.hostname },
      ],
    }),
  },
  {
    path: 'system hostname set',
    help: 'This command allows the user to set the hostname, domain name or fully qualified domain name of the ESX host.',
    opts: [
      { long: 'domain', short: 'd', type: 'str', help: 'The domain name to set for the ESX host.' },
      {
        long: 'fqdn',
        short: 'f',
        type: 'str',
        help: 'The fully qualified domain name to set for the ESX host.',
      },
      { long: 'host', short: 'H', type: 'str', help: 'The host name to set for the ESX host.' },
    ],
    run: (o, s) => {
      const fqdn = o.str('fqdn')
      const host = o.str('host')
      const domain = o.str('domain')
      const label = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
      if (fqdn !== undefined) {
        if (host !== undefined || domain !== undefined) {
          fail('The --fqdn option cannot be used with --host or --domain') // invented
        }
        const [h = '', ...rest] = fqdn.split('.')
        if (!label.test(h)) fail(`Invalid host name: ${h}`) // invented
        s.hostname = h
        s.domain = rest.join('.')
        return none
      }
      if (host === undefined && domain === undefined) fail('At least one option must be specified') // invented
      if (host !== undefined) {
        if (!label.test(host)) fail(`Invalid host name: ${host}`) // invented
        s.hostname = host
      }
      if (domain !== undefined) s.domain = domain
      return none
    },
  },
  {
    path: 'network ip dns server list',
    help: 'Print a list of the DNS server currently configured on the system in the order in which they will be used.',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'DNSServerList',
      fields: [{ label: 'DNSServers', value: [...s.dns.servers] }],
    }),
  },
  {
    path: 'network ip dns server add',
    help: 'Add a new DNS server to the end of the list of DNS servers to use for this ESXi host.',
    opts: [
      {
        long: 'server',
        short: 's',
        type: 'str',
        required: true,
        help: 'The IP address (v4 or v6) of the DNS server to add to the DNS server list.',
      },
    ],
    run: (o, s) => {
      const server = ensureIp(o.req('server'), 'DNS server')
      if (s.dns.servers.includes(server)) {
        // invented
        return duplicate(s, `Unable to add DNS server, ${server} is already in the list`, () =>
          s.dns.servers.push(server),
        )
      }
      s.dns.servers.push(server)
      return none
    },
  },
  {
    path: 'network ip dns server remove',
    help: 'Remove a DNS server from the list of DNS servers to use for this ESXi host.',
    opts: [
      { long: 'all', short: 'a', type: 'flag', help: 'Remove all DNS servers.' },
      {
        long: 'server',
        short: 's',
        type: 'str',
        help: 'The IP address (v4 or v6) of the DNS server to remove.',
      },
    ],
    run: (o, s) => {
      if (o.bool('all')) {
        s.dns.servers = []
        return none
      }
      const server = o.str('server')
      if (server === undefined) fail('Either --server or --all must be specified') // invented
      if (!s.dns.servers.includes(server)) {
        return duplicate(s, `Unable to remove DNS server, ${server} is not in the list`) // invented
      }
      s.dns.servers = s.dns.servers.filter((x) => x !== server)
      return none
    },
  },
  {
    path: 'network ip dns search list',
    help: 'List the search domains currently configured on the ESXi host in the order in which they will be used when searching.',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'DNSSearchDomains',
      fields: [{ label: 'DNSSearch Domains', value: [...s.dns.search] }],
    }),
  },
  {
    path: 'network ip dns search add',
    help: 'Add a search domain to the list of domains to be searched when trying to resolve an host name on the ESXi host.',
    opts: [
      {
        long: 'domain',
        short: 'd',
        type: 'str',
        required: true,
        help: 'The string name of a domain to add to the list of search domains.',
      },
    ],
    run: (o, s) => {
      const domain = o.req('domain')
      if (s.dns.search.includes(domain)) {
        // invented
        return duplicate(s, `Unable to add search domain, ${domain} is already in the list`, () =>
          s.dns.search.push(domain),
        )
      }
      s.dns.search.push(domain)
      return none
    },
  },
  {
    path: 'network ip dns search remove',
    help: 'Remove a search domain from the list of domains to be searched when trying to resolve an host name on the ESXi host.',
    opts: [
      {
        long: 'domain',
        short: 'd',
        type: 'str',
        required: true,
        help: 'The string name of a domain to remove from the list of search domains.',
      },
    ],
    run: (o, s) => {
      const domain = o.req('domain')
      if (!s.dns.search.includes(domain)) {
        return duplicate(s, `Unable to remove search domain, ${domain} is not in the list`) // invented
      }
      s.dns.search = s.dns.search.filter((d) => d !== domain)
      return none
    },
  },
  {
    path: 'system ntp get',
    help: 'Display Network Time Protocol configuration.',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'NTPConfig',
      fields: [
        { label: 'Enabled', value: s.ntp.enabled },
        { label: 'Servers', value: [...s.ntp.servers] },
      ],
    }),
  },
  {
    path: 'system ntp set',
    help: 'Configures the ESX host NTP configuration.',
    opts: [
      { long: 'enabled', short: 'e', type: 'bool', help: 'Enable or disable the NTP service.' },
      {
        long: 'reset',
        short: 'r',
        type: 'flag',
        help: 'Reset the NTP configuration to its defaults before applying the other options.',
      },
      {
        long: 'server',
        short: 's',
        type: 'str',
        repeat: true,
        help: 'Servers to synchronize with. Multiple servers can be specified by repeating the option.',
      },
    ],
    run: (o, s) => {
      if (!o.has('server') && !o.has('enabled') && !o.bool('reset')) {
        fail('At least one option must be specified') // invented
      }
      const servers = o.all('server').map(String)
      for (const server of servers) {
        const literal = isIPv4(server) || isIPv6(server)
        if (!literal && s.resolvableNames !== null && !s.resolvableNames.includes(server)) {
          // invented: esxi.md only says the names must resolve.
          fail(`Invalid server specified: ${server}. Unable to resolve the host name.`)
        }
      }
      // invented: the defaults --reset returns to (no servers, service off).
      if (o.bool('reset')) s.ntp = { enabled: false, servers: [] }
      if (o.has('server')) {
        // esxi.md: whether -s replaces or appends is unconfirmed; the quirk picks one.
        s.ntp.servers =
          s.quirks.ntpSetServers === 'append'
            ? [...s.ntp.servers, ...servers.filter((x) => !s.ntp.servers.includes(x))]
            : servers
      }
      const enabled = o.bool('enabled')
      if (enabled !== undefined) s.ntp.enabled = enabled
      return none
    },
  },
  {
    path: 'network firewall get',
    help: 'Get the firewall status.',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'Firewall',
      fields: [
        { label: 'Default Action', value: s.firewall.defaultAction },
        { label: 'Enabled', value: s.firewall.enabled },
        { label: 'Loaded', value: true },
      ],
    }),
  },
  {
    path: 'network firewall set',
    help: 'Set firewall enabled status and default action.',
    opts: [
      {
        long: 'default-action',
        short: 'd',
        type: 'bool',
        help: 'Set to true to set defaultaction PASS, set to false to DROP.',
      },
      {
        long: 'enabled',
        short: 'e',
        type: 'bool',
        help: 'Set to true to enable the firewall, set to false to disable the firewall.',
      },
    ],
    run: (o, s) => {
      const enabled = o.bool('enabled')
      const pass = o.bool('default-action')
      if (enabled !== undefined) s.firewall.enabled = enabled
      if (pass !== undefined) s.firewall.defaultAction = pass ? 'PASS' : 'DROP'
      return none
    },
  },
  {
    path: 'network firewall refresh',
    help: 'Load ruleset configuration for firewall.',
    opts: [],
    run: () => none,
  },
  {
    path: 'network firewall ruleset list',
    help: 'List the rulesets in firewall.',
    opts: [
      {
        long: 'ruleset-id',
        short: 'r',
        type: 'str',
        help: 'List configuration for specific ruleset',
      },
    ],
    run: (o, s) => {
      const only = o.str('ruleset-id')
      const names = Object.keys(s.firewall.rulesets).filter((n) => only === undefined || n === only)
      if (only !== undefined && names.length === 0) fail(`Invalid ruleset id: ${only}`) // invented
      return {
        kind: 'table',
        type: 'Ruleset',
        columns: [{ label: 'Name' }, { label: 'Enabled' }],
        rows: names.map((n) => [n, s.firewall.rulesets[n] ?? false]),
      }
    },
  },
  {
    path: 'network firewall ruleset set',
    help: 'Set firewall ruleset status (allowedAll flag and enabled status).',
    opts: [
      {
        long: 'allowed-all',
        short: 'a',
        type: 'bool',
        help: 'Set to true to allowed all ip, set to false to use allowed ip list.',
      },
      {
        long: 'enabled',
        short: 'e',
        type: 'bool',
        help: 'Set to true to enable ruleset, set to false to disable it.',
      },
      {
        long: 'ruleset-id',
        short: 'r',
        type: 'str',
        required: true,
        help: 'The label of the ruleset.',
      },
    ],
    run: (o, s) => {
      const id = o.req('ruleset-id')
      if (!(id in s.firewall.rulesets)) fail(`Invalid ruleset id: ${id}`) // invented
      const enabled = o.bool('enabled')
      if (enabled === undefined && !o.has('allowed-all')) {
        fail('At least one of --enabled or --allowed-all must be specified') // invented
      }
      if (enabled !== undefined) s.firewall.rulesets[id] = enabled
      return none
    },
  },
  {
    path: 'network nic list',
    help: 'This command will list the Physical NICs currently installed and loaded on the system.',
    opts: [],
    run: (_o, s) => ({
      kind: 'table',
      type: 'NIC',
      columns: [
        'Name',
        'PCI Device',
        'Driver',
        'Admin Status',
        'Link Status',
        'Speed',
        'Duplex',
        'MAC Address',
        'MTU',
        'Description',
      ].map((label) => ({ label })),
      rows: s.nics.map((n) => [
        n.name,
        n.pci,
        n.driver,
        n.admin,
        n.link,
        n.speed,
        n.duplex,
        n.mac,
        n.mtu,
        n.description,
      ]),
    }),
  },
  {
    path: 'hardware platform get',
    help: 'Get information about the platform',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'PlatformGet',
      title: 'Platform Information',
      fields: [
        { label: 'UUID', value: s.platform.uuid },
        { label: 'Product Name', value: s.platform.productName },
        { label: 'Vendor Name', value: s.platform.vendorName },
        { label: 'Serial Number', value: s.platform.serialNumber },
        { label: 'Enclosure Serial Number', value: 'None' },
        { label: 'BIOS Asset Tag', value: 'No Asset Tag' },
        { label: 'IPMI Supported', value: false },
      ],
    }),
  },
  {
    path: 'system version get',
    help: 'Display the product name, version and build information.',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'VersionGet',
      fields: [
        { label: 'Product', value: s.version.product },
        { label: 'Version', value: s.version.version },
        { label: 'Build', value: s.version.build },
        { label: 'Update', value: s.version.update },
        { label: 'Patch', value: s.version.patch },
        ...(s.version.maintenance === undefined
          ? []
          : [{ label: 'Maintenance', value: s.version.maintenance }]),
      ],
    }),
  },
  {
    path: 'network ip interface ipv4 get',
    help: 'Get IPv4 addresses assigned to VMkernel network interfaces.',
    opts: [
      {
        long: 'interface-name',
        short: 'i',
        type: 'str',
        help: 'The name of the VMkernel network interface to limit the output of this command to.',
      },
    ],
    run: (o, s) => {
      const only = o.str('interface-name')
      const nics = only === undefined ? s.vmknics : [vmknic(s, only)]
      return {
        kind: 'table',
        type: 'IPv4Interface',
        columns: [
          'Name',
          'IPv4 Address',
          'IPv4 Netmask',
          'IPv4 Broadcast',
          'Address Type',
          'Gateway',
          'DHCP DNS',
        ].map((label) => ({ label })),
        rows: nics.map((v) => [
          v.name,
          v.ipv4.address,
          v.ipv4.netmask,
          v.ipv4.broadcast,
          v.ipv4.type,
          v.ipv4.gateway,
          v.ipv4.type === 'DHCP',
        ]),
      }
    },
  },
  {
    path: 'network ip interface ipv4 set',
    help: 'Configure IPv4 setting for a given VMkernel network interface.',
    opts: [
      {
        long: 'gateway',
        short: 'g',
        type: 'str',
        help: 'The default gateway for this interface. The value must be a valid IPv4 address.',
      },
      {
        long: 'interface-name',
        short: 'i',
        type: 'str',
        required: true,
        help: 'The name of the VMkernel network interface to set IPv4 settings for.',
      },
      {
        long: 'ipv4',
        short: 'I',
        type: 'str',
        help: 'The static IPv4 address for this interface.',
      },
      {
        long: 'netmask',
        short: 'N',
        type: 'str',
        help: 'The static IPv4 netmask for this interface.',
      },
      {
        long: 'type',
        short: 't',
        type: 'str',
        help: 'IPv4 Address type : dhcp: Use DHCP to acquire IPv4 setting for this interface. none: Remove IPv4 settings form this interface. static: Set Static IPv4 information for this interface. Requires --ipv4 and --netmask options.',
      },
    ],
    run: (o, s) => {
      const v = vmknic(s, o.req('interface-name'))
      const type = o.str('type')?.toLowerCase()
      if (type !== undefined && !['static', 'dhcp', 'none'].includes(type)) {
        fail(`Invalid IPv4 address type: ${type}`) // invented
      }
      const ip = o.str('ipv4')
      const mask = o.str('netmask')
      const gw = o.str('gateway')
      if (gw !== undefined) ensureIPv4(gw, 'gateway')
      const unset = { address: '0.0.0.0', netmask: '0.0.0.0', broadcast: '0.0.0.0' }
      if (type === 'static' || ((ip !== undefined || mask !== undefined) && type === undefined)) {
        if (ip === undefined || mask === undefined) {
          fail('IPv4 address and netmask must be specified for static configuration') // invented
        }
        ensureIPv4(ip, 'IPv4 address')
        if (!isNetmask(mask)) fail(`Invalid IPv4 netmask: ${mask}`) // invented
        v.ipv4 = {
          address: ip,
          netmask: mask,
          broadcast: broadcastOf(ip, mask),
          type: 'STATIC',
          gateway: v.ipv4.gateway,
        }
      } else if (type === 'dhcp') {
        // invented: the lease the state holds for this vmknic, or no address when none answers.
        const lease = s.dhcpLeases[v.name]
        v.ipv4 = lease
          ? {
              address: lease.address,
              netmask: lease.netmask,
              broadcast: broadcastOf(lease.address, lease.netmask),
              type: 'DHCP',
              gateway: v.ipv4.gateway,
            }
          : { ...unset, type: 'DHCP', gateway: v.ipv4.gateway }
      } else if (type === 'none') {
        v.ipv4 = { ...unset, type: 'NONE', gateway: '0.0.0.0' }
      }
      // esxi.md: -g is a per-adapter gateway override, not the default route.
      if (gw !== undefined) v.ipv4.gateway = gw
      dropUnusableRoutes(s)
      return none
    },
  },
  {
    path: 'network ip interface list',
    help: 'List VMkernel network interfaces currently known to the system.',
    opts: [],
    run: (_o, s) => ({
      kind: 'blocks',
      type: 'IPInterface',
      items: s.vmknics.map((v, i) => ({
        title: v.name,
        fields: [
          { label: 'Name', value: v.name },
          { label: 'MAC Address', value: v.mac },
          { label: 'Enabled', value: v.enabled },
          {
            label: 'Portset',
            value: s.portgroups.find((p) => p.name === v.portgroup)?.vswitch ?? 'N/A',
          },
          { label: 'Portgroup', value: v.portgroup },
          { label: 'Netstack Instance', value: 'defaultTcpipStack' },
          { label: 'VDS Name', value: 'N/A' },
          { label: 'VDS UUID', value: 'N/A' },
          { label: 'VDS Port', value: 'N/A' },
          { label: 'VDS Connection', value: -1 },
          { label: 'MTU', value: v.mtu },
          { label: 'TSO MSS', value: 65535 },
          { label: 'Port ID', value: 33554436 + i * 2 },
        ],
      })),
    }),
  },
  {
    path: 'network ip interface add',
    help: 'Add a new VMkernel network interface.',
    opts: [
      {
        long: 'interface-name',
        short: 'i',
        type: 'str',
        help: 'The name of the VMkernel network interface to create. This name must be in the form vmkX.',
      },
      { long: 'mtu', short: 'm', type: 'long', help: 'The MTU size of the vmknic.' },
      {
        long: 'portgroup-name',
        short: 'p',
        type: 'str',
        help: 'The name of the port group to add this VMkernel network interface to.',
      },
    ],
    run: (o, s) => {
      const pg = o.req('portgroup-name')
      if (!s.portgroups.some((p) => p.name === pg)) fail(`Unable to find port group ${pg}`) // invented
      if (s.vmknics.some((v) => v.portgroup === pg)) {
        fail('A vmkernel nic for the connection point already exists')
      }
      let name = o.str('interface-name')
      if (name === undefined) {
        let n = 0
        while (s.vmknics.some((v) => v.name === `vmk${n}`)) n++
        name = `vmk${n}`
      }
      if (!/^vmk\d+$/.test(name))
        fail(`Invalid interface name ${name}. It must be in the form vmkX.`) // invented
      if (s.vmknics.some((v) => v.name === name)) {
        fail('A vmkernel nic for the connection point already exists')
      }
      const index = s.vmknics.length
      s.vmknics.push({
        name,
        portgroup: pg,
        mac: `00:50:56:6${index % 10}:${(0x10 + index).toString(16).padStart(2, '0')}:${(0x20 + index).toString(16).padStart(2, '0')}`,
        mtu: checkMtu(o.int('mtu') ?? 1500),
        enabled: true,
        ipv4: {
          address: '0.0.0.0',
          netmask: '0.0.0.0',
          broadcast: '0.0.0.0',
          type: 'NONE',
          gateway: '0.0.0.0',
        },
        tags: [],
      })
      return none
    },
  },
  {
    // esxi.md: `-e false` then `-e true` restarts an interface with its configuration.
    path: 'network ip interface set',
    help: 'This command sets the enabled status and MTU size of a given IP interface',
    opts: [
      {
        long: 'enabled',
        short: 'e',
        type: 'bool',
        help: 'Set to true to enable the interface, set to false to disable it.',
      },
      {
        long: 'interface-name',
        short: 'i',
        type: 'str',
        required: true,
        help: 'The name of the interface to apply the configurations.',
      },
      { long: 'mtu', short: 'm', type: 'long', help: 'The MTU size of the IP interface.' },
    ],
    run: (o, s) => {
      const v = vmknic(s, o.req('interface-name'))
      const enabled = o.bool('enabled')
      const mtu = o.int('mtu')
      if (enabled === undefined && mtu === undefined) {
        fail('At least one option must be specified') // invented
      }
      if (mtu !== undefined) v.mtu = checkMtu(mtu)
      if (enabled !== undefined) v.enabled = enabled
      dropUnusableRoutes(s)
      return none
    },
  },
  {
    // Not in esxi.md's tables; a real esxcli command, with an invented error.
    path: 'network ip interface remove',
    help: 'Remove a VMkernel network interface.',
    opts: [
      {
        long: 'interface-name',
        short: 'i',
        type: 'str',
        required: true,
        help: 'The name of the VMkernel network interface to remove.',
      },
    ],
    run: (o, s) => {
      const v = vmknic(s, o.req('interface-name'))
      s.vmknics = s.vmknics.filter((x) => x !== v)
      dropUnusableRoutes(s)
      return none
    },
  },
  {
    path: 'network ip interface tag add',
    help: 'Adds a tag on a given VMkernel network interface.',
    opts: [
      {
        long: 'interface-name',
        short: 'i',
        type: 'str',
        required: true,
        help: 'Name of vmknic to tag.',
      },
      {
        long: 'tagname',
        short: 't',
        type: 'str',
        required: true,
        help: `Tag name to assign to vmknic. Supported tags are: ${TAGS.join(', ')}`,
      },
    ],
    run: (o, s) => {
      const v = vmknic(s, o.req('interface-name'))
      const tag = o.req('tagname')
      if (!TAGS.includes(tag)) fail(`Invalid tag name: ${tag}`) // invented
      if (v.tags.includes(tag)) fail(`Vmknic is already tagged with ${tag}`)
      v.tags.push(tag)
      return none
    },
  },
  {
    path: 'network ip interface tag remove',
    help: 'Removes a tag on a given VMkernel network interface.',
    opts: [
      {
        long: 'interface-name',
        short: 'i',
        type: 'str',
        required: true,
        help: 'Name of vmknic to untag.',
      },
      {
        long: 'tagname',
        short: 't',
        type: 'str',
        required: true,
        help: 'Tag name to remove from vmknic.',
      },
    ],
    run: (o, s) => {
      const v = vmknic(s, o.req('interface-name'))
      const tag = o.req('tagname')
      if (!v.tags.includes(tag)) fail(`Vmknic is not tagged with ${tag}`) // invented
      v.tags = v.tags.filter((t) => t !== tag)
      return none
    },
  },
  {
    path: 'network ip interface tag get',
    help: 'Gets the tags set on the given VMkernel network interface.',
    opts: [
      { long: 'interface-name', short: 'i', type: 'str', required: true, help: 'Name of vmknic.' },
    ],
    run: (o, s) => ({
      kind: 'object',
      type: 'Tags',
      fields: [{ label: 'Tags', value: [...vmknic(s, o.req('interface-name')).tags] }],
    }),
  },
  {
    path: 'network ip route ipv4 list',
    help: 'List configured IPv4 routes.',
    opts: [],
    run: (_o, s) => ({
      kind: 'table',
      type: 'IPv4Route',
      columns: ['Network', 'Netmask', 'Gateway', 'Interface', 'Source'].map((label) => ({ label })),
      rows: routeTable(s).map((r) =>
        r.network === 'default' && s.quirks.defaultRouteNetwork === 'zeros'
          ? ['0.0.0.0', '0.0.0.0', r.gateway, r.interface, r.source]
          : [r.network, r.netmask, r.gateway, r.interface, r.source],
      ),
    }),
  },
  {
    path: 'network ip route ipv4 add',
    help: 'Add IPv4 route to the VMkernel.',
    opts: routeOpts('added'),
    run: (o, s) => {
      const gateway = ensureIPv4(o.req('gateway'), 'gateway')
      const { network, netmask } = routeNetwork(o.req('network'))
      const add = () => {
        const via = usableGateway(s, gateway)
        s.routes.push({ network, netmask, gateway, interface: via.name, source: 'MANUAL' })
      }
      if (s.routes.some((r) => r.network === network && r.netmask === netmask)) {
        return duplicate(s, 'Unable to add route: route already exists', add) // invented
      }
      add()
      return none
    },
  },
  {
    // Not in esxi.md's tables; a real esxcli command, with an invented error.
    path: 'network ip route ipv4 remove',
    help: 'Remove IPv4 route from the VMkernel.',
    opts: routeOpts('removed'),
    run: (o, s) => {
      const gateway = ensureIPv4(o.req('gateway'), 'gateway')
      const { network, netmask } = routeNetwork(o.req('network'))
      const match = (r: { network: string; netmask: string; gateway: string }) =>
        r.network === network && r.netmask === netmask && r.gateway === gateway
      if (!s.routes.some(match)) return duplicate(s, 'Unable to remove route: Not found') // invented
      s.routes = s.routes.filter((r) => !match(r))
      return none
    },
  },
  {
    path: 'network vswitch standard list',
    help: 'List the virtual switches current on the ESX host.',
    opts: [
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        help: 'Limit the output of this command to only virtual switches with the given name.',
      },
    ],
    run: (o, s) => {
      const only = o.str('vswitch-name')
      const list = only === undefined ? s.vswitches : [vswitch(s, only)]
      return {
        kind: 'blocks',
        type: 'VirtualSwitch',
        items: list.map((v) => {
          const clients = v.portgroups.reduce((n, pg) => n + activeClients(s, pg), 0)
          return {
            ...(s.quirks.unlisted === 'present' ? { title: v.name } : {}),
            fields: [
              { label: 'Name', value: v.name },
              { label: 'Class', value: 'cswitch' },
              { label: 'Num Ports', value: v.numPorts },
              { label: 'Used Ports', value: 1 + v.uplinks.length + clients },
              { label: 'Configured Ports', value: 128 },
              { label: 'MTU', value: v.mtu },
              { label: 'CDP Status', value: 'listen' },
              { label: 'Beacon Enabled', value: false },
              { label: 'Beacon Interval', value: 1 },
              { label: 'Beacon Threshold', value: 3 },
              { label: 'Beacon Required By', value: [] },
              { label: 'Uplinks', value: [...v.uplinks] },
              { label: 'Portgroups', value: [...v.portgroups] },
            ],
          }
        }),
      }
    },
  },
  {
    path: 'network vswitch standard add',
    help: 'Add a new virtual switch to the ESX networking system.',
    opts: [
      {
        long: 'ports',
        short: 'P',
        type: 'long',
        help: 'The number of ports this virtual switch should have.',
      },
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The name of the virtual switch to create.',
      },
    ],
    run: (o, s) => {
      const name = o.req('vswitch-name')
      if (s.vswitches.some((v) => v.name === name)) fail('A portset with this name already exists')
      s.vswitches.push({
        name,
        mtu: 1500,
        numPorts: o.int('ports') ?? 2560,
        uplinks: [],
        portgroups: [],
      })
      return none
    },
  },
  {
    // Not in esxi.md's tables; a real esxcli command, with invented errors.
    path: 'network vswitch standard remove',
    help: 'Remove a virtual switch from the ESX networking system.',
    opts: [
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The name of the virtual switch to remove.',
      },
    ],
    run: (o, s) => {
      const v = vswitch(s, o.req('vswitch-name'))
      if (v.portgroups.some((pg) => activeClients(s, pg) > 0)) fail('Sysinfo error: Busy') // invented
      s.vswitches = s.vswitches.filter((x) => x !== v)
      s.portgroups = s.portgroups.filter((p) => p.vswitch !== v.name)
      return none
    },
  },
  {
    path: 'network vswitch standard set',
    help: 'This command sets the MTU size and CDP status of a given virtual switch.',
    opts: [
      {
        long: 'cdp-status',
        short: 'c',
        type: 'str',
        help: 'The CDP status of the given virtual switch. It can be down, listen, advertise or both.',
      },
      { long: 'mtu', short: 'm', type: 'long', help: 'The MTU size of the given virtual switch.' },
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The name of virtual switch to apply the configurations.',
      },
    ],
    run: (o, s) => {
      const v = vswitch(s, o.req('vswitch-name'))
      const mtu = o.int('mtu')
      if (mtu !== undefined) v.mtu = checkMtu(mtu)
      return none
    },
  },
  {
    path: 'network vswitch standard uplink add',
    help: 'Add an uplink to the given virtual switch.',
    opts: [
      {
        long: 'uplink-name',
        short: 'u',
        type: 'str',
        required: true,
        help: 'The name of the uplink to add to the virtual switch.',
      },
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The name of the virtual switch to add an uplink to.',
      },
    ],
    run: (o, s) => {
      const uplink = o.req('uplink-name')
      const v = vswitch(s, o.req('vswitch-name'))
      if (!s.nics.some((n) => n.name === uplink)) fail(`Not a valid pnic: ${uplink}`) // invented
      if (v.uplinks.includes(uplink)) fail(`Uplink already exists: ${uplink}`)
      const other = s.vswitches.find((x) => x.uplinks.includes(uplink))
      if (other) fail(`Uplink ${uplink} is already in use by ${other.name}`) // invented
      v.uplinks.push(uplink)
      // vSphere's networking guide: "By default, new adapters are active".
      v.failover?.active.push(uplink)
      return none
    },
  },
  {
    path: 'network vswitch standard uplink remove',
    help: 'Remove an uplink from a virtual switch.',
    opts: [
      {
        long: 'uplink-name',
        short: 'u',
        type: 'str',
        required: true,
        help: 'The name of the uplink to remove from the virtual switch.',
      },
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The name of the virtual switch to remove an uplink from.',
      },
    ],
    run: (o, s) => {
      const uplink = o.req('uplink-name')
      const v = vswitch(s, o.req('vswitch-name'))
      if (!v.uplinks.includes(uplink)) fail(`No such uplink: ${uplink}`)
      v.uplinks = v.uplinks.filter((u) => u !== uplink)
      if (v.failover) {
        v.failover.active = v.failover.active.filter((u) => u !== uplink)
        v.failover.standby = v.failover.standby.filter((u) => u !== uplink)
      }
      return none
    },
  },
  {
    // invented: teaming is not in esxi.md. The command and its fields are ESXi's; the output was
    // not checked against a host, so the product must verify what it sets by reading it back.
    path: 'network vswitch standard policy failover get',
    help: 'Get the failover policy settings governing the given virtual switch.',
    opts: [
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The name of the virtual switch to use when fetching the failover policy.',
      },
    ],
    run: (o, s) => {
      const v = vswitch(s, o.req('vswitch-name'))
      const { active, standby } = failoverOf(v)
      return {
        kind: 'object',
        type: 'FailoverPolicy',
        fields: [
          { label: 'Load Balancing', value: 'srcport' },
          { label: 'Network Failure Detection', value: 'link' },
          { label: 'Notify Switches', value: true },
          { label: 'Failback', value: true },
          { label: 'Active Adapters', value: [...active] },
          { label: 'Standby Adapters', value: [...standby] },
          {
            label: 'Unused Adapters',
            value: v.uplinks.filter((u) => !active.includes(u) && !standby.includes(u)),
          },
        ],
      }
    },
  },
  {
    // invented, as `failover get`: each list given replaces the old one; an uplink named in one
    // list leaves the other, and an uplink named in neither is unused.
    path: 'network vswitch standard policy failover set',
    help: 'Configure the Failover policy for a virtual switch.',
    opts: [
      {
        long: 'active-uplinks',
        short: 'a',
        type: 'str',
        help: 'Configure the list of active adapters and their failover order (comma separated).',
      },
      {
        long: 'standby-uplinks',
        short: 's',
        type: 'str',
        help: 'Configure the list of standby adapters and their failover order (comma separated).',
      },
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The name of the virtual switch to use when configuring the failover policy.',
      },
    ],
    run: (o, s) => {
      const v = vswitch(s, o.req('vswitch-name'))
      const list = (long: string) => {
        const raw = o.str(long)
        if (raw === undefined) return undefined
        const names = raw
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== '')
        for (const n of names) {
          if (!v.uplinks.includes(n)) fail(`Uplink ${n} is not attached to ${v.name}`) // invented
        }
        return names
      }
      const active = list('active-uplinks')
      const standby = list('standby-uplinks')
      if (active === undefined && standby === undefined) {
        fail('At least one option must be specified') // invented
      }
      if (active?.some((n) => standby?.includes(n))) {
        fail('An uplink cannot be both active and standby') // invented
      }
      const old = failoverOf(v)
      v.failover = {
        active: active ?? old.active.filter((n) => !standby?.includes(n)),
        standby: standby ?? old.standby.filter((n) => !active?.includes(n)),
      }
      return none
    },
  },
  {
    path: 'network vswitch standard portgroup list',
    help: 'List all of the port groups currently on the system.',
    opts: [],
    run: (_o, s) => ({
      kind: 'table',
      type: 'PortGroup',
      columns: ['Name', 'Virtual Switch', 'Active Clients', 'VLAN ID'].map((label) => ({ label })),
      rows: s.portgroups.map((p) => [p.name, p.vswitch, activeClients(s, p.name), p.vlanId]),
    }),
  },
  {
    path: 'network vswitch standard portgroup add',
    help: 'Allows the addition of a standard port group to a virtual switch.',
    opts: [
      {
        long: 'portgroup-name',
        short: 'p',
        type: 'str',
        required: true,
        help: 'The name of the port group to add',
      },
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The virtual switch to add the port group to.',
      },
    ],
    run: (o, s) => {
      const name = o.req('portgroup-name')
      const v = vswitch(s, o.req('vswitch-name'))
      if (s.portgroups.some((p) => p.name === name))
        fail(`A portgroup with the name ${name} already exists`)
      s.portgroups.push({ name, vswitch: v.name, vlanId: 0 })
      v.portgroups.push(name)
      return none
    },
  },
  {
    path: 'network vswitch standard portgroup remove',
    help: 'Remove a port group from the given virtual switch',
    opts: [
      {
        long: 'portgroup-name',
        short: 'p',
        type: 'str',
        required: true,
        help: 'The name of the port group to remove',
      },
      {
        long: 'vswitch-name',
        short: 'v',
        type: 'str',
        required: true,
        help: 'The virtual switch to remove the port group from.',
      },
    ],
    run: (o, s) => {
      const name = o.req('portgroup-name')
      const v = vswitch(s, o.req('vswitch-name'))
      if (!v.portgroups.includes(name)) fail('Sysinfo error: Not found')
      if (activeClients(s, name) > 0) fail('Sysinfo error: Busy') // invented
      v.portgroups = v.portgroups.filter((p) => p !== name)
      s.portgroups = s.portgroups.filter((p) => p.name !== name)
      return none
    },
  },
  {
    path: 'network vswitch standard portgroup set',
    help: 'Provide the standard vSwitch portgroup options.',
    opts: [
      {
        long: 'portgroup-name',
        short: 'p',
        type: 'str',
        required: true,
        help: 'The name of the port group to set the values for',
      },
      {
        long: 'vlan-id',
        short: 'v',
        type: 'long',
        help: 'Set the vlan id for this port group. This value can be in the range (0 - 4095)',
      },
    ],
    run: (o, s) => {
      const name = o.req('portgroup-name')
      const pg = s.portgroups.find((p) => p.name === name) ?? fail('Sysinfo error: Not found')
      const vlan = o.int('vlan-id')
      if (vlan !== undefined) {
        if (vlan < 0 || vlan > 4095)
          fail(`Invalid VLAN ID ${vlan}. It must be in the range (0 - 4095)`) // invented
        pg.vlanId = vlan
      }
      return none
    },
  },
  {
    path: 'system syslog config get',
    help: 'Show the current global configuration values',
    opts: [],
    run: (_o, s) => ({
      kind: 'object',
      type: 'SyslogConfig',
      fields: [
        { label: 'Default Network Retry Timeout', value: 180 },
        { label: 'Local Log Output', value: s.syslog.logDir || '/scratch/log' },
        { label: 'Local Log Output Is Configured', value: s.syslog.logDir !== '' },
        { label: 'Local Log Output Is Persistent', value: true },
        { label: 'Log To Unique Subdirectory', value: false },
        {
          label: 'Remote Host',
          value: s.syslog.remoteHost === '' ? '<none>' : s.syslog.remoteHost,
        },
      ].filter((f) => s.quirks.unlisted === 'present' || f.label === 'Remote Host'),
    }),
  },
  {
    path: 'system syslog config set',
    help: 'Set global log configuration options',
    opts: [
      {
        long: 'logdir',
        type: 'str',
        help: 'The directory to output local logs to.',
      },
      {
        long: 'loghost',
        type: 'str',
        help: 'The remote host(s) to send logs to. Provide an empty string to disable.',
      },
    ],
    run: (o, s) => {
      const loghost = o.str('loghost')
      const logdir = o.str('logdir')
      if (loghost === undefined && logdir === undefined) {
        fail('At least one option must be specified') // invented
      }
      if (loghost !== undefined) setLoghost(s, loghost)
      if (logdir !== undefined) setLogdir(s, logdir)
      return none
    },
  },
  {
    path: 'system syslog reload',
    help: 'Reload the log daemon to apply any new configuration options',
    opts: [],
    run: () => none,
  },
  {
    path: 'system maintenanceMode get',
    help: 'Get the maintenance mode state of the system.',
    opts: [],
    run: (_o, s) => ({ kind: 'scalar', value: s.maintenanceMode ? 'Enabled' : 'Disabled' }),
  },
  {
    path: 'system maintenanceMode set',
    help: 'Enable or disable the maintenance mode of the system.',
    opts: [
      { long: 'enable', short: 'e', type: 'bool', required: true, help: 'enable maintenance mode' },
      {
        long: 'timeout',
        short: 't',
        type: 'long',
        help: 'Time to perform operation in seconds (default 60 seconds)',
      },
      {
        long: 'vsanmode',
        short: 'm',
        type: 'str',
        help: 'Action the VSAN service must take before the host can enter maintenance mode.',
      },
    ],
    run: (o, s) => {
      s.maintenanceMode = o.bool('enable') ?? s.maintenanceMode
      return none
    },
  },
  {
    path: 'system settings advanced list',
    help: 'List the advanced options available from the VMkernel.',
    opts: [
      {
        long: 'option',
        short: 'o',
        type: 'str',
        help: 'Only get the information for a single VMkernel advanced option.',
      },
      {
        long: 'tree',
        short: 't',
        type: 'str',
        help: 'Limit the list of advanced option to a specific sub tree.',
      },
    ],
    run: (o, s) => {
      const only = o.str('option')
      const tree = o.str('tree')
      let paths = only === undefined ? Object.keys(s.advanced) : [only]
      if (tree !== undefined)
        paths = paths.filter((p) => p.startsWith(tree.endsWith('/') ? tree : `${tree}/`))
      return {
        kind: 'blocks',
        type: 'SettingsAdvancedOption',
        items: paths.map((p) => advancedBlock(s, p)),
      }
    },
  },
  {
    path: 'system settings advanced set',
    help: 'Set the value of an advanced option.',
    opts: [
      { long: 'default', short: 'd', type: 'flag', help: 'Reset the option to its default value.' },
      {
        long: 'int-value',
        short: 'i',
        type: 'long',
        help: 'If the option is an integer value use this option.',
      },
      {
        long: 'option',
        short: 'o',
        type: 'str',
        required: true,
        help: 'The name of the option to set the value of. Example: "/Misc/HostName"',
      },
      {
        long: 'string-value',
        short: 's',
        type: 'str',
        help: 'If the option is a string use this option.',
      },
    ],
    run: (o, s) => {
      const path = o.req('option')
      const def = advancedDef(s, path)
      if (o.bool('default')) {
        if (path === '/Syslog/global/logHost') setLoghost(s, '')
        else if (path === '/Syslog/global/logDir') setLogdir(s, '')
        else s.advanced[path] = def.def
        return none
      }
      const i = o.int('int-value')
      const str = o.str('string-value')
      if (def.type === 'integer') {
        if (i === undefined) fail(`Option ${path} is an integer option; use --int-value`) // invented
        const n = i
        if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
          fail(`Invalid value ${n} for option ${path}. Valid range is ${def.min}-${def.max}`) // invented
        }
        s.advanced[path] = n
      } else {
        if (str === undefined) fail(`Option ${path} is a string option; use --string-value`) // invented
        if (path === '/Syslog/global/logHost') setLoghost(s, str)
        else if (path === '/Syslog/global/logDir') setLogdir(s, str)
        else s.advanced[path] = str
      }
      return none
    },
  },
  {
    path: 'system account set',
    help: 'Modify an existing local user account.',
    opts: [
      { long: 'description', short: 'd', type: 'str', help: 'User description, e.g. full name.' },
      {
        long: 'id',
        short: 'i',
        type: 'str',
        required: true,
        help: 'ID of user account to modify.',
      },
      {
        long: 'password',
        short: 'p',
        type: 'str',
        help: "User password. Not used unless specified with the 'password-confirmation' option.",
      },
      {
        long: 'password-confirmation',
        short: 'c',
        type: 'str',
        help: 'Password confirmation. Required if password is specified.',
      },
    ],
    run: (o, s) => {
      const id = o.req('id')
      if (id !== 'root') fail(`The user or group named '${id}' does not exist.`) // invented
      const p = o.str('password')
      const c = o.str('password-confirmation')
      if (p !== undefined || c !== undefined) {
        if (p !== c) fail('Password and confirmation password do not match') // invented
        const problem = passwordProblem(p ?? '', id)
        // invented wording; it names the rule broken, never the password.
        if (problem) fail(`Password does not meet the password policy requirements: ${problem}`)
        s.rootPassword = p ?? ''
      }
      return none
    },
  },
]

export const NAMESPACES: Set<string> = new Set(
  COMMANDS.flatMap((c) => {
    const words = c.path.split(' ')
    return words.slice(0, -1).map((_, i) => words.slice(0, i + 1).join(' '))
  }),
)

export function childrenOf(namespace: string): string[] {
  const depth = namespace === '' ? 0 : namespace.split(' ').length
  const prefix = namespace === '' ? '' : `${namespace} `
  const names = COMMANDS.filter((c) => c.path.startsWith(prefix)).map(
    (c) => c.path.split(' ')[depth] ?? '',
  )
  return [...new Set(names)]
}
