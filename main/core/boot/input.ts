// The one input every boot kind renders from, and the shape of what it
// renders. Pure: no node: imports, so the same code can run anywhere the
// core runs and the tests need nothing but strings.
import { z } from 'zod'
import { DomainName, EsxiVersion, HostLabel, Ipv4, Mac } from '../../contract/schemas'

export { ESXI_VERSIONS, EsxiVersion } from '../../contract/schemas'

const HttpUrl = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http:// or https:// URL')
  .transform((s) => s.replace(/\/+$/, ''))

/** A path relative to the TFTP root: no leading slash, no `..`, no backslash. */
const TftpDir = z
  .string()
  .trim()
  .regex(
    /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/,
    'must be a folder under the TFTP root, like esxi/8.0 (no leading /, no ..)',
  )
  .transform((s) => s.replace(/\/+$/, ''))

/** Static addressing for the installer, used when the provisioning VLAN has no DHCP. */
export const InstallerNetwork = z.object({
  ip: Ipv4,
  netmask: Ipv4,
  gateway: Ipv4,
  nameserver: Ipv4.optional(),
  vlanId: z.number().int().min(1).max(4094).optional(),
  /** vmnic name or MAC of the NIC the installer uses; defaults to the host's MAC. */
  netdevice: z
    .string()
    .trim()
    .regex(/^(vmnic\d+|([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2})$/, 'must be vmnicN or a MAC')
    .optional(),
})
export type InstallerNetwork = z.infer<typeof InstallerNetwork>

/** Kernel options an install needs besides ks= (allowLegacyCPU=true): key or key=value. */
const BootOptions = z
  .array(z.string().regex(/^[A-Za-z][\w.-]*(=\S+)?$/, 'must be a kernel option like key=value'))
  .max(16)
  .default([])

export const BootHost = z.object({
  hostname: HostLabel,
  domain: DomainName,
  mac: Mac,
  /** The deployment token: part of the kickstart and client URLs, so it is a secret. */
  token: z.string().min(16, 'the deployment token is too short').max(256),
  /** Overrides the listener's /ks/<token>.cfg when the kickstart lives elsewhere. */
  kickstartUrl: HttpUrl.optional(),
  /** false once the install is done: the per-MAC files then boot the local disk. */
  armed: z.boolean(),
  esxiVersion: EsxiVersion,
  secureBoot: z.boolean().default(false),
  installerNetwork: InstallerNetwork.optional(),
  bootOptions: BootOptions,
})
export type BootHost = z.input<typeof BootHost>

/** What the media library knows about one extracted ISO (see main/core/media). */
export const MediaInfo = z.object({
  /** Where the listener serves this version's files over HTTP. */
  url: HttpUrl,
  /** The same files on the site's TFTP server, relative to its root. */
  tftpDir: TftpDir,
  /** The ISO's own boot.cfg, as read from the media. */
  bootCfg: z.string().min(1),
  hasMbootC32: z.boolean(),
  hasBootx64Efi: z.boolean(),
  hasCrypto64Efi: z.boolean(),
})
export type MediaInfo = z.input<typeof MediaInfo>

export const BootSite = z.object({
  /** The listener as hosts reach it. An IP literal: the installer may have no DNS. */
  listener: z.object({ address: Ipv4, port: z.number().int().min(1).max(65535) }),
  media: z.partialRecord(EsxiVersion, MediaInfo),
  /** Folder under the TFTP root that holds mboot.efi and the per-MAC folders. */
  tftpBootDir: TftpDir.default('esxi'),
  enrollment: z.object({
    /** host:port of the listener for the PBHOST= boot option. */
    pbhost: z
      .string()
      .trim()
      .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, like 10.0.0.5:8080'),
    /** The site's enrollment secret (PBKEY=). */
    pbkey: z.string().min(8, 'the enrollment secret is too short').max(128),
    /** The generic kickstart for servers no definition claims. */
    kickstartUrl: HttpUrl,
    /**
     * Unknown servers are installed (erasing their first disk) only when this
     * is on; otherwise the generic menus default to the local disk and the
     * generic UEFI boot.cfg skips itself.
     */
    installUnknown: z.boolean().default(false),
    /** Kernel options the generic install needs besides ks= (allowLegacyCPU=true). */
    bootOptions: BootOptions,
  }),
  /** The generic menus boot this version; default: the newest in the media library. */
  defaultVersion: EsxiVersion.optional(),
  /** An https:// base that serves the listener's /boot tree, for firmware that wants TLS. */
  httpsBootBaseUrl: HttpUrl.optional(),
  /** The site's UEFI firmware is set to refuse plain HTTP boot URLs. */
  firmwareHttpsOnly: z.boolean().default(false),
})
export type BootSite = z.input<typeof BootSite>

export const BootInput = z.object({ site: BootSite, host: BootHost.optional() })
export type BootInput = z.input<typeof BootInput>
/** The input after parsing: defaults filled, URLs trimmed. Kinds render from this. */
export type BootContext = z.output<typeof BootInput>
export type BootContextHost = NonNullable<BootContext['host']>

/** What a kind produces: a file a server fetches, or a line an operator copies. */
interface ArtifactBase {
  kind: string
  /** Per-host files change with the host; generic ones serve every unknown server. */
  scope: 'host' | 'generic'
  /** Short label for the boot-material screen. */
  title: string
  /**
   * tftp: `path` is relative to the TFTP root (goes in the bundle);
   * http: the listener serves it at `url` (`path` is the URL's path);
   * console: a line the operator types or pastes (`path` is a download name).
   */
  delivery: 'tftp' | 'http' | 'console'
  path: string
  url?: string
}

export interface TextArtifact extends ArtifactBase {
  text: string
  /** How the text is structured, for the parsers in the tests and the linter. */
  syntax: 'pxelinux' | 'boot.cfg' | 'ipxe' | 'shell' | 'boot-options'
  /** Substrings to mask on screen and in logs (tokens, enrollment secrets). */
  secrets: string[]
}

/** A file copied from the media library as it is (mboot.efi, crypto64.efi). */
export interface MediaFileArtifact extends ArtifactBase {
  media: { version: EsxiVersion; file: string }
}

export type Artifact = TextArtifact | MediaFileArtifact

export function isTextArtifact(a: Artifact): a is TextArtifact {
  return 'text' in a
}

export interface KindResult {
  artifacts: Artifact[]
  /** One line each, naming the fix. */
  warnings: string[]
}

export type Applicability = { applies: true } | { applies: false; reason: string }

export interface BootKind {
  id: string
  label: string
  firmware: 'bios' | 'uefi' | 'any'
  /** What this kind is for, and any choice it makes that an operator should know. */
  description: string
  applies(c: BootContext): Applicability
  render(c: BootContext): KindResult
}

/** Parses raw input into the context kinds render from; throws a ZodError on bad input. */
export function bootContext(input: BootInput): BootContext {
  return BootInput.parse(input)
}
