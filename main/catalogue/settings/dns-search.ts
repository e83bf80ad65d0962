import { z } from 'zod'
import { parseKeyValues, parseList } from '../parse'
import { esxcli, sameList, showList } from '../shell'
import { defineSetting } from '../types'
import { domainName, splitWords } from '../values'

const base = ['network', 'ip', 'dns', 'search']

/** DNS search domains, in order; only what is missing is added (duplicate adds are unconfirmed). */
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
    if (sameList(current, wanted)) return []
    const keepsOrder = sameList(
      [...current.filter((d) => wanted.includes(d)), ...wanted.filter((d) => !current.includes(d))],
      wanted,
    )
    const removed = keepsOrder ? current.filter((d) => !wanted.includes(d)) : current
    const added = keepsOrder ? wanted.filter((d) => !current.includes(d)) : wanted
    return [
      {
        summary: `search domains ${showList(wanted)}`,
        commands: [
          ...removed.map((d) => ({ words: esxcli(...base, 'remove', `--domain=${d}`) })),
          ...added.map((d) => ({ words: esxcli(...base, 'add', `--domain=${d}`) })),
        ],
      },
    ]
  },
  show: showList,
  connection: 'keeps',
})
