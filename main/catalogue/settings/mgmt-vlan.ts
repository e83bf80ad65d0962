import { parseTable } from '../parse'
import { esxcli } from '../shell'
import { defineSetting, type Reader } from '../types'
import { vlanId } from '../values'

/** The port group vmk0 sits on after an install (the kickstart's network line configures it). */
export const MANAGEMENT_PORTGROUP = 'Management Network'

const portgroup = ['network', 'vswitch', 'standard', 'portgroup']

/** The Management Network port group's VLAN; a host without that port group is an error. */
export async function readManagementVlan(r: Reader): Promise<number> {
  const rows = parseTable(await r.read(esxcli(...portgroup, 'list')))
  const row = rows.find((p) => p['Name'] === MANAGEMENT_PORTGROUP)
  const vlan = Number(row?.['VLAN ID'])
  if (!row || !Number.isInteger(vlan)) {
    throw new Error(
      `this host has no port group named ${MANAGEMENT_PORTGROUP} (port groups: ${rows.map((p) => p['Name']).join(', ') || 'none'})`,
    )
  }
  return vlan
}

export const setManagementVlan = (vlan: number): string[] =>
  esxcli(...portgroup, 'set', '-p', MANAGEMENT_PORTGROUP, '-v', String(vlan))

/**
 * The management VLAN. It moves the connection: once the port group tags
 * vmk0's traffic with another VLAN, the host is reachable only if the switch
 * port carries that VLAN and it leads to Midwife, and ESXi accepts any VLAN
 * without complaint. Only a check from the host (its gateway answers) and a
 * rollback that needs no SSH can undo a wrong one, so a running host changes
 * it through the management move.
 */
export const mgmtVlan = defineSetting<number>({
  key: 'mgmtVlan',
  title: 'Management VLAN',
  group: 'management',
  description: 'The VLAN of the Management Network port group; 0 sends untagged.',
  example: 20,
  value: vlanId,
  scope: 'site',
  field: { kind: 'number', min: 0, max: 4095, hint: '0 for untagged; 4095 passes every VLAN.' },
  csv: {
    columns: ['mgmt_vlan'],
    toCsv: (v) => ({ mgmt_vlan: String(v) }),
    fromCsv: (row) => (row.mgmt_vlan?.trim() ? Number(row.mgmt_vlan.trim()) : undefined),
  },
  // VLAN 0 is the installer's own default: nothing to add to the network line.
  kickstart: (v) => (v === 0 ? {} : { network: { vlanid: String(v) } }),
  read: (r) => readManagementVlan(r),
  diff(current, wanted) {
    if (current === wanted) return []
    return [
      {
        summary: `${MANAGEMENT_PORTGROUP} on VLAN ${wanted}`,
        commands: [{ words: setManagementVlan(wanted) }],
      },
    ]
  },
  show: (v) => (v === 0 ? 'VLAN 0 (untagged)' : `VLAN ${v}`),
  planNote:
    "if vmk0's address comes from DHCP, the move makes that address static, so Midwife can find the host after it",
  connection: 'moves',
  after: ['mgmtAddress', 'defaultGateway'],
})
