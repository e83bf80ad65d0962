// The boot-line and site linter, shown before an operator copies anything:
// mistakes that otherwise surface as a server that never installs, or
// installs and never checks in. One finding is one line and names its fix.
import { bootCfgGet, kernelCommandLine, parseBootCfg } from './boot-cfg'
import {
  bootContext,
  isTextArtifact,
  type Artifact,
  type BootInput,
  type TextArtifact,
} from './input'
import { renderBoot } from './kinds'
import { KERNEL_LINE_WARN } from './material'
import { parseIpxe, parsePxelinux, pxelinuxDirective } from './syntax'

export interface Finding {
  code:
    | 'kernel-line-too-long'
    | 'ks-dns-name'
    | 'advertised-loopback'
    | 'advertised-not-local'
    | 'secure-boot-port'
    | 'firstboot-with-secure-boot'
    | 'per-mac-no-prefix'
    | 'mac-folder-upper-case'
    | 'media-missing'
    | 'http-boot-on-https-only'
  severity: 'error' | 'warning'
  /** The artifact (path or URL) the finding is about, when there is one. */
  where?: string
  message: string
}

export interface LintInput {
  boot: BootInput
  /** The files to check; default: every kind rendered for `boot`. */
  artifacts?: readonly Artifact[]
  /** Addresses of this machine's interfaces (os.networkInterfaces()). */
  interfaces: readonly string[]
  /** The kickstart the host (or, without one, unknown servers) will be served, to see whether it relies on %firstboot. */
  kickstart?: string
  /** Without a host: whether the site expects Secure Boot of the servers the generic files install. */
  secureBootExpected?: boolean
  /** Media validation results (main/core/media), for the versions in use. */
  media?: readonly { version: string; missing: readonly string[]; problems: readonly string[] }[]
}

const BOOTIF = ' BOOTIF=01-aa-bb-cc-dd-ee-ff'.length
const ISO_KERNELOPT = 'runweasel cdromBoot '
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/
const MAC_FOLDER = /(^|\/)01((-[0-9A-Fa-f]{2}){6})(\/|\.ipxe$|$)/

const where = (a: Artifact) => a.url ?? a.path

/** Kernel command lines an artifact hands to mboot, with their lengths as the kernel sees them. */
function kernelLines(a: TextArtifact): number[] {
  switch (a.syntax) {
    case 'boot.cfg': {
      const cfg = parseBootCfg(a.text)
      return bootCfgGet(cfg, 'kernel') === undefined ? [] : [kernelCommandLine(cfg).length + BOOTIF]
    }
    case 'pxelinux':
      return parsePxelinux(a.text)
        .labels.map((l) => pxelinuxDirective(l, 'APPEND'))
        .filter((s): s is string => s !== undefined)
        .map((s) => s.length + BOOTIF)
    case 'ipxe':
      return parseIpxe(a.text)
        .commands.filter((c) => c.name === 'kernel')
        .map((c) => c.args.join(' ').length + BOOTIF)
    case 'boot-options':
      return [ISO_KERNELOPT.length + a.text.trim().length]
    default:
      return []
  }
}

export function lintBoot(input: LintInput): Finding[] {
  const c = bootContext(input.boot)
  const artifacts = input.artifacts ?? renderBoot(input.boot).artifacts
  const out: Finding[] = []
  const { address, port } = c.site.listener

  if (/^127\./.test(address) || address === '0.0.0.0') {
    out.push({
      code: 'advertised-loopback',
      severity: 'error',
      message: `The listener is advertised as ${address}, which servers cannot reach; set the advertised address under Site to this machine's address on the provisioning network.`,
    })
  } else if (!input.interfaces.includes(address)) {
    out.push({
      code: 'advertised-not-local',
      severity: 'warning',
      message: `The advertised address ${address} is on none of this machine's interfaces (${input.interfaces.join(', ') || 'none'}); fix it under Site unless a NAT or proxy forwards it here.`,
    })
  }

  const h = c.host
  if (h?.secureBoot === true && port !== 80 && port !== 443) {
    out.push({
      code: 'secure-boot-port',
      severity: 'warning',
      message: `${h.hostname} expects Secure Boot, so the check-in client that opens ESXi's outbound firewall never runs there, and the firewall drops traffic to port ${port}; run the listener on port 80 (the httpClient ruleset opens 80 and 443).`,
    })
  }
  // Secure Boot skips %firstboot. Midwife's kickstarts keep one (it runs where Secure Boot turns
  // out off) and report `installed` from %post, which starts the Secure Boot path: only a
  // kickstart without that report depends on %firstboot alone. The generic kickstart's report
  // (/install/discover/...) only stops its reinstall loop: no host follows it, so it does not count.
  const secureBoot = h === undefined ? input.secureBootExpected === true : h.secureBoot
  if (
    secureBoot &&
    input.kickstart !== undefined &&
    /^%firstboot\b/m.test(input.kickstart) &&
    !/^%post\b[^\n]*\n[\s\S]*\/install\/(?!discover\/)[^\s'"]+\/installed\b/m.test(input.kickstart)
  ) {
    out.push({
      code: 'firstboot-with-secure-boot',
      severity: 'error',
      message:
        h === undefined
          ? 'The site expects Secure Boot, which skips %firstboot, and the generic kickstart for unknown servers checks in only from %firstboot (its %post report only keeps it from installing again): such a server installs and is never heard from. Either define them as hosts first (their kickstarts report from %post, which starts the Secure Boot path) or install them with Secure Boot off.'
          : `${h.hostname} expects Secure Boot, which skips %firstboot, but its kickstart relies on %firstboot; use the Secure Boot path (%post callback, then SSH turned on over the vSphere API).`,
    })
  }

  for (const a of artifacts) {
    const m = MAC_FOLDER.exec(a.path)
    if (m && m[2] !== m[2]?.toLowerCase()) {
      out.push({
        code: 'mac-folder-upper-case',
        severity: 'error',
        where: where(a),
        message: `${a.path} has an upper-case MAC; mboot and PXELINUX ask for 01-aa-bb-cc-dd-ee-ff in lower case and TFTP/HTTP servers match case, so rename it to ${a.path.replace(m[0], m[0].toLowerCase())}.`,
      })
    }
    if (!isTextArtifact(a)) continue

    for (const length of kernelLines(a)) {
      if (length > KERNEL_LINE_WARN) {
        out.push({
          code: 'kernel-line-too-long',
          severity: 'error',
          where: where(a),
          message: `${where(a)}: the kernel command line is ${length} characters, over ESXi's limit of about ${KERNEL_LINE_WARN}; shorten the media URL or the kernel options.`,
        })
      }
    }

    for (const ks of a.text.matchAll(/\bks=(\S+)/g)) {
      const host = URL.canParse(ks[1] as string) ? new URL(ks[1] as string).hostname : undefined
      if (host !== undefined && !IPV4.test(host)) {
        out.push({
          code: 'ks-dns-name',
          severity: 'warning',
          where: where(a),
          message: `${where(a)}: ks= uses the DNS name ${host}, which the installer may not resolve; use the listener's IP address.`,
        })
      }
    }

    if (a.syntax === 'boot.cfg' && m !== null) {
      const cfg = parseBootCfg(a.text)
      if (bootCfgGet(cfg, 'kernel') !== undefined && !bootCfgGet(cfg, 'prefix')) {
        out.push({
          code: 'per-mac-no-prefix',
          severity: 'error',
          where: where(a),
          message: `${where(a)} has no prefix=, so mboot looks for the installer in the per-MAC folder itself; set prefix= to the installer folder.`,
        })
      }
    }
  }

  if (c.site.firmwareHttpsOnly) {
    const plain = artifacts.find(
      (a) => a.kind === 'uefi-http' && a.url?.startsWith('http://') === true,
    )
    if (plain !== undefined) {
      out.push({
        code: 'http-boot-on-https-only',
        severity: 'error',
        where: where(plain),
        message: `The firmware is set to HTTPS-only, but HTTP boot hands out ${where(plain)}; set an https:// boot URL under Site (its certificate must chain to a CA enrolled in the firmware) or allow HTTP in the firmware.`,
      })
    }
  }

  for (const m of input.media ?? []) {
    if (m.missing.length > 0) {
      out.push({
        code: 'media-missing',
        severity: 'error',
        message: `The ESXi ${m.version} media lacks ${m.missing.length} file(s) boot.cfg loads (${m.missing.slice(0, 5).join(', ')}${m.missing.length > 5 ? ', ...' : ''}); extract the ISO again into its folder.`,
      })
    } else if (m.problems.length > 0) {
      out.push({
        code: 'media-missing',
        severity: 'error',
        message: `The ESXi ${m.version} media cannot be used: ${m.problems[0]}`,
      })
    }
  }
  return out
}
