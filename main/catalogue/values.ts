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

/** An IPv4 address, or an IPv6 one (a host may have been given one by hand). */
export function isIpAddress(s: string): boolean {
  return isIpv4(s) || ipaddr.IPv6.isValid(s)
}

/**
 * Subnet arithmetic on addresses already validated above, in 32-bit numbers:
 * ipaddr.js builds several objects per call, and a 10,000-row import checks
 * each row's subnets a few times.
 */
export function ipv4Number(address: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = address.split('.').map(Number)
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
}

export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

function maskOf(prefix: number): number {
  return prefix <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefix, 32))) >>> 0
}

/** The network and broadcast addresses of `address`/`prefix`, as text. */
export function bounds(address: string, prefix: number): { network: string; broadcast: string } {
  const mask = maskOf(prefix)
  const network = (ipv4Number(address) & mask) >>> 0
  return { network: ipv4Text(network), broadcast: ipv4Text((network | ~mask) >>> 0) }
}

export const ipv4 = checked(
  isIpv4,
  (s) => `${s || 'an empty value'} is not an IPv4 address like 10.0.0.2`,
)

/**
 * A DNS name: labels of letters, digits and hyphens, the last one not all digits (no top-level
 * domain is, RFC 3696 section 2), so a mistyped address like 10.0.0.300 is not taken for a name.
 */
export function isDnsName(s: string): boolean {
  const labels = s.split('.')
  return (
    s.length > 0 &&
    s.length <= 253 &&
    labels.every((l) => LABEL.test(l)) &&
    !/^\d+$/.test(labels[labels.length - 1] as string)
  )
}

export function isHostOrAddress(s: string): boolean {
  return isIpv4(s) || isDnsName(s)
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
  isDnsName,
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

/**
 * 10.0.0.11/24: an address and the prefix length of its subnet. A netmask in place of the
 * prefix (10.0.0.11/255.255.255.0, as ESXi prints one) is taken and written as its prefix.
 */
export const ipv4Prefix = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const m = /^([\d.]+)\/(\d{1,2}|\d{1,3}(?:\.\d{1,3}){3})$/.exec(s)
    const mask = m?.[2]?.includes('.') ? m[2] : null
    if (m && mask !== null && isIpv4(m[1] as string) && isIpv4(mask)) {
      const bits = prefixFromNetmask(mask)
      if (bits === null) {
        ctx.addIssue({
          code: 'custom',
          message: `${mask} is not a netmask: its ones come first, like 255.255.255.0`,
        })
        return z.NEVER
      }
      m[2] = String(bits)
    }
    const prefix = m ? Number(m[2]) : NaN
    if (!m || !isIpv4(m[1] as string) || !(prefix >= 1 && prefix <= 32)) {
      ctx.addIssue({
        code: 'custom',
        message: `${s || 'an empty value'} is not an address with its prefix, like 10.0.0.11/24`,
      })
      return z.NEVER
    }
    const address = m[1] as string
    const { network, broadcast } = bounds(address, prefix)
    if (prefix < 31 && (address === network || address === broadcast)) {
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
    netmask: ipv4Text(maskOf(prefix)),
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
  const { address: base, prefix } = splitPrefix(cidr)
  if (!isIpv4(base) || !(prefix >= 0 && prefix <= 32)) return false
  const mask = maskOf(prefix)
  return (ipv4Number(address) & mask) >>> 0 === (ipv4Number(base) & mask) >>> 0
}

export function subnetOf(cidr: string): string {
  const { address, prefix } = splitPrefix(cidr)
  return `${bounds(address, prefix).network}/${prefix}`
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
  const { address, prefix } = splitPrefix(cidr)
  if (gateway === address) {
    return `gateway ${gateway} is the management address itself`
  }
  if (prefix < 31) {
    const { network, broadcast } = bounds(address, prefix)
    if (gateway === network) {
      return `gateway ${gateway} is the network address of ${subnet}`
    }
    if (gateway === broadcast) {
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

/**
 * ESXi's default password rules (the 7.0/8.0 `Security.PasswordQualityControl`, esxi.md): 7 to
 * 39 characters (at least 7 as the fewest count them, at most 39 as the most do: UTF-8 bytes),
 * at least 3 of the 4 character classes, where a capital at the start and a digit at the end do
 * not count, and not the user name. Dictionary words are left to ESXi. The rule
 * broken, worded for people and never quoting the password, or null.
 */
export function passwordProblem(password: string, user = 'root'): string | null {
  const chars = [...password]
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password))
    return 'the password may not hold control characters (tabs, line breaks)'
  if (chars.length < 7) return 'the password is too short: ESXi wants at least 7 characters'
  if (chars.length > 39) return 'the password is too long: ESXi takes at most 39 characters'
  // esxi.md does not say what the 39 counts; bytes (what C's strlen counts) is the most of any.
  if (new TextEncoder().encode(password).length > 39) {
    return 'the password is too long: ESXi takes at most 39 bytes, and a character outside ASCII takes 2 to 4'
  }
  const classes = [
    chars.some((c) => /[a-z]/.test(c)),
    chars.some((c, i) => /[A-Z]/.test(c) && i > 0),
    chars.some((c, i) => /[0-9]/.test(c) && i < chars.length - 1),
    chars.some((c) => !/[A-Za-z0-9]/.test(c)),
  ].filter(Boolean).length
  if (classes < 3) {
    return (
      'the password must mix at least 3 of lower case, upper case, digits and symbols ' +
      '(a capital at the start and a digit at the end do not count)'
    )
  }
  if (password.toLowerCase().includes(user.toLowerCase()))
    return `the password must not contain the user name ${user}`
  return null
}

/** ESXi's default password rules in one sentence, for hints next to a password field. */
export const PASSWORD_RULES =
  '7 to 39 characters mixing at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count), without the word root'

/** A password ESXi's default rules accept; messages name the rule, never the password. */
export const esxiPassword = z.string({ message: 'a password is text' }).superRefine((s, ctx) => {
  const problem = passwordProblem(s)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})

/** A physical NIC as ESXi names it. */
export const vmnicName = checked(
  (s) => /^vmnic\d+$/.test(s),
  (s) => `${s || 'an empty name'} is not a physical NIC name like vmnic0`,
)

/** Control and format characters (zero-width, direction-changing): invisible or misleading on a screen. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/u

/** Whether text an operator typed holds a character a screen would hide or reorder; a tab may be allowed. */
export function hasInvisible(text: string, o: { tab?: boolean } = {}): boolean {
  return INVISIBLE.test(o.tab ? text.replaceAll('\t', '') : text)
}

/** What a spreadsheet takes for the start of a formula in a cell. */
export const FORMULA_START = /^[=+\-@]/

/**
 * A vSwitch or port group name. `:` and `;` separate fields and rows in the
 * CSV columns that hold whole tables, so a name may not contain them. It
 * starts a cell of the CSV export (a spreadsheet would run `=...` as a
 * formula) and is an argument of esxcli (which would take `-v` for an option).
 */
export const switchName = checked(
  (s) =>
    s !== '' && s.length <= 128 && !/[:;]/.test(s) && !hasInvisible(s) && !FORMULA_START.test(s),
  (s) =>
    s === ''
      ? 'a name is needed'
      : s.length > 128
        ? 'a name is at most 128 characters'
        : FORMULA_START.test(s)
          ? `${s} may not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula, and esxcli would take -... for an option)`
          : `${s} may not contain : or ; (they separate fields in the CSV columns), control or invisible characters`,
)
