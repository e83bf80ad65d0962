import { z } from 'zod'
import { parseHostname } from '../parse'
import { esxcli } from '../shell'
import { defineSetting } from '../types'
import { domainName, hostLabel } from '../values'

export interface HostnameValue {
  host: string
  domain: string
}

/** The host's name and domain: taken from its definition, not from the spec. */
export const hostname = defineSetting<HostnameValue>({
  key: 'hostname',
  title: 'Hostname and domain',
  group: 'identity',
  description: 'The name the host answers to, from its definition.',
  example: { host: 'esx01', domain: 'lab.local' },
  value: z.object({ host: hostLabel, domain: domainName }),
  scope: 'identity',
  field: { kind: 'text' },
  kickstart: (v) => ({ network: { hostname: `${v.host}.${v.domain}` } }),
  async read(r) {
    const h = parseHostname(await r.read(esxcli('system', 'hostname', 'get')))
    return { host: h.host, domain: h.domain }
  },
  diff(current, wanted) {
    if (
      current.host === wanted.host &&
      current.domain.toLowerCase() === wanted.domain.toLowerCase()
    )
      return []
    return [
      {
        summary: `rename to ${wanted.host}.${wanted.domain}`,
        commands: [
          {
            words: esxcli(
              'system',
              'hostname',
              'set',
              `--host=${wanted.host}`,
              `--domain=${wanted.domain}`,
            ),
          },
        ],
      },
    ]
  },
  show: (v) => (v.domain ? `${v.host}.${v.domain}` : v.host || '(none)'),
  // esxi.md: the certificate is fixed by /sbin/generate-certificates and a hostd restart. Midwife
  // does not restart hostd in the middle of a run: vim-cmd, which later settings use, goes
  // through hostd and fails until it is back.
  planNote:
    "ESXi's self-signed certificate keeps the old name until /sbin/generate-certificates runs and hostd restarts (or the host reboots); a custom step can do it.",
  connection: 'keeps',
})
