// The host's standard switching as esxcli prints it: vSwitches, port groups
// and VMkernel NICs. The vSwitch, port group and VMkernel NIC settings read
// through these, with the same command words, so one listing per run serves
// all three (the engine caches reads by command line).
import type { z } from 'zod'
import { parseBlocks, parseIpv4Interfaces, parseKeyValues, parseList, parseTable } from './parse'
import { MANAGEMENT_PORTGROUP } from './settings/mgmt-vlan'
import { esxcli, hostSaid } from './shell'
import type { PlanContext, Reader } from './types'
import { prefixFromNetmask } from './values'

export const LIST_VSWITCHES = esxcli('network', 'vswitch', 'standard', 'list')
export const LIST_PORTGROUPS = esxcli('network', 'vswitch', 'standard', 'portgroup', 'list')
export const LIST_VMKNICS = esxcli('network', 'ip', 'interface', 'list')
export const LIST_IPV4 = esxcli('network', 'ip', 'interface', 'ipv4', 'get')
export const LIST_NICS = esxcli('network', 'nic', 'list')

/** A whole number esxcli printed; anything else means the output is not what Midwife knows. */
function count(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d+$/.test(text.trim())) {
    throw new Error(`cannot read ${what} from the host's answer (${text ?? 'missing'})`)
  }
  return Number(text)
}

export interface HostVswitch {
  name: string
  mtu: number
  uplinks: string[]
  portgroups: string[]
}

/** `esxcli network vswitch standard list`: one block per vSwitch. */
export function parseVswitches(text: string): HostVswitch[] {
  return parseBlocks(text)
    .filter((b) => b['Name'])
    .map((b) => ({
      name: b['Name'] as string,
      mtu: count(b['MTU'], `the MTU of ${b['Name']}`),
      uplinks: parseList(b['Uplinks']),
      portgroups: parseList(b['Portgroups']),
    }))
}

export interface HostPortgroup {
  name: string
  vswitch: string
  /** VMkernel NICs and VM ports on it. */
  clients: number
  vlan: number
}

/** `esxcli network vswitch standard portgroup list` */
export function parsePortgroups(text: string): HostPortgroup[] {
  return parseTable(text)
    .filter((r) => r['Name'])
    .map((r) => ({
      name: r['Name'] as string,
      vswitch: r['Virtual Switch'] ?? '',
      clients: count(r['Active Clients'], `the active clients of ${r['Name']}`),
      vlan: count(r['VLAN ID'], `the VLAN of ${r['Name']}`),
    }))
}

export interface HostVmknic {
  name: string
  portgroup: string
  mtu: number
}

/** `esxcli network ip interface list`: one block per VMkernel NIC. */
export function parseVmknics(text: string): HostVmknic[] {
  return parseBlocks(text)
    .filter((b) => b['Name'])
    .map((b) => ({
      name: b['Name'] as string,
      portgroup: b['Portgroup'] ?? '',
      mtu: count(b['MTU'], `the MTU of ${b['Name']}`),
    }))
}

/** `esxcli network vswitch standard policy failover get -v NAME` */
export function parseFailover(text: string): {
  active: string[]
  standby: string[]
  unused: string[]
} {
  const kv = parseKeyValues(text)
  return {
    active: parseList(kv['Active Adapters']),
    standby: parseList(kv['Standby Adapters']),
    unused: parseList(kv['Unused Adapters']),
  }
}

/** `esxcli network ip interface tag get -i vmkN` */
export function parseTags(text: string): string[] {
  return parseList(parseKeyValues(text)['Tags'])
}

/** A VMkernel NIC's IPv4 configuration as a spec writes it: dhcp, none, or 10.0.0.11/24. */
export function ipv4Config(i: { address: string; netmask: string; type: string | null }): string {
  if (i.type === 'DHCP') return 'dhcp'
  const prefix = prefixFromNetmask(i.netmask)
  if (i.type !== 'STATIC' || i.address === '0.0.0.0' || prefix === null) return 'none'
  return `${i.address}/${prefix}`
}

export interface HostSwitching {
  vswitches: HostVswitch[]
  portgroups: HostPortgroup[]
  /**
   * null when the host does not list them: `ip interface list` is not among the commands esxi.md
   * gives. Then only the VMkernel NICs' names and addresses are known (from `ipv4 get`).
   */
  vmknics: HostVmknic[] | null
  /** Why vmknics is null: what the host said to `ip interface list`. */
  vmknicsUnlisted?: string
  /** Name -> IPv4 configuration (dhcp, none, 10.0.0.11/24) and the address it holds now. */
  ipv4: Map<string, { config: string; address: string }>
  /**
   * The VMkernel NICs Midwife's connection depends on: vmk0 (the management
   * network, which the management setting owns) and whichever holds the
   * address Midwife reached the host at.
   */
  management: string[]
}

export async function readSwitching(r: Reader, ctx: PlanContext): Promise<HostSwitching> {
  const vswitches = parseVswitches(await r.read(LIST_VSWITCHES))
  const portgroups = parsePortgroups(await r.read(LIST_PORTGROUPS))
  const listed = await r.probe(LIST_VMKNICS)
  const vmknics = listed.code === 0 ? parseVmknics(listed.stdout) : null
  const ipv4s = parseIpv4Interfaces(await r.read(LIST_IPV4))
  const ipv4 = new Map(ipv4s.map((i) => [i.name, { config: ipv4Config(i), address: i.address }]))
  const management = (vmknics ?? ipv4s)
    .filter((v) => v.name === 'vmk0' || ipv4.get(v.name)?.address === ctx.address)
    .map((v) => v.name)
  return {
    vswitches,
    portgroups,
    vmknics,
    ...(vmknics === null
      ? { vmknicsUnlisted: hostSaid(listed) || `exit ${listed.code ?? 'none'}` }
      : {}),
    ipv4,
    management,
  }
}

/**
 * The port groups and vSwitches that carry Midwife's connection. On a host
 * that does not list its VMkernel NICs, vmk0 is taken to be where an install
 * puts it, on the Management Network port group.
 */
export function managementPaths(h: HostSwitching): Array<{
  vmknic: string
  portgroup: string
  vswitch: string | null
}> {
  return h.management.map((name) => {
    const portgroup =
      h.vmknics === null
        ? name === 'vmk0'
          ? MANAGEMENT_PORTGROUP
          : ''
        : (h.vmknics.find((v) => v.name === name)?.portgroup ?? '')
    const vswitch = h.portgroups.find((p) => p.name === portgroup)?.vswitch ?? null
    return { vmknic: name, portgroup, vswitch }
  })
}

/** Whether a name looks like a physical NIC (vmnic0). */
export const isVmnic = (s: string): boolean => /^vmnic\d+$/.test(s)

/**
 * Splits one CSV cell holding several rows (`a:b:c;d:e:f`) into their fields,
 * each trimmed; empty rows are skipped.
 */
export function csvRows(cell: string): string[][] {
  return cell
    .split(';')
    .map((row) => row.trim())
    .filter((row) => row !== '')
    .map((row) => row.split(':').map((f) => f.trim()))
}

/** `vmnic0+vmnic1` -> [vmnic0, vmnic1] */
export const plusList = (text: string | undefined): string[] =>
  (text ?? '')
    .split('+')
    .map((s) => s.trim())
    .filter((s) => s !== '')

/** A whole number typed in a CSV cell; empty gives the fallback. */
export function csvNumber(text: string | undefined, fallback: number, what: string): number {
  const t = (text ?? '').trim()
  if (t === '') return fallback
  if (!/^\d+$/.test(t)) throw new Error(`${what} ${t} is not a whole number`)
  return Number(t)
}

/** Names listed more than once. */
export function repeated(names: readonly string[]): string[] {
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))]
}

/** Marks each row whose `field` repeats an earlier row's, where the form shows it. */
export function flagRepeats<K extends string>(
  rows: ReadonlyArray<Record<K, string>>,
  field: K,
  ctx: z.RefinementCtx,
  message: (value: string) => string,
): void {
  const seen = new Set<string>()
  rows.forEach((r, i) => {
    if (seen.has(r[field]))
      ctx.addIssue({ code: 'custom', path: [i, field], message: message(r[field]) })
    seen.add(r[field])
  })
}
