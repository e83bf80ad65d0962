// Shapes that cross a boundary (IPC, HTTP, disk). Pure: imported by main,
// preload and renderer alike, so no node:, electron or DOM imports here.
import { z } from 'zod'

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

export const Ipv4 = z.ipv4({ message: 'must be an IPv4 address like 10.0.0.2' })

export const HostLabel = z
  .string()
  .trim()
  .regex(
    HOST_LABEL,
    'must be letters, digits and hyphens (1-63), not starting or ending with a hyphen',
  )

export const DomainName = z
  .string()
  .trim()
  .max(253)
  .refine(
    (s) => s.split('.').every((l) => HOST_LABEL.test(l)),
    'must be a DNS domain like lab.local',
  )

/** An IPv4 address or a DNS name; `message` says which one this field wants. */
const hostOrAddress = (message: string) => z.union([Ipv4, DomainName], { message })

const HostOrAddress = hostOrAddress('must be an IPv4 address or a DNS name')

/** An NTP server: an IPv4 address or a DNS name (ESXi refuses names it cannot resolve). */
export const NtpServer = HostOrAddress

export const Timestamp = z.string()

export const HostInput = z.object({
  id: z.number().int().positive().optional(),
  hostname: HostLabel,
  domain: DomainName,
  mac: Mac,
  dnsServers: z.array(Ipv4).min(1, 'add at least one DNS server').max(8),
  ntpServers: z.array(NtpServer).min(1, 'add at least one NTP server').max(8),
  sshUser: z.string().trim().min(1).max(64).default('root'),
  sshPort: z.number().int().min(1).max(65535).default(22),
  /** Write-only. Omit when editing a host to keep the stored password. */
  rootPassword: z.string().min(1, 'the root password is required').max(128).optional(),
})
export type HostInput = z.input<typeof HostInput>

export const Host = z.object({
  id: z.number().int().positive(),
  hostname: z.string(),
  domain: z.string(),
  mac: z.string(),
  dnsServers: z.array(z.string()),
  ntpServers: z.array(z.string()),
  sshUser: z.string(),
  sshPort: z.number().int(),
  hasPassword: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Host = z.infer<typeof Host>

export const Settings = z.object({
  /** Address the check-in listener binds to on this machine (0.0.0.0: every interface). */
  listenerHost: hostOrAddress('must be an IPv4 address of this machine, 0.0.0.0, or a host name'),
  listenerPort: z
    .number()
    .int()
    .min(1, 'must be a port from 1 to 65535')
    .max(65535, 'must be a port from 1 to 65535'),
  /** host[:port] the ESXi hosts use to reach the listener; empty = derived from this machine. */
  advertisedAddress: z
    .string()
    .trim()
    .refine((s) => {
      if (s === '') return true
      const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(s)
      return (
        !!m &&
        HostOrAddress.safeParse(m[1]).success &&
        (m[2] === undefined || Number(m[2]) <= 65535)
      )
    }, 'must be host or host:port, like 10.0.0.5 or 10.0.0.5:8080 (no http://)'),
  /** Base URL of the extracted ESXi installer media, for iPXE. */
  mediaBaseUrl: z
    .string()
    .trim()
    .max(512)
    .refine(
      (s) => s === '' || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(s),
      'must be an http:// or https:// URL',
    ),
})
export type Settings = z.infer<typeof Settings>

export const ListenerStatus = z.object({
  listening: z.boolean(),
  address: z.string().nullable(),
  advertisedUrl: z.string(),
  error: z.string().nullable(),
  /** The address was fixed by --listen for this run; saved settings apply at the next start. */
  fixedByCommandLine: z.boolean(),
})
export type ListenerStatus = z.infer<typeof ListenerStatus>

export const Status = z.object({
  version: z.string(),
  listener: ListenerStatus,
  secretStorage: z.string(),
})
export type Status = z.infer<typeof Status>

export const BootMaterial = z.object({
  hostId: z.number().int(),
  kickstartUrl: z.string(),
  kickstart: z.string(),
  pxelinuxAppend: z.string(),
  ipxeScript: z.string(),
  oneLiner: z.string(),
  /** Substrings that are secret (token, password hash): the UI masks them until revealed. */
  secrets: z.array(z.string()),
  warnings: z.array(z.string()),
})
export type BootMaterial = z.infer<typeof BootMaterial>

export const Nic = z.object({
  name: z.string(),
  mac: z.string(),
  driver: z.string().optional(),
  link: z.string().optional(),
  speed: z.string().optional(),
})

export const SshHostKey = z.object({
  type: z.string(),
  /** OpenSSH style: SHA256:<base64 without padding>. */
  fingerprint: z.string(),
})
export type SshHostKey = z.infer<typeof SshHostKey>

export const Checkin = z.object({
  id: z.number().int(),
  receivedAt: Timestamp,
  sourceIp: z.string(),
  hostId: z.number().int().nullable(),
  hostName: z.string().nullable(),
  /** How the host definition was matched, and anything the operator should know. */
  match: z.object({
    byToken: z.boolean(),
    macMatches: z.boolean(),
    note: z.string(),
  }),
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
  latestRunId: z.number().int().nullable(),
  latestRunState: z.string().nullable(),
})
export type Checkin = z.infer<typeof Checkin>

export const StepState = z.enum(['pending', 'running', 'done', 'failed', 'skipped'])
export type StepState = z.infer<typeof StepState>

export const RunState = z.enum(['queued', 'running', 'done', 'failed'])
export type RunState = z.infer<typeof RunState>

export const Step = z.object({
  id: z.number().int(),
  seq: z.number().int(),
  key: z.string(),
  title: z.string(),
  state: StepState,
  output: z.string(),
  error: z.string().nullable(),
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
})
export type Step = z.infer<typeof Step>

export const Run = z.object({
  id: z.number().int(),
  checkinId: z.number().int(),
  hostId: z.number().int().nullable(),
  hostName: z.string().nullable(),
  target: z.string(),
  state: RunState,
  error: z.string().nullable(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  steps: z.array(Step),
})
export type Run = z.infer<typeof Run>
