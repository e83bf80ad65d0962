import type { Route, SimState, Vmknic } from './state'

// The host's IPv4 view: which subnets its vmknics are on, which routes are usable, where its sshd
// can be reached, and what answers a ping. esxcli, esxcfg-route, vmkping and both SSH servers read
// the network through these functions so that they cannot disagree.

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/
export const isIPv4 = (s: string) => IPV4.test(s)
export const isIPv6 = (s: string) => /^[0-9a-fA-F:]+$/.test(s) && s.includes(':')

const ip2n = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
const n2ip = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
export const networkOf = (ip: string, mask: string) => n2ip((ip2n(ip) & ip2n(mask)) >>> 0)
export const broadcastOf = (ip: string, mask: string) =>
  n2ip(((ip2n(ip) & ip2n(mask)) | (~ip2n(mask) >>> 0)) >>> 0)
export const prefixToMask = (bits: number) =>
  n2ip(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)

/** A netmask is contiguous ones then zeros. */
export function isNetmask(mask: string): boolean {
  if (!isIPv4(mask)) return false
  const n = ip2n(mask)
  const inverted = ~n >>> 0
  return (inverted & (inverted + 1)) === 0
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
export const isLoopback = (ip: string) => isIPv4(ip) && LOOPBACK.test(ip)

/** A vmknic that is up and holds an IPv4 address. */
export function addressed(v: Vmknic): boolean {
  return (
    v.enabled && v.ipv4.type !== 'NONE' && isIPv4(v.ipv4.address) && v.ipv4.address !== '0.0.0.0'
  )
}

export const onSubnet = (v: Vmknic, ip: string) =>
  addressed(v) &&
  isIPv4(ip) &&
  networkOf(v.ipv4.address, v.ipv4.netmask) === networkOf(ip, v.ipv4.netmask)

/** The vmknic whose subnet holds a gateway: ESXi cannot use a gateway outside every subnet. */
export function vmknicFor(s: SimState, gateway: string): Vmknic | undefined {
  return s.vmknics.find((v) => onSubnet(v, gateway))
}

function connectedRoutes(s: SimState): Route[] {
  return s.vmknics.filter(addressed).map((v) => ({
    network: networkOf(v.ipv4.address, v.ipv4.netmask),
    netmask: v.ipv4.netmask,
    gateway: '0.0.0.0',
    interface: v.name,
    source: 'MANUAL' as const,
  }))
}

// invented: a DHCP lease's gateway is the default route while no manual one is set.
function dhcpDefaultRoute(s: SimState): Route[] {
  if (s.routes.some((r) => r.network === 'default')) return []
  const v = s.vmknics.find((n) => addressed(n) && n.ipv4.type === 'DHCP' && s.dhcpLeases[n.name])
  const gateway = v === undefined ? undefined : s.dhcpLeases[v.name]?.gateway
  if (v === undefined || gateway === undefined || !onSubnet(v, gateway)) return []
  return [{ network: 'default', netmask: '0.0.0.0', gateway, interface: v.name, source: 'DHCP' }]
}

/** The routing table as `route ipv4 list` prints it: set routes first, then connected subnets. */
export function routeTable(s: SimState): Route[] {
  return [...s.routes, ...dhcpDefaultRoute(s), ...connectedRoutes(s)]
}

export function defaultGateway(s: SimState): string | null {
  return routeTable(s).find((r) => r.network === 'default')?.gateway ?? null
}

/**
 * invented: when an address change leaves a route's gateway outside every subnet, the route goes
 * (as a kernel drops routes through an address it no longer has). A script that moves vmk0 to
 * another subnet must therefore set the default route again, and restore it on rollback.
 */
export function dropUnusableRoutes(s: SimState): void {
  s.routes = s.routes.filter((r) => {
    const via = vmknicFor(s, r.gateway)
    if (via) r.interface = via.name
    return via !== undefined
  })
}

/** The VLAN of the port group a vmknic sits on. */
export function vlanOf(s: SimState, v: Vmknic): number {
  return s.portgroups.find((p) => p.name === v.portgroup)?.vlanId ?? 0
}

/**
 * Where the management network can be reached: vmk0's address while vmk0 is up, addressed, and
 * on a VLAN that reaches Midwife. null when the host is unreachable.
 */
export function managementAddress(s: SimState): string | null {
  const v = s.vmknics.find((n) => n.name === 'vmk0')
  if (!v || !addressed(v)) return null
  if (s.managementVlans !== null && !s.managementVlans.includes(vlanOf(s, v))) return null
  return v.ipv4.address
}

/** Counts a change of the management address made since `before` was read. */
export function noteManagementChange(s: SimState, before: string | null): void {
  if (managementAddress(s) !== before) s.managementChanges++
}

/**
 * invented (vmkping is not in esxi.md): an address answers from a vmknic when it is listed in
 * `reachable` and is on that vmknic's subnet, or lies beyond a reachable default gateway on it.
 * The vmknic's own address always answers. vmk0 on a VLAN that does not reach the network hears
 * nothing.
 */
export function answersPing(s: SimState, v: Vmknic, target: string): boolean {
  if (!addressed(v)) return false
  if (target === v.ipv4.address) return true
  if (v.name === 'vmk0' && managementAddress(s) === null) return false
  if (!s.reachable.includes(target)) return false
  if (onSubnet(v, target)) return true
  const gw = routeTable(s).find((r) => r.network === 'default' && r.interface === v.name)?.gateway
  return gw !== undefined && s.reachable.includes(gw)
}
