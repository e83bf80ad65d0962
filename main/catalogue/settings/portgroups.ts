import { z } from 'zod'
import { esxcli } from '../shell'
import { csvNumber, csvRows, flagRepeats, managementPaths, readSwitching } from '../switching'
import { defineSetting, type Change, type Command } from '../types'
import { switchName, vlanId } from '../values'

export interface PortgroupRow {
  name: string
  vswitch: string
  vlan: number
  /** Read only: VMkernel NICs and VM ports on it. */
  clients?: number
  /** Read only: the VMkernel NICs on it that carry Midwife's connection (vmk0). */
  management?: string[]
}

const base = ['network', 'vswitch', 'standard', 'portgroup']

const setVlan = (name: string, vlan: number): Command => ({
  words: esxcli(...base, 'set', '-p', name, '-v', String(vlan)),
})

const clientsText = (n: number) => `${n} active client${n === 1 ? '' : 's'}`

/**
 * Port groups on standard vSwitches, with their VLAN. Missing ones are added
 * (the VLAN is then set explicitly); port groups the table does not name are
 * left alone. Moving a port group to another vSwitch means removing it, so
 * Midwife does that only while nothing uses it, and never to the port group
 * Midwife's own connection runs through.
 */
export const portgroups = defineSetting<PortgroupRow[]>({
  key: 'portgroups',
  title: 'Port groups',
  group: 'switching',
  description:
    'Port groups and their VLANs; added if missing, never removed. Port groups not listed are left alone.',
  example: [
    { name: 'vMotion', vswitch: 'vSwitch0', vlan: 20 },
    { name: 'VM Network', vswitch: 'vSwitch0', vlan: 30 },
  ],
  value: z
    .array(
      z.object({
        name: switchName,
        vswitch: switchName,
        vlan: vlanId.default(0),
      }),
    )
    .min(1, 'add at least one port group')
    .superRefine((rows, ctx) =>
      flagRepeats(
        rows,
        'name',
        ctx,
        (n) => `${n} is listed twice: a port group name is unique on the host`,
      ),
    ),
  scope: 'site',
  field: {
    kind: 'table',
    columns: [
      { key: 'name', title: 'Name', field: { kind: 'text', placeholder: 'vMotion' } },
      { key: 'vswitch', title: 'vSwitch', field: { kind: 'text', placeholder: 'vSwitch1' } },
      {
        key: 'vlan',
        title: 'VLAN',
        field: {
          kind: 'number',
          min: 0,
          max: 4095,
          hint: '0: untagged; 4095: every VLAN passes to guests',
        },
      },
    ],
    hint: 'The vSwitch must be vSwitch0 or one in the vSwitch table.',
  },
  csv: {
    columns: ['portgroups'],
    // name:vswitch:vlan, port groups separated by ; e.g. vMotion:vSwitch1:20;VM Network:vSwitch0:0
    toCsv: (v) => ({ portgroups: v.map((r) => `${r.name}:${r.vswitch}:${r.vlan}`).join(';') }),
    fromCsv: (row) => {
      const rows = csvRows(row.portgroups ?? '')
      if (rows.length === 0) return undefined
      return rows.map((f) => {
        if (f.length < 2 || f.length > 3) {
          throw new Error(
            `portgroups: "${f.join(':')}" should be name:vswitch:vlan, like vMotion:vSwitch1:20`,
          )
        }
        const [name = '', vswitch = '', vlan] = f
        return { name, vswitch, vlan: csvNumber(vlan, 0, `portgroups: the VLAN of ${name}`) }
      })
    },
  },
  async read(r, ctx) {
    const host = await readSwitching(r, ctx)
    const paths = managementPaths(host)
    return host.portgroups.map((p) => {
      const via = paths.filter((m) => m.portgroup === p.name).map((m) => m.vmknic)
      return {
        name: p.name,
        vswitch: p.vswitch,
        vlan: p.vlan,
        clients: p.clients,
        ...(via.length ? { management: via } : {}),
      }
    })
  },
  diff(current, wanted) {
    const changes: Change[] = []
    for (const w of wanted) {
      const c = current.find((x) => x.name === w.name)
      if (!c) {
        changes.push({
          summary: `add ${w.name} on ${w.vswitch}, VLAN ${w.vlan}`,
          commands: [
            { words: esxcli(...base, 'add', '-p', w.name, '-v', w.vswitch) },
            setVlan(w.name, w.vlan),
          ],
        })
        continue
      }
      const moved = c.vswitch !== w.vswitch
      if ((moved || c.vlan !== w.vlan) && c.management) {
        throw new Error(
          `${w.name} carries Midwife's connection (${c.management.join(', ')}): ` +
            (moved
              ? `moving it from ${c.vswitch} to ${w.vswitch} would cut the host off mid-run. Keep it on ${c.vswitch} in the table, or move it at the console.`
              : `its VLAN (${c.vlan} -> ${w.vlan}) is the management network setting's, which changes it last and survives the connection dropping. Take ${w.name} out of the port group table.`),
        )
      }
      if (moved) {
        if ((c.clients ?? 0) > 0) {
          throw new Error(
            `${w.name} is on ${c.vswitch}, not ${w.vswitch}, and has ${clientsText(c.clients ?? 0)} (VMkernel NICs or VM ports). ` +
              `Moving a port group means removing it and adding it again, which would disconnect them: move or remove its clients, then run again.`,
          )
        }
        changes.push({
          summary: `move ${w.name} from ${c.vswitch} to ${w.vswitch} (unused, so removed and added again), VLAN ${w.vlan}`,
          commands: [
            { words: esxcli(...base, 'remove', '-p', w.name, '-v', c.vswitch) },
            { words: esxcli(...base, 'add', '-p', w.name, '-v', w.vswitch) },
            setVlan(w.name, w.vlan),
          ],
        })
      } else if (c.vlan !== w.vlan) {
        changes.push({
          summary: `${w.name} VLAN ${c.vlan} -> ${w.vlan}`,
          commands: [setVlan(w.name, w.vlan)],
        })
      }
    }
    return changes
  },
  show: (v) =>
    v.length === 0
      ? '(no port groups)'
      : v.map((r) => `${r.name} on ${r.vswitch}, VLAN ${r.vlan}`).join('; '),
  planNote: 'Port groups the design does not name are left as they are.',
  connection: 'keeps',
  after: ['vswitches'],
})
