import { z } from 'zod'
import { esxcli } from '../shell'
import {
  type HostSwitching,
  csvNumber,
  csvRows,
  flagRepeats,
  parseTags,
  plusList,
  readSwitching,
  repeated,
} from '../switching'
import { defineSetting, type Change, type Command, type Reader } from '../types'
import { ipv4Prefix, mtu, splitPrefix, switchName } from '../values'

/** The VMkernel services Midwife tags; tags outside this list are left as they are. */
export const VMK_TAGS = [
  'VMotion',
  'vSphereProvisioning',
  'faultToleranceLogging',
  'vSAN',
  'Management',
] as const

export interface VmknicRow {
  /** The port group it sits on: the key, as ESXi takes one VMkernel NIC per port group. */
  portgroup: string
  /** dhcp, or a static address with its prefix (10.0.20.11/24); read back, none when unset. */
  ipv4: string
  /** null when read from a host that does not say (it does not list its VMkernel NICs). */
  mtu: number | null
  tags: string[]
  /**
   * Read only: the host does not list its VMkernel NICs, so `portgroup` is the wanted row's this
   * NIC was matched to by its address ('' when none), not one the host said.
   */
  unlisted?: boolean
  /** Read only: the interface ESXi knows it as (vmk1). */
  device?: string
  /** Read only: the address a DHCP lease gave it. */
  address?: string
  /** Read only: Midwife's connection runs through it (vmk0). */
  management?: boolean
}

const base = ['network', 'ip', 'interface']

const vmkAddress = z
  .string()
  .trim()
  .transform((s, ctx) => {
    if (s.toLowerCase() === 'dhcp') return 'dhcp'
    if (!s.includes('/')) {
      ctx.addIssue({
        code: 'custom',
        message: `${s || 'an empty value'} is not dhcp or an address with its prefix, like 10.0.20.11/24`,
      })
      return z.NEVER
    }
    const parsed = ipv4Prefix.safeParse(s)
    if (!parsed.success) {
      for (const i of parsed.error.issues) ctx.addIssue({ code: 'custom', message: i.message })
      return z.NEVER
    }
    return parsed.data
  })

const tag = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const known = VMK_TAGS.find((t) => t.toLowerCase() === s.toLowerCase())
    if (known) return known
    ctx.addIssue({
      code: 'custom',
      message: `${s || 'an empty tag'} is not a VMkernel service: use ${VMK_TAGS.join(', ')}`,
    })
    return z.NEVER
  })

const staticAddress = (ipv4: string): string | null =>
  ipv4.includes('/') ? splitPrefix(ipv4).address : null

/** The address a row holds now or is to hold (static, or the lease a DHCP row has). */
const heldAddress = (r: VmknicRow): string | null => staticAddress(r.ipv4) ?? r.address ?? null

function ipv4Set(device: string, ipv4: string): Command {
  if (ipv4 === 'dhcp') return { words: esxcli(...base, 'ipv4', 'set', '-i', device, '-t', 'dhcp') }
  const { address, netmask } = splitPrefix(ipv4)
  return {
    words: esxcli(
      ...base,
      'ipv4',
      'set',
      '-i',
      device,
      '-t',
      'static',
      '-I',
      address,
      '-N',
      netmask,
    ),
  }
}

const setMtu = (device: string, value: number): Command => ({
  words: esxcli(...base, 'set', '-m', String(value), '-i', device),
})
const tagCommand = (verb: 'add' | 'remove', device: string, t: string): Command => ({
  words: esxcli(...base, 'tag', verb, '-i', device, '-t', t),
})

const managed = (tags: readonly string[]) =>
  tags.filter((t) => (VMK_TAGS as readonly string[]).includes(t))

/** The MTU ESXi gives a new VMkernel NIC. */
const DEFAULT_MTU = 1500

const ADD_EXISTS = 'A vmkernel nic for the connection point already exists'

/** Where a row is, in words: "on vMotion", or that the host did not say. */
const on = (r: VmknicRow) =>
  r.portgroup ? `on ${r.portgroup}` : 'on a port group the host does not name'

/**
 * A host that does not list its VMkernel NICs (`ip interface list` is not among esxi.md's
 * commands): they come from `ipv4 get`, their tags from `tag get`. Which port group each is on
 * cannot be read, so a wanted row's NIC is the one holding its static address; the NICs Midwife's
 * connection runs through are never matched. Their MTU cannot be read either.
 */
async function readUnlisted(
  r: Reader,
  host: HostSwitching,
  wanted: readonly VmknicRow[],
): Promise<VmknicRow[]> {
  const rows: VmknicRow[] = []
  for (const [name, ip] of host.ipv4) {
    const management = host.management.includes(name)
    const row = management
      ? undefined
      : wanted.find((w) => ip.address !== '0.0.0.0' && staticAddress(w.ipv4) === ip.address)
    rows.push({
      portgroup: row?.portgroup ?? '',
      ipv4: ip.config,
      mtu: null,
      tags: parseTags(await r.read(esxcli(...base, 'tag', 'get', '-i', name))),
      unlisted: true,
      device: name,
      ...(ip.config === 'dhcp' && ip.address !== '0.0.0.0' ? { address: ip.address } : {}),
      ...(management ? { management: true } : {}),
    })
  }
  return rows
}

/**
 * Additional VMkernel NICs (vMotion, vSAN, provisioning...), one per port
 * group: a row is keyed by its port group, so a re-run finds the NIC it made
 * and never adds a second one. Never vmk0, nor whichever NIC carries Midwife's
 * connection: the management address is its own setting. NICs the table does
 * not name are left alone.
 */
export const vmknics = defineSetting<VmknicRow[]>({
  key: 'vmknics',
  title: 'VMkernel NICs',
  group: 'vmkernel',
  description:
    'Extra VMkernel NICs, one per port group, each with its address, MTU and services; others are left alone.',
  // A fresh host has only VM Network and Management Network; a real design puts this NIC on
  // a port group of its own (vMotion), made by the port group setting.
  example: [{ portgroup: 'VM Network', ipv4: '10.0.20.11/24', mtu: 1500, tags: ['VMotion'] }],
  value: z
    .array(
      z.object({
        portgroup: switchName,
        ipv4: vmkAddress,
        mtu: mtu.default(1500),
        tags: z
          .array(tag)
          .default([])
          .superRefine((tags, ctx) => {
            for (const t of repeated(tags)) {
              ctx.addIssue({ code: 'custom', message: `${t} is listed twice` })
            }
          }),
      }),
    )
    .min(1, 'add at least one VMkernel NIC')
    .superRefine((rows, ctx) => {
      flagRepeats(
        rows,
        'portgroup',
        ctx,
        (pg) => `${pg} is listed twice: ESXi takes one VMkernel NIC per port group`,
      )
      const addresses = rows.map((r) => staticAddress(r.ipv4) ?? '')
      for (const a of repeated(addresses.filter((x) => x !== ''))) {
        const holders = rows.filter((_, i) => addresses[i] === a).map((r) => r.portgroup)
        ctx.addIssue({
          code: 'custom',
          path: [addresses.lastIndexOf(a), 'ipv4'],
          message: `${a} is given to ${holders.join(' and ')}: each VMkernel NIC needs its own address`,
        })
      }
    }),
  scope: 'host',
  field: {
    kind: 'table',
    columns: [
      { key: 'portgroup', title: 'Port group', field: { kind: 'text', placeholder: 'vMotion' } },
      {
        key: 'ipv4',
        title: 'IPv4',
        field: {
          kind: 'text',
          placeholder: '10.0.20.11/24',
          hint: 'An address with its prefix, or dhcp',
        },
      },
      { key: 'mtu', title: 'MTU', field: { kind: 'number', min: 1280, max: 9000 } },
      {
        key: 'tags',
        title: 'Services',
        field: { kind: 'list', placeholder: 'VMotion', hint: VMK_TAGS.join(', ') },
      },
    ],
    hint: 'One per port group; the management interface (vmk0) is set under Management network.',
  },
  csv: {
    columns: ['vmknics'],
    // portgroup:ipv4:mtu:tags, tags joined by +, NICs by ;
    // e.g. vMotion:10.0.20.11/24:9000:VMotion;Provisioning:dhcp:1500:vSphereProvisioning
    toCsv: (v) => ({
      vmknics: v.map((r) => `${r.portgroup}:${r.ipv4}:${r.mtu}:${r.tags.join('+')}`).join(';'),
    }),
    fromCsv: (row) => {
      const rows = csvRows(row.vmknics ?? '')
      if (rows.length === 0) return undefined
      return rows.map((f) => {
        if (f.length < 2 || f.length > 4) {
          throw new Error(
            `vmknics: "${f.join(':')}" should be portgroup:ipv4:mtu:services, like vMotion:10.0.20.11/24:9000:VMotion`,
          )
        }
        const [portgroup = '', ipv4 = '', mtuText, tags] = f
        return {
          portgroup,
          ipv4,
          mtu: csvNumber(mtuText, 1500, `vmknics: the MTU of ${portgroup}`),
          tags: plusList(tags),
        }
      })
    },
  },
  // Static addresses only: a DHCP lease is the DHCP server's to hand out.
  addresses: (rows) => rows.flatMap((r) => staticAddress(r.ipv4) ?? []),
  async read(r, ctx, wanted) {
    const host = await readSwitching(r, ctx)
    if (host.vmknics === null) return readUnlisted(r, host, wanted)
    const rows: VmknicRow[] = []
    for (const v of host.vmknics) {
      const ip = host.ipv4.get(v.name)
      const tags = parseTags(await r.read(esxcli(...base, 'tag', 'get', '-i', v.name)))
      rows.push({
        portgroup: v.portgroup,
        ipv4: ip?.config ?? 'none',
        mtu: v.mtu,
        tags,
        device: v.name,
        ...(ip?.config === 'dhcp' && ip.address !== '0.0.0.0' ? { address: ip.address } : {}),
        ...(host.management.includes(v.name) ? { management: true } : {}),
      })
    }
    return rows
  },
  diff(current, wanted) {
    const unlisted = current.some((c) => c.unlisted)
    const taken = new Set(current.map((c) => c.device))
    const nextDevice = () => {
      let n = 1
      while (taken.has(`vmk${n}`)) n++
      taken.add(`vmk${n}`)
      return `vmk${n}`
    }
    const changes: Change[] = []
    for (const w of wanted) {
      const c = current.find((x) => x.portgroup === w.portgroup)
      if (c?.management) {
        throw new Error(
          `${w.portgroup} holds ${c.device ?? 'the management interface'}, which carries Midwife's connection; its address is the management network setting's. Take ${w.portgroup} out of this table, or give the NIC a port group of its own.`,
        )
      }
      const address = staticAddress(w.ipv4)
      const holder = current.find((x) => x !== c && address !== null && heldAddress(x) === address)
      if (holder) {
        throw new Error(
          `${address} is ${holder.device ?? 'another interface'}'s address now (${on(holder)}); two interfaces would share it. Give ${w.portgroup} another address, or change ${holder.device ?? 'that interface'} first.`,
        )
      }
      const wantedMtu = w.mtu ?? DEFAULT_MTU
      if (!c && unlisted) {
        if (address === null) {
          throw new Error(
            `this host does not list its VMkernel NICs, so Midwife finds the one on ${w.portgroup} by its static address, and a DHCP address cannot be known in advance. Give ${w.portgroup} a static address, or add that NIC by hand and take it out of this table.`,
          )
        }
        // Only esxi.md's commands, and the MTU only when it is not what ESXi gives a new NIC.
        const device = nextDevice()
        const strangers = current
          .filter((x) => !x.management && !x.portgroup)
          .map((x) => `${x.device ?? '?'} (${x.ipv4 === 'none' ? 'no address' : x.ipv4})`)
        changes.push({
          summary: `add ${device} on ${w.portgroup}: ${w.ipv4}, MTU ${wantedMtu}${w.tags.length ? `, ${w.tags.join(', ')}` : ''}`,
          commands: [
            {
              words: esxcli(...base, 'add', '-i', device, '-p', w.portgroup),
              known: [
                {
                  said: ADD_EXISTS,
                  meaning: `${w.portgroup} already has a VMkernel NIC, and this host does not list its VMkernel NICs, so Midwife cannot tell which one it is (it finds them by their address, and none holds ${address}${strangers.length ? `; NICs on this host that match no row: ${strangers.join(', ')}` : ''}). Give that NIC its address by hand, or remove it, then plan again.`,
                },
              ],
            },
            ipv4Set(device, w.ipv4),
            ...(wantedMtu === DEFAULT_MTU ? [] : [setMtu(device, wantedMtu)]),
            ...w.tags.map((t) => tagCommand('add', device, t)),
          ],
        })
        continue
      }
      if (!c) {
        const device = nextDevice()
        changes.push({
          summary: `add ${device} on ${w.portgroup}: ${w.ipv4}, MTU ${wantedMtu}${w.tags.length ? `, ${w.tags.join(', ')}` : ''}`,
          commands: [
            { words: esxcli(...base, 'add', '-i', device, '-p', w.portgroup) },
            setMtu(device, wantedMtu),
            ipv4Set(device, w.ipv4),
            ...w.tags.map((t) => tagCommand('add', device, t)),
          ],
        })
        continue
      }
      const device = c.device ?? ''
      const parts: string[] = []
      const commands: Command[] = []
      if (c.mtu === null) {
        // The host does not say: set on every run, like a firewall ruleset it does not list,
        // unless the NIC is to keep the MTU ESXi gives every new one.
        if (wantedMtu !== DEFAULT_MTU) {
          parts.push(`MTU ${wantedMtu} (the host does not say its MTU)`)
          commands.push(setMtu(device, wantedMtu))
        }
      } else if (c.mtu !== wantedMtu) {
        parts.push(`MTU ${c.mtu} -> ${wantedMtu}`)
        commands.push(setMtu(device, wantedMtu))
      }
      if (c.ipv4 !== w.ipv4) {
        parts.push(`${c.ipv4} -> ${w.ipv4}`)
        commands.push(ipv4Set(device, w.ipv4))
      }
      const have = managed(c.tags)
      const add = w.tags.filter((t) => !have.includes(t))
      const drop = have.filter((t) => !w.tags.includes(t))
      if (add.length) parts.push(`tag ${add.join(', ')}`)
      if (drop.length) parts.push(`untag ${drop.join(', ')}`)
      commands.push(
        ...add.map((t) => tagCommand('add', device, t)),
        ...drop.map((t) => tagCommand('remove', device, t)),
      )
      if (commands.length)
        changes.push({ summary: `${device} on ${w.portgroup}: ${parts.join('; ')}`, commands })
    }
    return changes
  },
  // An MTU the host does not say is no failure: everything it can say must be as wanted.
  verify(after, wanted, ctx) {
    const known = after.map((a) =>
      a.mtu === null
        ? { ...a, mtu: wanted.find((w) => w.portgroup === a.portgroup)?.mtu ?? DEFAULT_MTU }
        : a,
    )
    return this.diff(known, wanted, ctx).length === 0
  },
  show: (v) =>
    v.length === 0
      ? '(no VMkernel NICs)'
      : v
          .map(
            (r) =>
              `${r.device ? `${r.device} ` : ''}${r.device || r.unlisted ? on(r) : r.portgroup}: ${r.ipv4}${r.address ? ` (${r.address})` : ''}, MTU ${r.mtu ?? 'unknown'}` +
              (r.tags.length ? `, ${r.tags.join(', ')}` : ''),
          )
          .join('; '),
  planNote: 'VMkernel NICs on port groups the design does not name are left as they are.',
  readNote: (current) =>
    current.some((c) => c.unlisted)
      ? 'This host does not list its VMkernel NICs (`esxcli network ip interface list`), so Midwife matched each to its port group by its static address, and cannot read their MTU.'
      : null,
  connection: 'keeps',
  after: ['portgroups'],
})
