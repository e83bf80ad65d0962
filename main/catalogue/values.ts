// Value schemas with messages written for people, shared by every setting.
// Addresses are checked with ipaddr.js, not regular expressions.
import ipaddr from 'ipaddr.js'
import { z } from 'zod'

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i

/** A string check whose message names the value it refused. */
function checked(test: (s: string) => boolean, message: (s: string) => string) {
  return z
    .string()
    .trim()
    .superRefine((s, ctx) => {
      if (!test(s)) ctx.addIssue({ code: 'custom', message: message(s) })
    })
}

export function isIpv4(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s)
}

export const ipv4 = checked(
  isIpv4,
  (s) => `${s || 'an empty value'} is not an IPv4 address like 10.0.0.2`,
)

export function isHostOrAddress(s: string): boolean {
  return (
    s.length <= 253 &&
    (isIpv4(s) || (!/^[\d.]+$/.test(s) && s.split('.').every((l) => LABEL.test(l))))
  )
}

/** An IPv4 address or a DNS name (NTP servers, syslog hosts). */
export const hostOrAddress = checked(
  isHostOrAddress,
  (s) => `${s || 'an empty value'} is not an IPv4 address or a DNS name`,
)

export const hostLabel = checked(
  (s) => LABEL.test(s),
  (s) =>
    s.includes('.')
      ? `${s} is a full name: put ${s.split('.')[0]} here and ${s.split('.').slice(1).join('.')} in Domain`
      : `${s || 'an empty name'} is not a host name: letters, digits and hyphens (1 to 63), not starting or ending with a hyphen`,
)

export const domainName = checked(
  (s) => s.length > 0 && s.length <= 253 && s.split('.').every((l) => LABEL.test(l)),
  (s) => `${s || 'an empty domain'} is not a DNS domain like lab.local`,
)

export const vlanId = z
  .number({ message: 'a VLAN ID is a whole number from 0 to 4095' })
  .int('a VLAN ID is a whole number from 0 to 4095')
  .min(0, 'a VLAN ID is a whole number from 0 to 4095')
  .max(4095, 'a VLAN ID is a whole number from 0 to 4095 (4095 passes every VLAN to guests)')

export const mtu = z
  .number({ message: 'an MTU is a whole number from 1280 to 9000' })
  .int('an MTU is a whole number from 1280 to 9000')
  .min(1280, 'an MTU is at least 1280')
  .max(9000, 'an MTU is at most 9000')

/** 10.0.0.11/24: an address and the prefix length of its subnet. */
export const ipv4Prefix = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const m = /^([\d.]+)\/(\d{1,2})$/.exec(s)
    const prefix = m ? Number(m[2]) : NaN
    if (!m || !isIpv4(m[1] as string) || prefix < 1 || prefix > 32) {
      ctx.addIssue({
        code: 'custom',
        message: `${s || 'an empty value'} is not an address with its prefix, like 10.0.0.11/24`,
      })
      return z.NEVER
    }
    const address = m[1] as string
    const network = ipaddr.IPv4.networkAddressFromCIDR(s).toString()
    if (
      prefix < 31 &&
      (address === network || address === ipaddr.IPv4.broadcastAddressFromCIDR(s).toString())
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `${address} is the ${address === network ? 'network' : 'broadcast'} address of ${network}/${prefix}, not a host address`,
      })
      return z.NEVER
    }
    return `${address}/${prefix}`
  })

export function splitPrefix(cidr: string): { address: string; prefix: number; netmask: string } {
  const [address = '', p = '32'] = cidr.split('/')
  const prefix = Number(p)
  return {
    address,
    prefix,
    netmask: ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString(),
  }
}

export function prefixFromNetmask(netmask: string): number | null {
  try {
    return ipaddr.IPv4.parse(netmask).prefixLengthFromSubnetMask()
  } catch {
    return null
  }
}

/** Whether `address` lies in the subnet of `cidr` (10.0.0.11/24). */
export function inSubnet(address: string, cidr: string): boolean {
  if (!isIpv4(address)) return false
  const [net, bits] = ipaddr.IPv4.parseCIDR(cidr)
  return ipaddr.IPv4.parse(address).match(net, bits)
}

export function subnetOf(cidr: string): string {
  const { prefix } = splitPrefix(cidr)
  return `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${prefix}`
}

/** "a, b c" -> [a, b, c] */
export function splitWords(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/**
 * Why `gateway` cannot be the default gateway for the interface at `cidr`
 * (10.0.0.11/24), or null. ESXi refuses a gateway outside every VMkernel
 * subnet ("Unable to set VMkernel gateway"); saying so before a run is kinder.
 */
export function gatewayProblem(gateway: string, cidr: string): string | null {
  const subnet = subnetOf(cidr)
  if (!inSubnet(gateway, cidr)) return `gateway ${gateway} is not in ${subnet}`
  if (gateway === splitPrefix(cidr).address) {
    return `gateway ${gateway} is the management address itself`
  }
  if (splitPrefix(cidr).prefix < 31) {
    if (gateway === ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()) {
      return `gateway ${gateway} is the network address of ${subnet}`
    }
    if (gateway === ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()) {
      return `gateway ${gateway} is the broadcast address of ${subnet}`
    }
  }
  return null
}

const SYSLOG_PORTS: Record<string, number> = { udp: 514, tcp: 514, ssl: 1514 }

/**
 * A remote log host as ESXi takes it: udp://, tcp:// or ssl://, a name or an
 * address, and a port. A missing protocol means udp and a missing port the
 * protocol's usual one, written out so what is stored is what the host prints.
 */
export const syslogHost = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const normal = normalSyslogHost(s)
    if (typeof normal === 'string') return normal
    ctx.addIssue({ code: 'custom', message: normal.problem })
    return z.NEVER
  })

/** The written-out form of a log host (udp://10.0.0.5:514), or why it is not one. */
export function normalSyslogHost(s: string): string | { problem: string } {
  const m = /^(?:([A-Za-z]+):\/\/)?(\[[^\]]*\]|[^:/[\]]*)(?::(\d*))?\/?$/.exec(s)
  const like = 'like udp://10.0.0.5:514 or ssl://loghost.lab.local:1514'
  if (!m || s === '') return { problem: `${s || 'an empty value'} is not a log host ${like}` }
  const proto = (m[1] ?? 'udp').toLowerCase()
  const host = m[2] as string
  const port = m[3] === undefined ? SYSLOG_PORTS[proto] : Number(m[3])
  if (!(proto in SYSLOG_PORTS)) {
    return { problem: `${s}: the protocol is udp, tcp or ssl, not ${proto}` }
  }
  const bracketed = host.startsWith('[')
  const v6 = bracketed && ipaddr.IPv6.isValid(host.slice(1, -1))
  if (bracketed ? !v6 : !isHostOrAddress(host)) {
    return { problem: `${s}: ${host || 'an empty host'} is not an address or a DNS name` }
  }
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535 || m[3] === '') {
    return { problem: `${s}: the port is a number from 1 to 65535` }
  }
  return `${proto}://${host}:${port}`
}

/** Where ESXi keeps its own logs: an absolute path or a datastore path. */
export const logDir = checked(
  (s) => /^\/[^\s]/.test(s) || /^\[[^\]]+\] \S/.test(s),
  (s) =>
    `${s || 'an empty value'} is not a log directory: an absolute path like /scratch/log or a datastore path like [datastore1] logs`,
)
