// Shapes that cross a boundary (IPC, HTTP, disk). Pure: imported by main,
// preload and renderer alike, so no node:, electron or DOM imports here.
import { z } from 'zod'
import { InstallOptions } from '../catalogue/install'
import { HostSpec, SiteProfile, SPEC_SETTINGS } from '../catalogue/registry'
import {
  bounds,
  esxiPassword,
  FORMULA_START,
  hasInvisible,
  ipv4,
  ipv4Prefix,
  isDnsName,
  isHostOrAddress,
} from '../catalogue/values'
import { HostState } from './lifecycle'

export { HostSpec, InstallOptions, SiteProfile }

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i

export const Mac = z
  .string()
  .trim()
  .transform((s) => s.toLowerCase().replace(/-/g, ':'))
  .pipe(
    z
      .string()
      .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'must be a MAC address like aa:bb:cc:dd:ee:ff'),
  )

/**
 * The MAC a server boots from, as an operator types it: a NIC's own address,
 * so never a group (multicast or broadcast: the first octet's lowest bit set)
 * or all zeros, which hide a typo in a spreadsheet.
 */
export const NicMac = Mac.refine((m) => m !== '00:00:00:00:00:00', {
  message: 'is all zeros, which no NIC has',
}).refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, {
  message: 'is a multicast or broadcast address (its first octet is odd), which no NIC has',
})

/** Secret settings whose stored value is dropped: each must be a secret setting. */
const SECRET_KEYS = SPEC_SETTINGS.filter((s) => s.secret).map((s) => s.key)
const ClearSecrets = z
  .array(
    z.string().refine((k) => SECRET_KEYS.includes(k), {
      message: `not a secret setting (those are ${SECRET_KEYS.join(', ')})`,
    }),
  )
  .max(SECRET_KEYS.length * 2)
  .default([])

/** The user Midwife logs in as over SSH. */
export const SshUser = z
  .string()
  .trim()
  .min(1, 'an SSH user name is needed')
  .max(64, 'an SSH user name is at most 64 characters')
  .refine((s) => !/\s/.test(s) && !hasInvisible(s), {
    message: 'an SSH user name has no spaces, control or invisible characters',
  })
  .refine((s) => !FORMULA_START.test(s), {
    message:
      'an SSH user name does not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula)',
  })

const SSH_PORT = 'an SSH port is a whole number from 1 to 65535'
/** The port Midwife logs in at over SSH. */
export const SshPort = z
  .number({ message: SSH_PORT })
  .int(SSH_PORT)
  .min(1, SSH_PORT)
  .max(65535, SSH_PORT)

/** A serial number an operator expects a server to report (an asset list). */
export const SerialNumber = z
  .string()
  .trim()
  .max(128, 'a serial number is at most 128 characters')
  .refine((s) => !hasInvisible(s), {
    message: 'a serial number has no control or invisible characters',
  })
  .refine((s) => !FORMULA_START.test(s), {
    message:
      'a serial number does not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula)',
  })

export const Ipv4 = z.ipv4({ message: 'must be an IPv4 address like 10.0.0.2' })

export const HostLabel = z
  .string()
  .trim()
  .regex(
    HOST_LABEL,
    'must be letters, digits and hyphens (1-63), not starting or ending with a hyphen',
  )

/** A DNS domain; not all digits at the end, so a mistyped address like 10.0.0 is no domain. */
export const DomainName = z.string().trim().refine(isDnsName, 'must be a DNS domain like lab.local')

/** An IPv4 address or a DNS name; `message` says which one this field wants. */
const hostOrAddress = (message: string) => z.string().trim().refine(isHostOrAddress, { message })

/**
 * As stored settings were checked before a name's last label had to hold a letter: what was
 * saved then still loads (the Site screen shows it, and refuses it when saved again).
 */
const storedHostOrAddress = (message: string) =>
  z.union(
    [
      Ipv4,
      z
        .string()
        .trim()
        .max(253)
        .refine((s) => s.split('.').every((l) => HOST_LABEL.test(l))),
    ],
    { message },
  )

const HostOrAddress = hostOrAddress('must be an IPv4 address or a DNS name')

/** An NTP server: an IPv4 address or a DNS name (ESXi refuses names it cannot resolve). */
export const NtpServer = HostOrAddress

export const Timestamp = z.string()

export const ESXI_VERSIONS = ['7.0', '8.0', '9.0'] as const
/** The ESXi releases Midwife installs and configures. */
export const EsxiVersion = z.enum(ESXI_VERSIONS)
export type EsxiVersion = z.infer<typeof EsxiVersion>

/**
 * A root password a server is installed with (the kickstart's rootpw, which takes any hash):
 * it must pass ESXi's default rules, as the installer may not enforce them and a host installed
 * with a password ESXi later refuses is a trap. Messages name the rule, never the password.
 */
const installPassword = esxiPassword.optional()

export const HostInput = z.strictObject({
  id: z.number().int().positive().optional(),
  hostname: HostLabel,
  domain: DomainName,
  mac: NicMac,
  /** The serial number the server should report, when known (asset lists): a discovery hint. */
  serial: SerialNumber.optional().transform((s) => (s ? s : undefined)),
  sshUser: SshUser.default('root'),
  sshPort: SshPort.default(22),
  /**
   * Write-only. Omit when editing a host to keep the stored password (checked only when given:
   * a host stored with an older, weaker one still loads and saves).
   */
  rootPassword: installPassword,
  /**
   * The host's own values: each overrides the site profile's. A secret
   * setting left out keeps its stored value; list it in clearSecrets to drop it.
   */
  spec: HostSpec.default({}),
  clearSecrets: ClearSecrets,
  /** The ESXi version its netboot installs; null: the site's default. Left out: unchanged. */
  esxiVersion: EsxiVersion.nullable().optional(),
  /**
   * Whether the server boots with UEFI Secure Boot (which skips %firstboot);
   * null: as the site expects. Left out: unchanged.
   */
  secureBoot: z.boolean().nullable().optional(),
})
export type HostInput = z.input<typeof HostInput>

/** What the operator defined a host to be. */
export const HostDefinition = z.object({
  hostname: z.string(),
  domain: z.string(),
  mac: z.string(),
  serial: z.string().nullable(),
  sshUser: z.string(),
  sshPort: z.number().int(),
  hasPassword: z.boolean(),
  /** Its own values (secrets left out: see secretsSet). */
  spec: z.record(z.string(), z.unknown()),
  /** Secret settings the host holds a value for. */
  secretsSet: z.array(z.string()),
  /** Null: the site's default version. */
  esxiVersion: EsxiVersion.nullable(),
  /** Null: as the site expects (Settings.boot.secureBootExpected). */
  secureBoot: z.boolean().nullable(),
})
export type HostDefinition = z.infer<typeof HostDefinition>

/** One value of the spec a host is configured to, and where it came from. */
export const ResolvedValue = z.object({
  key: z.string(),
  title: z.string(),
  source: z.enum(['site', 'host', 'identity']),
  /** Null for a secret: it is never sent to a screen. */
  value: z.unknown(),
  shown: z.string(),
  secret: z.boolean(),
})
export type ResolvedValue = z.infer<typeof ResolvedValue>

export const SshHostKey = z.object({
  type: z.string(),
  /** OpenSSH style: SHA256:<base64 without padding>. */
  fingerprint: z.string(),
})
export type SshHostKey = z.infer<typeof SshHostKey>

/** Who a server says it is: what a check-in reports, and what Midwife binds to a host. */
export const ReportedIdentity = z.object({
  macs: z.array(z.string()),
  serial: z.string().nullable(),
  uuid: z.string().nullable(),
  sshHostKeys: z.array(SshHostKey),
  managementIp: z.string().nullable(),
})
export type ReportedIdentity = z.infer<typeof ReportedIdentity>

export const BindingKind = z.enum([
  /** Trust on first use: the first check-in that matched the definition. */
  'first_checkin',
  /** A server that checked in with the site enrollment key and was recorded as it reported. */
  'discovered',
  /** The operator assigned a discovered server to this definition. */
  'assigned',
  /** The operator trusted a server whose MACs do not include the definition's MAC. */
  'assigned_despite_mac',
  /** The operator confirmed the server was reinstalled (or moved) and trusts what it reports now. */
  'retrusted',
  /** Claimed by the site's auto-match rule: exactly one definition has one of its MACs. */
  'auto_matched',
  /**
   * Trust on first use through the Secure Boot path: %firstboot never ran, so Midwife turned
   * SSH on over the host's vSphere API and bound the host key SSH presented and what it read.
   */
  'secure_boot',
])
export type BindingKind = z.infer<typeof BindingKind>

export const BoundIdentity = ReportedIdentity.extend({
  boundAt: z.string(),
  how: BindingKind,
  /** The check-in whose report was bound (the evidence). */
  checkinId: z.number().int().nullable(),
})
export type BoundIdentity = z.infer<typeof BoundIdentity>

export const IdentityField = z.enum(['sshHostKeys', 'serial', 'uuid', 'macs', 'managementIp'])
export type IdentityField = z.infer<typeof IdentityField>

/** One line of a side-by-side comparison: what Midwife trusts vs what the server reported. */
export const IdentityDifference = z.object({
  field: IdentityField,
  label: z.string(),
  trusted: z.string(),
  reported: z.string(),
})
export type IdentityDifference = z.infer<typeof IdentityDifference>

/** Why a host needs the operator, written when it moved to needs_attention. */
export const Attention = z.object({
  /** bound_elsewhere: what it reports is bound to another host, which it then is. */
  reason: z.enum(['mac_mismatch', 'identity_changed', 'address_changed', 'bound_elsewhere']),
  message: z.string(),
  /** The check-in that raised it; trusting it binds what that check-in reported. */
  checkinId: z.number().int(),
  differences: z.array(IdentityDifference),
  reported: ReportedIdentity,
})
export type Attention = z.infer<typeof Attention>

export const Suggestion = z.object({
  hostId: z.number().int(),
  name: z.string(),
  /** Why this definition may be the server: which reported value it shares. */
  by: z.enum(['mac', 'serial']),
  detail: z.string(),
})
export type Suggestion = z.infer<typeof Suggestion>

/** Whether an action is open in the host's state, and if not, the reason to show beside it. */
export const Gate = z.object({ allowed: z.boolean(), reason: z.string() })
export type Gate = z.infer<typeof Gate>

export const Nic = z.object({
  name: z.string(),
  mac: z.string(),
  driver: z.string().optional(),
  link: z.string().optional(),
  speed: z.string().optional(),
})

/** token, enrollment: sent by checkin.sh; secure_boot: read by Midwife over SSH (no client ran). */
export const CheckinKind = z.enum(['token', 'enrollment', 'secure_boot'])

export const Checkin = z.object({
  id: z.number().int(),
  /** The host this check-in is evidence for (a discovered server is a host without definition). */
  hostId: z.number().int().nullable(),
  kind: CheckinKind,
  receivedAt: Timestamp,
  /** The last time the same report arrived again; repeats are counted, not stored anew. */
  lastSeenAt: Timestamp,
  repeats: z.number().int(),
  sourceIp: z.string(),
  managementIp: z.string().nullable(),
  nics: z.array(Nic),
  bootMac: z.string().nullable(),
  serial: z.string().nullable(),
  uuid: z.string().nullable(),
  vendor: z.string().nullable(),
  model: z.string().nullable(),
  esxiVersion: z.string().nullable(),
  esxiBuild: z.string().nullable(),
  reportedHostname: z.string().nullable(),
  sshHostKeys: z.array(SshHostKey),
})
export type Checkin = z.infer<typeof Checkin>

/** What the installer's %pre (installing) or %post (installed) reported about the server. */
export const InstallEvidence = z.object({
  state: z.enum(['installing', 'installed']),
  at: Timestamp,
  /** The address the report came from. */
  sourceIp: z.string(),
  /** As the installer's secureBoot.py printed it; unknown where it has none. */
  secureBoot: z.enum(['on', 'off', 'unknown']),
  macs: z.array(z.string()),
  serial: z.string().nullable(),
  uuid: z.string().nullable(),
  /** The installer's own address (vmk0); the installed host may come up with another. */
  address: z.string().nullable(),
  /** The NIC it booted from (BOOTIF= on the installer's command line). */
  bootMac: z.string().nullable(),
  /** Whether the MACs it reported include the MAC its definition names. */
  macMatches: z.boolean(),
})
export type InstallEvidence = z.infer<typeof InstallEvidence>

/** The steps of the Secure Boot path, in order. */
export const SecureBootStep = z.enum(['wait_https', 'vsphere', 'ssh', 'identity'])
export type SecureBootStep = z.infer<typeof SecureBootStep>

/**
 * Where the Secure Boot path stands for an installed host: %firstboot does not run with
 * Secure Boot on, so Midwife waits for the host's API on 443, turns SSH on through it, and
 * reads the identity over SSH itself.
 */
export const SecureBootPath = z.object({
  status: z.enum(['running', 'failed', 'done']),
  /** The step running, failed, or last done. */
  step: SecureBootStep,
  /** What happened, in words; for a failure, what to do about it. */
  message: z.string(),
  at: Timestamp,
  /** Where Midwife reaches the host: the address %post reported. */
  address: z.string(),
  /** The host's TLS certificate, pinned on first contact (it is self-signed). */
  certificate: z
    .object({ sha256: z.string(), pinnedAt: Timestamp, how: z.literal('first_contact') })
    .nullable(),
  /** How many times the path was started for this install. */
  attempts: z.number().int(),
})
export type SecureBootPath = z.infer<typeof SecureBootPath>

export const Host = z.object({
  id: z.number().int().positive(),
  /** The FQDN of a defined host; for a discovered server, what it can be told apart by. */
  name: z.string(),
  state: HostState,
  /** Why the host is in its state, in words (the audit log has the history). */
  stateReason: z.string().nullable(),
  stateChangedAt: Timestamp,
  /** Null for a discovered server that no definition claims yet. */
  definition: HostDefinition.nullable(),
  /** The spec it is configured to: site profile, its own values, its identity. */
  resolved: z.array(ResolvedValue),
  /** What Midwife trusts this server to be; SSH connects only to this address and these keys. */
  identity: BoundIdentity.nullable(),
  attention: Attention.nullable(),
  lastCheckin: Checkin.nullable(),
  /** What its installer reported last (%pre, %post); null until one reports. */
  install: InstallEvidence.nullable(),
  /** The Secure Boot path after its install; null when it does not apply or has not started. */
  secureBootPath: SecureBootPath.nullable(),
  /** Whether its per-MAC netboot files start the installer (false: they boot the local disk). */
  netbootArmed: z.boolean(),
  /** Definitions a discovered server may be (by MAC or serial). */
  suggestions: z.array(Suggestion),
  approve: Gate,
  /** Its current run: the latest since it was last re-armed for a reinstall (none after one). */
  lastRunId: z.number().int().nullable(),
  /**
   * A configured host's settings whose wanted value now differs from what its current run
   * applied: what approving it again would change. Empty otherwise.
   */
  waiting: z.array(z.object({ key: z.string(), title: z.string() })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Host = z.infer<typeof Host>

/** How long a DHCP lease lasts: a minute to a week, half a day unless set. */
const LEASE = 'a lease is a whole number of seconds from 60 to 604800 (a week)'
export const LeaseSeconds = z
  .number({ message: LEASE })
  .int(LEASE)
  .min(60, LEASE)
  .max(7 * 86400, LEASE)
  .default(43200)

/** '' or an IPv4 address, for optional form fields. */
const OptionalIpv4 = z.union([z.literal(''), Ipv4], {
  message: 'must be an IPv4 address like 10.0.0.2, or empty',
})

/**
 * What the DHCP configuration Midwife generates needs to know about the
 * provisioning network. Midwife does not run DHCP; the site's server does.
 */
export const DhcpFacts = z.object({
  /** The provisioning subnet as network/prefix, like 10.0.0.0/24; empty: no DHCP configs. */
  subnet: z
    .string()
    .trim()
    .refine((s) => {
      if (s === '') return true
      const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(s)
      return !!m && Ipv4.safeParse(m[1]).success && Number(m[2]) >= 8 && Number(m[2]) <= 30
    }, 'must be a subnet like 10.0.0.0/24 (prefix 8 to 30), or empty')
    .default(''),
  /** First and last address the DHCP server hands out (full DHCP only; proxy DHCP needs none). */
  rangeStart: OptionalIpv4.default(''),
  rangeEnd: OptionalIpv4.default(''),
  router: OptionalIpv4.default(''),
  dnsServers: z.array(ipv4).max(8, 'at most 8 DNS servers').default([]),
  leaseSeconds: LeaseSeconds,
  /** The site's TFTP server (next-server); empty: this machine's advertised address. */
  tftpServer: OptionalIpv4.default(''),
  /** PXE clients get iPXE first (undionly.kpxe, snponly.efi), which then fetches Midwife's menu. */
  chainIpxe: z.boolean().default(false),
})
export type DhcpFacts = z.infer<typeof DhcpFacts>

/** How servers boot the installer from this site: the media library and the network facts. */
export const BootSettings = z.object({
  /**
   * The media library: for each ESXi version, the folder on this machine an
   * ISO was extracted to (empty: none). Checked when saved.
   */
  media: z
    .object({
      '7.0': z.string().trim().max(1024).default(''),
      '8.0': z.string().trim().max(1024).default(''),
      '9.0': z.string().trim().max(1024).default(''),
    })
    .default({ '7.0': '', '8.0': '', '9.0': '' }),
  /** The version hosts without their own install; empty: the newest in the library. */
  defaultVersion: z.union([z.literal(''), EsxiVersion]).default(''),
  /** The folder under the site's TFTP root for mboot.efi, the per-MAC folders and the ISOs. */
  tftpBootDir: z
    .string()
    .trim()
    .regex(
      /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/,
      'must be a folder under the TFTP root, like esxi (no leading /, no ..)',
    )
    .default('esxi'),
  /**
   * Servers no definition names install ESXi (erasing their first disk) and
   * enroll with PBHOST from the generic menus; off: those menus boot the local disk.
   */
  installUnknown: z.boolean().default(false),
  /** Hosts boot with UEFI Secure Boot unless their definition says otherwise. */
  secureBootExpected: z.boolean().default(false),
  /**
   * An https:// URL that serves the listener's /boot and /media (a TLS front
   * with a certificate from a CA enrolled in the firmware), for UEFI HTTP boot
   * on firmware that refuses plain http://. Empty: none.
   */
  httpsBootBaseUrl: z
    .string()
    .trim()
    .max(512)
    .refine((s) => s === '' || /^https:\/\/[^\s/]+(\/\S*)?$/.test(s), 'must be an https:// URL')
    .transform((s) => s.replace(/\/+$/, ''))
    .default(''),
  /** The site's UEFI firmware is set to refuse plain http:// boot URLs. */
  firmwareHttpsOnly: z.boolean().default(false),
  dhcp: DhcpFacts.default(DhcpFacts.parse({})),
})
export type BootSettings = z.infer<typeof BootSettings>
export type BootSettingsInput = z.input<typeof BootSettings>

const LISTENER_HOST = 'must be an IPv4 address of this machine, 0.0.0.0, or a host name'
const ADVERTISED = 'must be host or host:port, like 10.0.0.5 or 10.0.0.5:8080 (no http://)'

/** host[:port], the host checked by `host`, the port up to 65535 from `lowestPort`; empty: derived. */
const advertisedAddress = (host: z.ZodType<string>, lowestPort: number) =>
  z
    .string()
    .trim()
    .refine((s) => {
      if (s === '') return true
      const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(s)
      const port = m?.[2] === undefined ? 80 : Number(m[2])
      return !!m && host.safeParse(m[1]).success && port >= lowestPort && port <= 65535
    }, ADVERTISED)

export const Settings = z.object({
  /** Address the check-in listener binds to on this machine (0.0.0.0: every interface). */
  listenerHost: storedHostOrAddress(LISTENER_HOST),
  listenerPort: z
    .number()
    .int()
    .min(1, 'must be a port from 1 to 65535')
    .max(65535, 'must be a port from 1 to 65535'),
  /** host[:port] the ESXi hosts use to reach the listener; empty = derived from this machine. */
  advertisedAddress: advertisedAddress(storedHostOrAddress(ADVERTISED), 0),
  /**
   * Where the media library's versions are served from, when not by the
   * listener: each version at <url>/<version> (a site's own web server).
   * Empty: the listener serves them at /media/<version>.
   */
  mediaBaseUrl: z
    .string()
    .trim()
    .max(512)
    .refine(
      (s) => s === '' || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(s),
      'must be an http:// or https:// URL',
    ),
  /**
   * Let a discovered server claim a definition by itself when exactly one
   * unbound definition has one of its MACs. Off by default: the operator assigns.
   */
  autoMatch: z.boolean().default(false),
  boot: BootSettings.default(BootSettings.parse({})),
  /**
   * Configuration runs at once. High by default: a rack of 200 is configured
   * in one go, each run waiting mostly on its own host, not on Midwife.
   */
  runConcurrency: z
    .number()
    .int()
    .min(1, 'at least one run at a time')
    .max(1000, 'at most 1,000 runs at a time')
    .default(200),
})
export type Settings = z.infer<typeof Settings>

const ipNumber = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)

/**
 * The DHCP facts as an operator saves them: each address the DHCP server hands out or routes
 * through lies in the provisioning subnet, and the range runs forwards. Checked on input only,
 * so settings stored before this check still load.
 */
const DhcpFactsInput = DhcpFacts.superRefine((d, ctx) => {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(d.subnet)
  if (!m) return
  const size = 2 ** (32 - Number(m[2]))
  const network = ipNumber(m[1] as string) - (ipNumber(m[1] as string) % size)
  if (network !== ipNumber(m[1] as string)) {
    const subnet = `${bounds(m[1] as string, Number(m[2])).network}/${m[2]}`
    ctx.addIssue({
      code: 'custom',
      path: ['subnet'],
      message: `${m[1]} is a host address in ${subnet}: the subnet is ${subnet}`,
    })
    return
  }
  const inside = (ip: string) => {
    const n = ipNumber(ip)
    return n > network && n < network + size - 1
  }
  for (const key of ['rangeStart', 'rangeEnd', 'router'] as const) {
    const ip = d[key]
    if (ip !== '' && !inside(ip)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `${ip} is not a host address in the provisioning subnet ${d.subnet}`,
      })
    }
  }
  if ((d.rangeStart === '') !== (d.rangeEnd === '')) {
    ctx.addIssue({
      code: 'custom',
      path: [d.rangeStart === '' ? 'rangeStart' : 'rangeEnd'],
      message: 'give both ends of the range, or neither',
    })
  } else if (d.rangeStart !== '' && ipNumber(d.rangeEnd) < ipNumber(d.rangeStart)) {
    ctx.addIssue({
      code: 'custom',
      path: ['rangeEnd'],
      message: `the range ends (${d.rangeEnd}) before it starts (${d.rangeStart})`,
    })
  }
})

export const SettingsInput = z.strictObject({
  ...Settings.shape,
  /** Checked as typed: a stored value from before a name needed a letter at its end still loads. */
  listenerHost: hostOrAddress(LISTENER_HOST),
  advertisedAddress: advertisedAddress(hostOrAddress(ADVERTISED), 1),
  /** Left out: the stored boot settings are kept. Media folders are checked before saving. */
  boot: BootSettings.extend({ dhcp: DhcpFactsInput.default(DhcpFacts.parse({})) }).optional(),
  /** Left out: the stored value is kept (a screen that does not show it cannot reset it). */
  runConcurrency: Settings.shape.runConcurrency.removeDefault().optional(),
  /** Write-only: the root password the generic kickstart installs on unknown servers. */
  discoveryRootPassword: installPassword,
})
export type SettingsInput = z.input<typeof SettingsInput>

/** One boot kind (PXELINUX, UEFI PXE, UEFI HTTP, iPXE, ISO, one-liner, PBHOST) and whether it applies. */
export const BootKindReport = z.object({
  id: z.string(),
  label: z.string(),
  firmware: z.enum(['bios', 'uefi', 'any']),
  description: z.string(),
  applies: z.boolean(),
  /** Why it does not apply (no media with its loader, a per-host kind without a host). */
  reason: z.string().nullable(),
  /** Whether its artifacts are in this material (every kind is, unless some were chosen). */
  chosen: z.boolean(),
  warnings: z.array(z.string()),
})
export type BootKindReport = z.infer<typeof BootKindReport>

/** A file a server fetches, or a line an operator types, rendered by a boot kind. */
export const BootArtifact = z.object({
  /** The boot kind that rendered it, or 'kickstart'. */
  kind: z.string(),
  /** host: changes with the host (carries its token); generic: what unknown servers get. */
  scope: z.enum(['host', 'generic']),
  title: z.string(),
  /**
   * tftp: put it at `path` under the site's TFTP root (it is in the bundle);
   * http: the listener serves it at `url`; console: a line the operator types or pastes.
   */
  delivery: z.enum(['tftp', 'http', 'console']),
  path: z.string(),
  /** The name to save it as. */
  fileName: z.string(),
  url: z.string().nullable(),
  /** Null for a file copied as it is from the media (mboot.efi, crypto64.efi). */
  text: z.string().nullable(),
  syntax: z.enum(['pxelinux', 'boot.cfg', 'ipxe', 'shell', 'boot-options', 'kickstart']).nullable(),
  /** For a file copied from the media: which version, which file. */
  media: z.object({ version: EsxiVersion, file: z.string() }).nullable(),
  /** Substrings to mask on screen (tokens, the enrollment key, the password hash). */
  secrets: z.array(z.string()),
})
export type BootArtifact = z.infer<typeof BootArtifact>

/** A linter finding: one line, naming the fix. */
export const BootFinding = z.object({
  code: z.string(),
  severity: z.enum(['error', 'warning']),
  /** The artifact (path or URL) it is about, if one. */
  where: z.string().nullable(),
  message: z.string(),
})
export type BootFinding = z.infer<typeof BootFinding>

export const DHCP_FLAVOURS = ['dnsmasq', 'dnsmasq-proxy', 'isc-dhcpd', 'kea', 'windows'] as const
export const DhcpFlavour = z.enum(DHCP_FLAVOURS)
export type DhcpFlavour = z.infer<typeof DhcpFlavour>

/** Configuration for the site's DHCP server, one flavour. */
export const DhcpFile = z.object({
  flavour: DhcpFlavour,
  title: z.string(),
  fileName: z.string(),
  /** Null when it cannot be generated; `problem` says why. */
  text: z.string().nullable(),
  problem: z.string().nullable(),
  warnings: z.array(z.string()),
})
export type DhcpFile = z.infer<typeof DhcpFile>

/** What the boot kinds render for one host (or for unknown servers), checked by the linter. */
const BootFiles = {
  kinds: z.array(BootKindReport),
  artifacts: z.array(BootArtifact),
  /** The linter's findings: errors first. */
  findings: z.array(BootFinding),
  dhcp: z.array(DhcpFile),
}

/** Which boot kinds to render (all that apply when left out). */
export const BootMaterialOptions = z.strictObject({
  kinds: z.array(z.string().max(64)).max(16).optional(),
})
export type BootMaterialOptions = z.input<typeof BootMaterialOptions>

/** Boot material for servers no definition names yet: the site enrollment key and its lines. */
export const DiscoveryMaterial = z.object({
  /** PBHOST=<listener host:port> PBKEY=<enrollment key>, for any boot line. */
  bootOptions: z.string(),
  /** The generic kickstart for unknown servers (its %firstboot checks in with the key). */
  kickstartUrl: z.string(),
  /** Null until a discovery root password is set under Site. */
  kickstart: z.string().nullable(),
  hasRootPassword: z.boolean(),
  /** One is stored, but the key that sealed it is gone (secret.key lost): enter it again. */
  rootPasswordUnreadable: z.boolean(),
  /** What the install does to disks, in plain words (it erases one). */
  erases: z.string(),
  secrets: z.array(z.string()),
  warnings: z.array(z.string()),
  ...BootFiles,
})
export type DiscoveryMaterial = z.infer<typeof DiscoveryMaterial>

/**
 * A server no definition names that the generic kickstart installed (its %post reported
 * `installed`): its per-MAC HTTP boot files boot the local disk until the operator forgets it.
 */
export const GenericInstall = z.object({
  /** The NIC it booted from (BOOTIF=): the MAC whose per-MAC files boot the disk. */
  bootMac: z.string(),
  /** When the last report came. */
  installedAt: Timestamp,
  sourceIp: z.string(),
  macs: z.array(z.string()),
  serial: z.string().nullable(),
  uuid: z.string().nullable(),
  /** Reports after the first (a %post retried, or the server installed again). */
  repeats: z.number().int(),
  /** The host a definition with this MAC names, whose own state rules its files instead; or null. */
  definedAs: z.string().nullable(),
})
export type GenericInstall = z.infer<typeof GenericInstall>

/** The site profile: default values for any setting, and the install options. */
export const Profile = z.object({
  spec: z.record(z.string(), z.unknown()),
  secretsSet: z.array(z.string()),
  install: InstallOptions,
})
export type Profile = z.infer<typeof Profile>

export const ProfileInput = z.strictObject({
  spec: SiteProfile.default({}),
  install: InstallOptions.default({
    disk: { kind: 'first', types: ['local'] },
    overwriteVmfs: false,
    allowLegacyCpu: false,
  }),
  clearSecrets: ClearSecrets,
})
export type ProfileInput = z.input<typeof ProfileInput>

/** What saving a profile changes: the hosts whose resolved spec differs, and in which settings. */
export const ProfileImpact = z.object({
  profile: Profile,
  changes: z.array(
    z.object({ hostId: z.number().int(), name: z.string(), keys: z.array(z.string()) }),
  ),
  /** Hosts this profile would leave inconsistent; saving is refused while there are any. */
  problems: z.array(z.object({ hostId: z.number().int(), name: z.string(), message: z.string() })),
})
export type ProfileImpact = z.infer<typeof ProfileImpact>

export const PlanItem = z.object({
  key: z.string(),
  title: z.string(),
  group: z.string(),
  source: z.enum(['site', 'host', 'identity']),
  /**
   * unsupported: the host's own value this release refuses (the plan cannot be approved);
   * skipped: a site-profile value this release refuses, left out of this host's run.
   */
  status: z.enum(['change', 'same', 'unsupported', 'skipped']),
  current: z.string(),
  wanted: z.string(),
  /** Each change in words, with its exact commands (secrets masked). */
  changes: z.array(z.object({ summary: z.string(), commands: z.array(z.string()) })),
  note: z.string().nullable(),
})
export type PlanItem = z.infer<typeof PlanItem>

/** What a run would do on a host, read from the host itself before anything changes. */
export const Plan = z.object({
  id: z.string(),
  hostId: z.number().int(),
  hostName: z.string(),
  address: z.string(),
  esxiVersion: z.string().nullable(),
  createdAt: Timestamp,
  items: z.array(PlanItem),
  /** Write commands the plan would run (0: nothing to change). */
  writes: z.number().int(),
  /** Why this plan cannot be approved (an unsupported setting), or null. */
  blocked: z.string().nullable(),
})
export type Plan = z.infer<typeof Plan>

/** A request from the provisioning network the listener refused, as the operator sees it. */
export const RefusedRequest = z.object({
  at: Timestamp,
  /** The source address. */
  from: z.string(),
  status: z.number().int(),
  what: z.enum(['check-in', 'install report', 'kickstart', 'client']),
  /** The listener's reason (never a token: paths are redacted, bodies not quoted). */
  reason: z.string(),
})
export type RefusedRequest = z.infer<typeof RefusedRequest>

export const ListenerStatus = z.object({
  listening: z.boolean(),
  address: z.string().nullable(),
  advertisedUrl: z.string(),
  error: z.string().nullable(),
  /** The address was fixed by --listen for this run; saved settings apply at the next start. */
  fixedByCommandLine: z.boolean(),
  /**
   * Check-ins, install reports and kickstart or client fetches refused since Midwife started
   * (a wrong key, a spent token, a malformed report): how many, and the latest few, newest first.
   */
  refused: z.object({ count: z.number().int(), recent: z.array(RefusedRequest) }),
})
export type ListenerStatus = z.infer<typeof ListenerStatus>

/** Where `backupDataFolder` writes: a new or empty folder, by its full path on this machine. */
export const BackupRequest = z.strictObject({
  to: z
    .string()
    .trim()
    .min(1, 'give the folder to write the backup into')
    .max(4096)
    .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), {
      message: 'give the full path of the folder, like /home/me/midwife-backup',
    }),
})
export type BackupRequest = z.infer<typeof BackupRequest>

/** A folder the operator picked in the desktop app's native dialog; null when cancelled. */
export const ChosenFolder = z.object({ path: z.string().nullable() })
export type ChosenFolder = z.infer<typeof ChosenFolder>

/** What a backup wrote and how to restore it, line by line. */
export const BackupResult = z.object({ lines: z.array(z.string()) })
export type BackupResult = z.infer<typeof BackupResult>

export const Status = z.object({
  version: z.string(),
  listener: ListenerStatus,
  secretStorage: z.string(),
  /**
   * Set when secret.key was missing at start and a new one was made while the
   * database held secrets sealed with the old one: what cannot be opened and what to do.
   */
  secretWarning: z.string().nullable(),
})
export type Status = z.infer<typeof Status>

export const BootMaterial = z.object({
  hostId: z.number().int(),
  kickstartUrl: z.string(),
  /** What the install does to disks, in plain words (it erases one). */
  erases: z.string(),
  /** Whether its per-MAC files start the installer; false once installed (Reinstall re-arms). */
  armed: z.boolean(),
  /**
   * Null while its deployment token works. Otherwise (configured, or replaced)
   * what the listener answers its URLs with, a 410: nothing below works until
   * Reinstall re-arms the host.
   */
  tokenRefused: z.string().nullable(),
  /** Substrings that are secret (token, password hash): the UI masks them until revealed. */
  secrets: z.array(z.string()),
  warnings: z.array(z.string()),
  ...BootFiles,
})
export type BootMaterial = z.infer<typeof BootMaterial>

/** One version of the media library as checked on disk just now. */
export const MediaStatus = z.object({
  version: EsxiVersion,
  /** The folder as set under Site. */
  path: z.string(),
  ok: z.boolean(),
  /** build= from its boot.cfg, like 8.0.2-0.0.22380479. */
  build: z.string().nullable(),
  files: z.object({ mbootC32: z.boolean(), bootx64Efi: z.boolean(), crypto64Efi: z.boolean() }),
  /** Files its boot.cfg loads that the folder lacks. */
  missing: z.array(z.string()),
  /** One line each, naming the fix. */
  problems: z.array(z.string()),
  /** Where servers fetch it over HTTP. */
  url: z.string(),
})
export type MediaStatus = z.infer<typeof MediaStatus>

/** The TFTP-side files as a .tar.gz: for a host (and the generic files) or for unknown servers only. */
export const TftpBundleRequest = z.strictObject({
  hostId: z.number().int().positive().nullable(),
  kinds: z.array(z.string().max(64)).max(16).optional(),
  /**
   * Also copy each needed ISO under its TFTP folder (UEFI PXE and PXELINUX
   * load the installer over TFTP): hundreds of megabytes.
   */
  includeMedia: z.boolean().default(false),
})
export type TftpBundleRequest = z.input<typeof TftpBundleRequest>

export const ExportedFile = z.object({
  /** Where it was written on this machine. */
  path: z.string(),
  bytes: z.number().int(),
})
export type ExportedFile = z.infer<typeof ExportedFile>

export const StepState = z.enum([
  'pending',
  'running',
  'done',
  'failed',
  'skipped',
  'interrupted',
  'cancelled',
])
export type StepState = z.infer<typeof StepState>

export const RunState = z.enum(['queued', 'running', 'done', 'failed', 'interrupted', 'cancelled'])
export type RunState = z.infer<typeof RunState>

/** A step without its output: what an event carries when a step changes. */
export const StepDelta = z.object({
  runId: z.number().int(),
  id: z.number().int(),
  seq: z.number().int(),
  key: z.string(),
  title: z.string(),
  state: StepState,
  error: z.string().nullable(),
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
})
export type StepDelta = z.infer<typeof StepDelta>

/** A piece of a step's output, numbered in the order it was written (numbers grow run-wide). */
export const OutputChunk = z.object({
  runId: z.number().int(),
  stepId: z.number().int(),
  /** The first and last sequence numbers this chunk holds (chunks sent together are merged). */
  firstSeq: z.number().int(),
  seq: z.number().int(),
  text: z.string(),
})
export type OutputChunk = z.infer<typeof OutputChunk>

/** A step with its output, as a whole run carries it. */
export const Step = StepDelta.omit({ runId: true }).extend({ output: z.string() })
export type Step = z.infer<typeof Step>

/** A run without its steps and output: what lists and events carry. */
export const RunHeader = z.object({
  id: z.number().int(),
  /** The check-in whose identity the approval trusted. */
  checkinId: z.number().int().nullable(),
  hostId: z.number().int().nullable(),
  hostName: z.string().nullable(),
  target: z.string(),
  state: RunState,
  error: z.string().nullable(),
  /** 1, then one more each time the run is resumed or a failed step retried. */
  attempts: z.number().int(),
  /** The bulk approval it was part of; null for a run approved on its own. */
  batchId: z.string().nullable(),
  /**
   * When its host was re-armed for a reinstall after it: the run configured an
   * earlier installation and is history, not the host's current run.
   */
  supersededAt: Timestamp.nullable(),
  /**
   * Why Retry of this failed run is refused, or null: its last failure is one the
   * values approved with it cannot get past (a refused management move), so Retry
   * would fail the same way. The text says what to change and where.
   */
  retryRefused: z.string().nullable(),
  /** Its steps, and how many of them are done or skipped (a progress bar, without the steps). */
  stepsTotal: z.number().int(),
  stepsDone: z.number().int(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
})
export type RunHeader = z.infer<typeof RunHeader>

export const HostPage = z.object({
  hosts: z.array(Host),
  /** More hosts exist after the last one listed. */
  more: z.boolean(),
})
export type HostPage = z.infer<typeof HostPage>

export const RunPage = z.object({
  runs: z.array(RunHeader),
  /** More runs exist before the last one listed. */
  more: z.boolean(),
})
export type RunPage = z.infer<typeof RunPage>

/** A whole run: its header, the plan it executes, its steps and their output. */
export const Run = RunHeader.extend({
  /** The sequence number of the newest output included (0: none yet). */
  outputSeq: z.number().int(),
  /** The plan the operator approved: what it showed, item by item. */
  plan: z.array(PlanItem),
  steps: z.array(Step),
})
export type Run = z.infer<typeof Run>

// ---- host batches: CSV import and export, clone, generate ------------------

/** A file for the operator to save: a CSV export or template, a host report. */
export const DownloadFile = z.object({
  filename: z.string(),
  contentType: z.string(),
  content: z.string(),
})
export type DownloadFile = z.infer<typeof DownloadFile>

/** A CSV file's text, as read from disk by the UI. */
export const CsvText = z
  .string()
  .max(4_000_000, 'the file is over 4 MB; split it into several imports')
  .refine((s) => s.trim() !== '', 'the file is empty')

export const CsvImportOptions = z.strictObject({
  /**
   * Write-only: the root password for new hosts whose root_password cell is
   * empty (an export leaves every one empty). Existing hosts keep theirs.
   */
  rootPassword: installPassword,
})
export type CsvImportOptions = z.input<typeof CsvImportOptions>

/** Something wrong with a file, a row or a cell, said where and in plain words. */
export const BatchProblem = z.object({
  /** The file's line (a CSV row's first line); null for a generated host or the whole file. */
  line: z.number().int().nullable(),
  /** The batch row it belongs to (1-based), or null for the whole file. */
  row: z.number().int().nullable(),
  /** The column (CSV) or field it is about, when there is one. */
  column: z.string().nullable(),
  kind: z.enum(['syntax', 'header', 'required', 'value', 'collision']),
  /** The whole sentence, with where: `Line 4, column C (mac): ...`. */
  message: z.string(),
})
export type BatchProblem = z.infer<typeof BatchProblem>

export const BatchAction = z.enum(['create', 'update', 'unchanged', 'refused'])
export type BatchAction = z.infer<typeof BatchAction>

/** One host of a batch as it would be stored. */
export const BatchRow = z.object({
  row: z.number().int(),
  line: z.number().int().nullable(),
  name: z.string(),
  hostname: z.string(),
  domain: z.string(),
  mac: z.string(),
  serial: z.string().nullable(),
  action: BatchAction,
  /** Why this action: which host it updates, what it collides with, or what is wrong. */
  reason: z.string(),
  /** The existing host it updates (or leaves unchanged). */
  hostId: z.number().int().nullable(),
  /**
   * given (in the row or the call), default (the import's), kept (the host it
   * updates keeps its own), copied (from the host a clone is made from), refused (one was
   * given, and ESXi's rules refuse it: the row's problems say why), or missing.
   */
  rootPassword: z.enum(['given', 'default', 'kept', 'copied', 'refused', 'missing']),
  /** The spec it is configured to: the site profile underneath, its own values on top. */
  resolved: z.array(ResolvedValue),
})
export type BatchRow = z.infer<typeof BatchRow>

/** What an import (or a generation) would do; nothing is stored yet. */
export const BatchPreview = z.object({
  rows: z.array(BatchRow),
  /** Every problem, in file order; any one refuses the whole batch. */
  problems: z.array(BatchProblem),
  counts: z.object({
    rows: z.number().int(),
    create: z.number().int(),
    update: z.number().int(),
    unchanged: z.number().int(),
    refused: z.number().int(),
  }),
  /** True when there is no problem: the batch commits as shown. */
  ready: z.boolean(),
  /** Things to know that do not stop the import (secrets are never exported...). */
  notes: z.array(z.string()),
  /**
   * A digest of everything above. Given back with the import, it makes the
   * import refuse if the batch would now do anything other than this preview
   * showed (another tab saved a host in between, the profile changed...).
   */
  digest: z.string(),
})
export type BatchPreview = z.infer<typeof BatchPreview>

export const BatchResult = z.object({
  created: z.array(z.number().int()),
  updated: z.array(z.number().int()),
  unchanged: z.number().int(),
})
export type BatchResult = z.infer<typeof BatchResult>

/** A new host from an existing one: its settings, a new identity. */
export const CloneInput = z.strictObject({
  hostname: HostLabel,
  domain: DomainName.optional(),
  mac: NicMac,
  serial: SerialNumber.optional(),
  /** Values for the clone that replace the source's (its own addresses, typically). */
  spec: HostSpec.default({}),
  /** Write-only; the source's password when omitted. */
  rootPassword: installPassword,
})
export type CloneInput = z.input<typeof CloneInput>

export const GenerateInput = z.strictObject({
  /** Host names with one zero-padded range: esx{01..24}, rack2-esx{1..8}-a. */
  pattern: z.string().trim().min(1, 'a name pattern like esx{01..24} is needed').max(200),
  domain: DomainName,
  /** The first host's MAC; each next host gets the next MAC. */
  firstMac: NicMac.optional(),
  /** One MAC per host, in order (an asset list), instead of firstMac. */
  macs: z.array(NicMac).max(1000).optional(),
  /**
   * The first management address with its prefix (10.0.0.11/24); each next
   * host gets the next free one, skipping addresses any host or VMkernel NIC uses.
   */
  firstIp: ipv4Prefix.optional(),
  /** A host whose own values every new host starts from (not its addresses). */
  from: z.number().int().positive().optional(),
  /** Values every new host gets, over the template's. */
  spec: HostSpec.default({}),
  sshUser: z.string().trim().min(1).max(64).optional(),
  sshPort: SshPort.optional(),
  /** Write-only; the template's password when omitted. */
  rootPassword: installPassword,
})
export type GenerateInput = z.input<typeof GenerateInput>

// ---- audit ------------------------------------------------------------------

/** One entry of the audit log, chained to the one before it. */
export const AuditEntry = z.object({
  id: z.number().int(),
  at: Timestamp,
  type: z.string(),
  subject: z.string().nullable(),
  /** What happened and who did it, in words. */
  summary: z.string(),
  data: z.unknown(),
  hash: z.string(),
})
export type AuditEntry = z.infer<typeof AuditEntry>

export const AuditVerification = z.object({
  ok: z.boolean(),
  /** Entries that check out, from the first. */
  entries: z.number().int(),
  /** The last good entry and its hash: note it in a ticket to detect a truncated log later. */
  head: z.object({ id: z.number().int(), hash: z.string() }).nullable(),
  firstBroken: z
    .object({
      id: z.number().int(),
      at: Timestamp,
      type: z.string(),
      subject: z.string().nullable(),
      reason: z.string(),
    })
    .nullable(),
  message: z.string(),
})
export type AuditVerification = z.infer<typeof AuditVerification>

export const ReportFormat = z.enum(['html', 'json'], { message: 'a report is html or json' })
export type ReportFormat = z.infer<typeof ReportFormat>

// ---- bulk approval ---------------------------------------------------------

/** One host of a bulk approval, planned: what its run would do, or why it cannot run. */
export const HostPlanSummary = z.object({
  hostId: z.number().int(),
  name: z.string(),
  /** The plan to approve; null when the host could not be planned. */
  planId: z.string().nullable(),
  address: z.string().nullable(),
  /** Settings the run would change. */
  changes: z.number().int(),
  /** Commands that would change the host. */
  writes: z.number().int(),
  /** Settings Midwife cannot set on this host (the plan says why). */
  unsupported: z.number().int(),
  /** Why the plan cannot be approved (planned, but refused), or null. */
  blocked: z.string().nullable(),
  /** Why the host could not be planned at all (its state, SSH), or null. */
  problem: z.string().nullable(),
  /** The settings that would change, by title. */
  changing: z.array(z.string()),
})
export type HostPlanSummary = z.infer<typeof HostPlanSummary>

/** Plans for several hosts at once, summed up per host and per setting. */
export const PlanSummaries = z.object({
  hosts: z.array(HostPlanSummary),
  /**
   * Per setting: on how many hosts it changes, is already right, is left out (a site value the
   * host's release refuses), or cannot be set.
   */
  settings: z.array(
    z.object({
      key: z.string(),
      title: z.string(),
      change: z.number().int(),
      same: z.number().int(),
      skipped: z.number().int(),
      unsupported: z.number().int(),
    }),
  ),
  totals: z.object({
    /** Hosts that can be approved and would change. */
    changes: z.number().int(),
    /** Hosts that can be approved with nothing to change (the run only verifies). */
    nothing: z.number().int(),
    /** Hosts that cannot be approved: not planned, or the plan is blocked. */
    cannot: z.number().int(),
  }),
})
export type PlanSummaries = z.infer<typeof PlanSummaries>

export const BulkApproval = z.object({
  /** The batch the new runs belong to; null when none was queued. */
  batchId: z.string().nullable(),
  runs: z.array(RunHeader),
  refused: z.array(z.object({ hostId: z.number().int(), name: z.string(), message: z.string() })),
})
export type BulkApproval = z.infer<typeof BulkApproval>

/** Several runs resumed or cancelled in one call: those acted on, and those refused with why. */
export const BulkRuns = z.object({
  /** The runs resumed or cancelled, as they stand after the call. */
  runs: z.array(RunHeader),
  refused: z.array(
    z.object({
      runId: z.number().int(),
      hostId: z.number().int().nullable(),
      name: z.string(),
      message: z.string(),
    }),
  ),
})
export type BulkRuns = z.infer<typeof BulkRuns>

/** Something to tell the operator now (a desktop or browser notification). */
export const Notice = z.object({
  kind: z.enum(['checkin', 'run_failed', 'batch_done']),
  title: z.string(),
  body: z.string(),
  hostId: z.number().int().nullable(),
})
export type Notice = z.infer<typeof Notice>
