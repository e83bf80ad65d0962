import { z } from 'zod'
import { parseNicList } from '../parse'
import { esxcli, sameList } from '../shell'
import {
  csvNumber,
  csvRows,
  LIST_NICS,
  managementPaths,
  parseFailover,
  plusList,
  readSwitching,
  flagRepeats,
} from '../switching'
import { defineSetting, type Change } from '../types'
import { mtu, switchName, vmnicName } from '../values'

export interface VswitchRow {
  name: string
  mtu: number
  /** Active uplinks, in failover order. */
  uplinks: string[]
  /** Standby uplinks, in failover order: used only when every active one is down. */
  standby: string[]
  /** Read only: uplinks on the vSwitch that are neither active nor standby. */
  unused?: string[]
  /** Read only: every physical NIC on the host, and whether its link is up. */
  nics?: Record<string, boolean>
  /** Read only, on the vSwitch that carries Midwife's connection: through what. */
  management?: { vmknics: string[]; portgroups: string[] }
  /**
   * Read only: the host gave no failover order (`policy failover get` is not among the commands
   * esxi.md gives). The uplinks are then the vSwitch's, in its order, all taken as active.
   */
  orderUnread?: true
}

const base = ['network', 'vswitch', 'standard']
const failoverGet = (name: string) => esxcli(...base, 'policy', 'failover', 'get', '-v', name)

const members = (r: VswitchRow): string[] => [...r.uplinks, ...r.standby, ...(r.unused ?? [])]
const wantedUplinks = (r: VswitchRow): string[] => [...r.uplinks, ...r.standby]

const names = (list: readonly string[]) => list.join(', ')

/** Physical NIC -> the vSwitch it is an uplink of now. */
const ownersOf = (current: VswitchRow[]) =>
  new Map(current.flatMap((c) => members(c).map((u) => [u, c.name] as const)))

const row = z
  .object({
    name: switchName,
    mtu: mtu.default(1500),
    uplinks: z.array(vmnicName).default([]),
    standby: z.array(vmnicName).default([]),
  })
  .superRefine((r, ctx) => {
    if (r.standby.length > 0 && r.uplinks.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['uplinks'],
        message: `${r.name} has standby uplinks but no active one: put the first one under Active uplinks`,
      })
    }
  })

/**
 * Standard vSwitches: created when missing, MTU set, uplinks added and
 * removed, and the active/standby failover order set. Midwife manages only the
 * vSwitches the table names; it never deletes one. Uplinks change in an order
 * that keeps the vSwitch carrying Midwife's connection linked at every moment
 * (new uplinks first, old ones after), and a design that would cut it off is
 * refused.
 */
export const vswitches = defineSetting<VswitchRow[]>({
  key: 'vswitches',
  title: 'Standard vSwitches',
  group: 'switching',
  description:
    'The vSwitches Midwife manages: created if missing, never deleted; vSwitches not listed are left alone.',
  example: [
    { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'], standby: [] },
    { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic1'], standby: [] },
  ],
  value: z
    .array(row)
    .min(1, 'add at least one vSwitch')
    .superRefine((rows, ctx) => {
      flagRepeats(rows, 'name', ctx, (n) => `${n} is listed twice`)
      const owners = new Map<string, string>()
      rows.forEach((r, i) => {
        for (const u of wantedUplinks(r)) {
          const other = owners.get(u)
          if (other !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [i, r.standby.includes(u) ? 'standby' : 'uplinks'],
              message:
                other === r.name
                  ? `${u} is listed twice on ${r.name}`
                  : `${u} is an uplink of ${other} and of ${r.name}: a physical NIC belongs to one vSwitch`,
            })
          }
          owners.set(u, r.name)
        }
      })
    }),
  scope: 'site',
  field: {
    kind: 'table',
    columns: [
      { key: 'name', title: 'Name', field: { kind: 'text', placeholder: 'vSwitch1' } },
      {
        key: 'mtu',
        title: 'MTU',
        field: { kind: 'number', min: 1280, max: 9000, hint: '1500, or 9000 for jumbo frames' },
      },
      {
        key: 'uplinks',
        title: 'Active uplinks',
        field: { kind: 'list', placeholder: 'vmnic0, vmnic1', hint: 'In failover order.' },
      },
      {
        key: 'standby',
        title: 'Standby uplinks',
        field: {
          kind: 'list',
          placeholder: 'vmnic2',
          hint: 'Carry traffic only when every active uplink is down.',
        },
      },
    ],
    hint: 'vSwitches not listed here are left as they are.',
  },
  csv: {
    columns: ['vswitches'],
    // name:mtu:active[:standby], uplinks joined by +, vSwitches by ;
    // e.g. vSwitch0:1500:vmnic0:vmnic1;vSwitch1:9000:vmnic2+vmnic3
    toCsv: (v) => ({
      vswitches: v
        .map(
          (r) =>
            `${r.name}:${r.mtu}:${r.uplinks.join('+')}` +
            (r.standby.length ? `:${r.standby.join('+')}` : ''),
        )
        .join(';'),
    }),
    fromCsv: (row) => {
      const rows = csvRows(row.vswitches ?? '')
      if (rows.length === 0) return undefined
      return rows.map((f) => {
        if (f.length > 4) {
          throw new Error(
            `vswitches: "${f.join(':')}" has ${f.length} fields; write name:mtu:active uplinks:standby uplinks, like vSwitch1:9000:vmnic2+vmnic3`,
          )
        }
        const [name = '', mtuText, active, standby] = f
        return {
          name,
          mtu: csvNumber(mtuText, 1500, `vswitches: the MTU of ${name}`),
          uplinks: plusList(active),
          standby: plusList(standby),
        }
      })
    },
  },
  async read(r, ctx) {
    const host = await readSwitching(r, ctx)
    const nics = Object.fromEntries(
      parseNicList(await r.read(LIST_NICS)).map((n) => [n.name, n.link === 'Up']),
    )
    const paths = managementPaths(host)
    const rows: VswitchRow[] = []
    for (const v of host.vswitches) {
      const got = await r.probe(failoverGet(v.name))
      const f =
        got.code === 0
          ? parseFailover(got.stdout)
          : { active: v.uplinks, standby: [], unused: [], unread: true }
      // Only the vSwitch's own uplinks count; the list of uplinks is the authority.
      const uplinks = f.active.filter((u) => v.uplinks.includes(u))
      const standby = f.standby.filter((u) => v.uplinks.includes(u) && !uplinks.includes(u))
      const unused = v.uplinks.filter((u) => !uplinks.includes(u) && !standby.includes(u))
      const carried = paths.filter((p) => p.vswitch === v.name)
      rows.push({
        name: v.name,
        mtu: v.mtu,
        uplinks,
        standby,
        ...(unused.length ? { unused } : {}),
        nics,
        ...('unread' in f ? { orderUnread: true as const } : {}),
        ...(carried.length
          ? {
              management: {
                vmknics: carried.map((p) => p.vmknic),
                portgroups: [...new Set(carried.map((p) => p.portgroup))],
              },
            }
          : {}),
      })
    }
    return rows
  },
  diff(current, wanted) {
    refuseUnsafe(current, wanted)
    const owner = ownersOf(current)
    const created: Change[] = []
    const resized: Change[] = []
    const addedFree: Change[] = []
    const removed: Change[] = []
    const addedFreed: Change[] = []
    const ordered: Change[] = []
    for (const w of wanted) {
      const c = current.find((x) => x.name === w.name)
      if (!c) {
        created.push({
          summary: `create ${w.name} with MTU ${w.mtu}`,
          commands: [
            { words: esxcli(...base, 'add', '-v', w.name) },
            { words: esxcli(...base, 'set', '-v', w.name, '-m', String(w.mtu)) },
          ],
        })
      } else if (c.mtu !== w.mtu) {
        resized.push({
          summary: `${w.name} MTU ${c.mtu} -> ${w.mtu}`,
          commands: [{ words: esxcli(...base, 'set', '-v', w.name, '-m', String(w.mtu)) }],
        })
      }
      const have = c ? members(c) : []
      const want = wantedUplinks(w)
      const adds = want.filter((u) => !have.includes(u))
      const drops = have.filter((u) => !want.includes(u))
      // A NIC that another vSwitch gives up can be added only after it is removed there.
      const free = adds.filter((u) => !owner.has(u))
      const freed = adds.filter((u) => owner.has(u))
      const uplinkAdd = (u: string) => ({
        words: esxcli(...base, 'uplink', 'add', '-u', u, '-v', w.name),
      })
      if (free.length)
        addedFree.push({ summary: `${w.name}: add ${names(free)}`, commands: free.map(uplinkAdd) })
      if (drops.length) {
        removed.push({
          summary: `${w.name}: remove ${names(drops)}`,
          commands: drops.map((u) => ({
            words: esxcli(...base, 'uplink', 'remove', '-u', u, '-v', w.name),
          })),
        })
      }
      if (freed.length) {
        addedFreed.push({
          summary: `${w.name}: add ${names(freed)} (from ${names([...new Set(freed.map((u) => owner.get(u) ?? ''))])})`,
          commands: freed.map(uplinkAdd),
        })
      }
      // Where added uplinks land in the failover order is not documented for esxcli, so after
      // any change of uplinks the order is set explicitly. On a host that does not say its order
      // (see orderUnread), added uplinks are active, as a new vSwitch's are, and only standby
      // uplinks need the order set.
      const unread = c ? c.orderUnread === true : current.some((x) => x.orderUnread)
      const reorder = unread
        ? w.standby.length > 0
        : adds.length > 0 ||
          drops.length > 0 ||
          !c ||
          !sameList(c.uplinks, w.uplinks) ||
          !sameList(c.standby, w.standby)
      if (want.length > 0 && reorder) {
        ordered.push({
          summary: `${w.name}: active ${names(w.uplinks)}${w.standby.length ? `, standby ${names(w.standby)}` : ''}`,
          commands: [
            {
              words: esxcli(
                ...base,
                'policy',
                'failover',
                'set',
                '-v',
                w.name,
                '-a',
                w.uplinks.join(','),
                ...(w.standby.length ? ['-s', w.standby.join(',')] : []),
              ),
            },
          ],
        })
      }
    }
    return [...created, ...resized, ...addedFree, ...removed, ...addedFreed, ...ordered]
  },
  show: (v) =>
    v.length === 0
      ? '(no vSwitches)'
      : v
          .map(
            (r) =>
              `${r.name} (MTU ${r.mtu}): ${names(r.uplinks) || 'no uplinks'}` +
              (r.standby.length ? `, standby ${names(r.standby)}` : '') +
              (r.unused?.length ? `, unused ${names(r.unused)}` : ''),
          )
          .join('; '),
  planNote: 'vSwitches the design does not name are left as they are.',
  connection: 'keeps',
})

/**
 * Refuses, before anything runs, a design that names NICs the host lacks,
 * takes an uplink from a vSwitch it does not name, or would leave the vSwitch
 * that carries Midwife's connection without a linked uplink at any moment.
 */
function refuseUnsafe(current: VswitchRow[], wanted: VswitchRow[]): void {
  const nics = current[0]?.nics
  if (nics) {
    const unknown = wanted.flatMap(wantedUplinks).filter((u) => !Object.hasOwn(nics, u))
    if (unknown.length) {
      throw new Error(
        `${names(unknown)} ${unknown.length > 1 ? 'are not physical NICs' : 'is not a physical NIC'} on this host (it has ${names(Object.keys(nics)) || 'none'})`,
      )
    }
  }
  const owner = ownersOf(current)
  for (const w of wanted) {
    for (const u of wantedUplinks(w)) {
      const from = owner.get(u)
      if (from !== undefined && from !== w.name && !wanted.some((x) => x.name === from)) {
        throw new Error(
          `${u} is an uplink of ${from}, which the design does not name: Midwife leaves ${from} alone, so it cannot give ${u} to ${w.name}. Add ${from} to the table with the uplinks it keeps, or move ${u} by hand.`,
        )
      }
    }
  }
  for (const c of current.filter((x) => x.management)) {
    const w = wanted.find((x) => x.name === c.name)
    if (!w) continue
    const want = wantedUplinks(w)
    const dropped = members(c).filter((u) => !want.includes(u))
    if (dropped.length === 0) continue
    // What carries traffic once the old uplinks are gone: the active and standby uplinks it
    // keeps, and NICs added before the removals (new uplinks are active). Not yet the NICs other
    // vSwitches give up, nor uplinks that stay unused until the failover order is set last.
    const between = want.filter(
      (u) => c.uplinks.includes(u) || c.standby.includes(u) || !owner.has(u),
    )
    const linked = between.filter((u) => nics?.[u] !== false)
    if (linked.length > 0) continue
    const via = `${names(c.management?.vmknics ?? [])} on ${names(c.management?.portgroups ?? [])}`
    const elsewhere = want.filter((u) => owner.has(u) && owner.get(u) !== c.name)
    const idle = want.filter((u) => c.unused?.includes(u))
    const is = (l: readonly string[]) => `${names(l)} ${l.length > 1 ? 'are' : 'is'}`
    const why =
      want.length === 0
        ? 'the design leaves it no uplink'
        : between.length === 0
          ? [
              elsewhere.length
                ? `${is(elsewhere)} still on ${names([...new Set(elsewhere.map((u) => owner.get(u) ?? ''))])} until then`
                : '',
              idle.length ? `${is(idle)} unused until the failover order is set` : '',
            ]
              .filter((t) => t !== '')
              .join(', and ')
          : `${names(between)} ${between.length > 1 ? 'have' : 'has'} no link`
    throw new Error(
      `${c.name} carries Midwife's connection (${via}); removing ${names(dropped)} would cut the host off the network, because ${why}. ` +
        `Keep an uplink with a live link on ${c.name}: add the new uplink next to the old one in one run, and remove the old one in the next.`,
    )
  }
}
