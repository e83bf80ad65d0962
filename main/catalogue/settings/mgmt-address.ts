import { parseIpv4Interfaces } from '../parse'
import { esxcli } from '../shell'
import { defineSetting, type Reader } from '../types'
import { ipv4Prefix, prefixFromNetmask, splitPrefix } from '../values'

/** vmk0's IPv4 configuration as the host reports it. */
export interface Vmk0Address {
  address: string
  prefix: number
  /** Taken from DHCP rather than set. */
  dhcp: boolean
}

/** vmk0's address, or null when it has none (or a netmask no prefix describes). */
export async function readVmk0(r: Reader): Promise<Vmk0Address | null> {
  // The whole listing, not `-i vmk0`: one read serves every VMkernel NIC setting.
  const all = parseIpv4Interfaces(await r.read(esxcli('network', 'ip', 'interface', 'ipv4', 'get')))
  const vmk0 = all.find((i) => i.name === 'vmk0')
  const prefix = vmk0 ? prefixFromNetmask(vmk0.netmask) : null
  if (!vmk0 || prefix === null || vmk0.address === '0.0.0.0' || vmk0.type === 'NONE') return null
  return { address: vmk0.address, prefix, dhcp: vmk0.type === 'DHCP' }
}

/** The command that gives vmk0 a static address (it drops a session to the old one). */
export function setVmk0Static(cidr: string): string[] {
  const { address, netmask } = splitPrefix(cidr)
  return esxcli(
    ...['network', 'ip', 'interface', 'ipv4', 'set'],
    ...['-i', 'vmk0', '-t', 'static', '-I', address, '-N', netmask],
  )
}

/**
 * vmk0's static IPv4 address. Changing it drops the SSH session Midwife is
 * on, so a running host changes it through the management move (a script that
 * rolls back unless Midwife confirms from the new address); known before the
 * install, it goes in the kickstart's network line and nothing moves.
 */
export const mgmtAddress = defineSetting<string>({
  key: 'mgmtAddress',
  title: 'Management address',
  group: 'management',
  description: "vmk0's static IPv4 address and prefix length; Midwife reaches the host there.",
  example: '10.0.0.11/24',
  value: ipv4Prefix,
  scope: 'host',
  field: {
    kind: 'ipv4-prefix',
    placeholder: '10.0.0.11/24',
    hint: 'Address/prefix length (or /netmask). Changing it on a running host moves Midwife there.',
  },
  csv: {
    columns: ['mgmt_address'],
    toCsv: (v) => ({ mgmt_address: v }),
    fromCsv: (row) => (row.mgmt_address?.trim() ? row.mgmt_address.trim() : undefined),
  },
  kickstart(v) {
    const { address, netmask } = splitPrefix(v)
    return { network: { bootproto: 'static', ip: address, netmask } }
  },
  async read(r) {
    const vmk0 = await readVmk0(r)
    // A DHCP lease is never the wanted static address, even at the same address.
    if (!vmk0) return '(none)'
    return `${vmk0.address}/${vmk0.prefix}${vmk0.dhcp ? ' (DHCP)' : ''}`
  },
  diff(current, wanted) {
    if (current === wanted) return []
    return [{ summary: `vmk0 at ${wanted}`, commands: [{ words: setVmk0Static(wanted) }] }]
  },
  show: (v) => v,
  connection: 'moves',
  addresses: (v) => [splitPrefix(v).address],
})
