import { z } from 'zod'
import { parseKeyValues, parseList } from '../parse'
import { esxcli, sameList, showList } from '../shell'
import { defineSetting } from '../types'
import { ipv4, isIpAddress, splitWords } from '../values'

const base = ['network', 'ip', 'dns', 'server']

/**
 * DNS servers, in order (the first is asked first). Adds are not idempotent,
 * so only what is missing is added; when the order cannot be reached by
 * removing and appending, the list is rebuilt.
 */
export const dnsServers = defineSetting<string[]>({
  key: 'dns',
  title: 'DNS servers',
  group: 'management',
  description: 'Asked in this order.',
  example: ['10.0.0.2', '10.0.0.3'],
  value: z
    .array(ipv4)
    .min(1, 'add at least one DNS server')
    .max(8, 'ESXi takes at most 8 DNS servers')
    .refine((l) => new Set(l).size === l.length, 'a DNS server is listed twice'),
  scope: 'site',
  field: { kind: 'list', placeholder: '10.0.0.2, 10.0.0.3', hint: 'In order; comma separated.' },
  csv: {
    columns: ['dns_servers'],
    toCsv: (v) => ({ dns_servers: v.join(' ') }),
    fromCsv: (row) => (row.dns_servers ? splitWords(row.dns_servers) : undefined),
  },
  kickstart: (v) => ({ network: { nameserver: v.join(',') } }),
  async read(r) {
    // Servers are addresses (esxi.md): whatever else the line holds is how this host spells an
    // empty list, and planning `remove --server=None` would fail the step.
    return parseList(parseKeyValues(await r.read(esxcli(...base, 'list')))['DNSServers']).filter(
      isIpAddress,
    )
  },
  diff(current, wanted) {
    if (sameList(current, wanted)) return []
    const kept = current.filter((s) => wanted.includes(s))
    const added = wanted.filter((s) => !current.includes(s))
    const commands = sameList([...kept, ...added], wanted)
      ? [
          ...current
            .filter((s) => !wanted.includes(s))
            .map((s) => ({ words: esxcli(...base, 'remove', `--server=${s}`) })),
          ...added.map((s) => ({ words: esxcli(...base, 'add', `--server=${s}`) })),
        ]
      : [
          { words: esxcli(...base, 'remove', '--all') },
          ...wanted.map((s) => ({ words: esxcli(...base, 'add', `--server=${s}`) })),
        ]
    return [{ summary: `DNS servers ${showList(wanted)}`, commands }]
  },
  show: showList,
  connection: 'keeps',
})
