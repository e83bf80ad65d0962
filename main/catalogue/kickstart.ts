// The kickstart's command section, assembled from catalogue parts (what each
// setting decides better at install time) and the site's install options,
// instead of a hard-coded template.
import { installLines, type InstallOptions } from './install'
import type { KickstartPart } from './types'

export interface KickstartInput {
  install: InstallOptions
  /** The NIC the installer configures (the host's MAC). */
  mac: string | null
  /** A $6$ crypt of the root password, never the password. */
  rootPasswordHash: string
  parts: readonly KickstartPart[]
}

export interface KickstartSections {
  /** Lines of the command section, in the order ESXi's installer reads them. */
  commands: string[]
  /** Extra %firstboot lines from the parts. */
  firstboot: string[]
  /** Kernel options the boot line must carry (allowLegacyCPU=true). */
  bootOptions: string[]
}

/**
 * The `network` line: static when the management address is known before the
 * install (so no in-band change is needed), DHCP otherwise. --hostname and
 * --nameserver only take effect with a static address.
 */
export function networkLine(mac: string | null, o: Record<string, string>): string {
  const words = ['network']
  const fixed = o.ip !== undefined && o.netmask !== undefined
  words.push(fixed ? '--bootproto=static' : '--bootproto=dhcp')
  if (mac) words.push(`--device=${mac}`)
  const order = fixed
    ? ['ip', 'netmask', 'gateway', 'nameserver', 'hostname', 'vlanid']
    : ['vlanid']
  for (const k of order) if (o[k] !== undefined && o[k] !== '') words.push(`--${k}=${o[k]}`)
  return words.join(' ')
}

export function kickstartSections(i: KickstartInput): KickstartSections {
  const network: Record<string, string> = {}
  for (const p of i.parts) Object.assign(network, p.network ?? {})
  const install = installLines(i.install)
  return {
    commands: [
      'vmaccepteula',
      ...install.lines,
      `rootpw --iscrypted ${i.rootPasswordHash}`,
      networkLine(i.mac, network),
      ...i.parts.flatMap((p) => p.lines ?? []),
      'reboot',
    ],
    firstboot: i.parts.flatMap((p) => p.firstboot ?? []),
    bootOptions: [...install.bootOptions, ...i.parts.flatMap((p) => p.bootOptions ?? [])],
  }
}
