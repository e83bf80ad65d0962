// What the boot-material screen and the downloads get: the chosen kinds'
// artifacts in the contract's shape, the linter's findings over them, and the
// site's DHCP configuration in every flavour.
import { ZodError } from 'zod'
import { ApiCallError, describeIssues } from '../../contract/api'
import { bounds } from '../../catalogue/values'
import type {
  BootArtifact,
  BootFinding,
  BootKindReport,
  DhcpFacts,
  DhcpFile,
  DhcpFlavour,
} from '../../contract/schemas'
import {
  dhcpBootTargets,
  dnsmasqConfig,
  iscDhcpdConfig,
  keaConfig,
  windowsDhcpScript,
  type DhcpInput,
  type DhcpOutput,
} from './dhcp'
import { bootContext, isTextArtifact, type Artifact, type BootInput } from './input'
import { renderBoot, type BootRender } from './kinds'
import { lintBoot } from './lint'

export function toBootArtifact(a: Artifact): BootArtifact {
  const fileName = a.path.split('/').at(-1) as string
  return {
    kind: a.kind,
    scope: a.scope,
    title: a.title,
    delivery: a.delivery,
    path: a.path,
    fileName,
    url: a.url ?? null,
    text: isTextArtifact(a) ? a.text : null,
    syntax: isTextArtifact(a) ? a.syntax : null,
    media: isTextArtifact(a) ? null : a.media,
    secrets: isTextArtifact(a) ? a.secrets : [],
  }
}

/** Renders the chosen kinds; an unknown kind is the operator's mistake, not a failure. */
export function renderChosen(input: BootInput, kinds?: readonly string[]): BootRender {
  try {
    return renderBoot(input, kinds)
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('unknown boot kind')) {
      throw new ApiCallError('invalid', `kinds: ${err.message}`)
    }
    throw err
  }
}

/** Every kind, whether it applies and whether it was chosen (all of them by default). */
export function kindReports(all: BootRender, kinds?: readonly string[]): BootKindReport[] {
  return all.kinds.map((k) => ({
    ...k,
    reason: k.reason ?? null,
    chosen: kinds === undefined || kinds.includes(k.id),
  }))
}

export interface LintFacts {
  interfaces: readonly string[]
  kickstart?: string
  /** Unknown servers' material: whether the site expects Secure Boot. */
  secureBootExpected?: boolean
  media: readonly { version: string; missing: readonly string[]; problems: readonly string[] }[]
}

/** The linter over what was rendered; errors first. */
export function findings(input: BootInput, r: BootRender, facts: LintFacts): BootFinding[] {
  const found = lintBoot({
    boot: input,
    artifacts: r.artifacts,
    interfaces: facts.interfaces,
    ...(facts.kickstart === undefined ? {} : { kickstart: facts.kickstart }),
    ...(facts.secureBootExpected === undefined
      ? {}
      : { secureBootExpected: facts.secureBootExpected }),
    media: facts.media,
  })
  const rank = { error: 0, warning: 1 }
  return found
    .map((f) => ({
      code: f.code,
      severity: f.severity,
      where: f.where ?? null,
      message: f.message,
    }))
    .sort((a, b) => rank[a.severity] - rank[b.severity])
}

/** Each flavour once; the file names match what the generators call their files. */
const FLAVOURS: Record<
  DhcpFlavour,
  { title: string; mode: 'full' | 'proxy'; make: (d: DhcpInput) => DhcpOutput; fileName: string }
> = {
  dnsmasq: {
    title: 'dnsmasq (full DHCP)',
    mode: 'full',
    make: dnsmasqConfig,
    fileName: 'midwife-dnsmasq.conf',
  },
  'dnsmasq-proxy': {
    title: 'dnsmasq (proxy DHCP beside a DHCP server you do not control)',
    mode: 'proxy',
    make: dnsmasqConfig,
    fileName: 'midwife-dnsmasq-proxy.conf',
  },
  'isc-dhcpd': {
    title: 'ISC dhcpd',
    mode: 'full',
    make: iscDhcpdConfig,
    fileName: 'midwife-dhcpd.conf',
  },
  kea: { title: 'Kea DHCPv4', mode: 'full', make: keaConfig, fileName: 'midwife-kea-dhcp4.json' },
  windows: {
    title: 'Windows Server DHCP (PowerShell)',
    mode: 'full',
    make: windowsDhcpScript,
    fileName: 'midwife-windows-dhcp.ps1',
  },
}

/**
 * The site's DHCP server configuration in every flavour, pointing at the
 * boot files of `input`'s site. A flavour that cannot be generated (no
 * subnet set, no range for full DHCP) says why instead.
 */
export function dhcpFiles(input: BootInput, facts: DhcpFacts): DhcpFile[] {
  const c = bootContext(input)
  const [address = '', prefix] = facts.subnet.split('/')
  // A subnet stored with a host address (10.0.0.5/24) is written as its network: dhcpd refuses
  // "subnet 10.0.0.5 netmask 255.255.255.0".
  const network = facts.subnet === '' ? '' : bounds(address, Number(prefix)).network
  return (Object.keys(FLAVOURS) as DhcpFlavour[]).map((flavour) => {
    const f = FLAVOURS[flavour]
    const base = { flavour, title: f.title, fileName: f.fileName }
    if (facts.subnet === '') {
      return {
        ...base,
        text: null,
        problem:
          'Set the provisioning subnet under Site (network boot) to generate DHCP configuration.',
        warnings: [],
      }
    }
    const d: DhcpInput = {
      mode: f.mode,
      subnet: {
        network,
        prefixLength: Number(prefix),
        ...(facts.rangeStart === '' ? {} : { rangeStart: facts.rangeStart }),
        ...(facts.rangeEnd === '' ? {} : { rangeEnd: facts.rangeEnd }),
        ...(facts.router === '' ? {} : { router: facts.router }),
        dnsServers: facts.dnsServers,
        leaseSeconds: facts.leaseSeconds,
      },
      tftpServer: facts.tftpServer === '' ? c.site.listener.address : facts.tftpServer,
      chainIpxe: facts.chainIpxe,
      ...dhcpBootTargets(c),
    }
    try {
      const out = f.make(d)
      return {
        ...base,
        text: out.text,
        problem: null,
        warnings: out.warnings,
      }
    } catch (err) {
      const problem = err instanceof ZodError ? describeIssues(err) : (err as Error).message
      return { ...base, text: null, problem, warnings: [] }
    }
  })
}
