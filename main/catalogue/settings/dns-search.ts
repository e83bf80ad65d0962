import { z } from 'zod'
import { parseKeyValues, parseList } from '../parse'
import { esxcli, sameList, showList } from '../shell'
import { defineSetting } from '../types'
import { domainName, splitWords } from '../values'

const base = ['network', 'ip', 'dns', 'search']

/**
 * DNS search domains, in order. esxi.md lists `search add` and `list` only, and an ESXi host
 * may carry a domain of its own (its sample lists `localdomain` first): domains the design does
 * not name stay, and the named ones are added in order after those already in place. Only a
 * named domain that stands out of order is removed (and added again); nothing is added twice
 * (whether a duplicate add fails is unconfirmed).
 */
export const dnsSearch = defineSetting<string[]>({
  key: 'dnsSearch',
  title: 'DNS search domains',
  group: 'management',
  description: 'Tried in this order for short names.',
  example: ['lab.local', 'corp.local'],
  value: z
    .array(domainName)
    .max(6, 'at most 6 search domains')
    .refine((l) => new Set(l).size === l.length, 'a search domain is listed twice'),
  scope: 'site',
  field: { kind: 'list', placeholder: 'lab.local', hint: 'In order; comma separated.' },
  csv: {
    columns: ['dns_search'],
    toCsv: (v) => ({ dns_search: v.join(' ') }),
    fromCsv: (row) => (row.dns_search ? splitWords(row.dns_search) : undefined),
  },
  async read(r) {
    return parseList(parseKeyValues(await r.read(esxcli(...base, 'list')))['DNSSearch Domains'])
  },
  diff(current, wanted) {
    // The named domains as the host orders them. Those that already follow the wanted order
    // from its start stay; any other named one is removed, to be added again in its place.
    const present = current.filter((d) => wanted.includes(d))
    if (sameList(present, wanted)) return []
    let kept = 0
    const misplaced: string[] = []
    for (const d of present) {
      if (d === wanted[kept]) kept++
      else misplaced.push(d)
    }
    return [
      {
        summary: `search domains ${showList(wanted)}`,
        commands: [
          ...misplaced.map((d) => ({ words: esxcli(...base, 'remove', `--domain=${d}`) })),
          ...wanted.slice(kept).map((d) => ({ words: esxcli(...base, 'add', `--domain=${d}`) })),
        ],
      },
    ]
  },
  planNote: 'Search domains the design does not name are left as they are.',
  show: showList,
  connection: 'keeps',
})
