import { parseTable } from '../parse'
import { esxcli } from '../shell'
import { defineSetting, type Reader } from '../types'
import { gatewayProblem, ipv4 } from '../values'

const route = ['network', 'ip', 'route', 'ipv4']

/** A `route ipv4 list` row for the default route: Network `default` (as ESXi prints it) or 0.0.0.0/0. */
const isDefaultRoute = (row: Record<string, string>) =>
  row['Network'] === 'default' ||
  row['Network'] === '0.0.0.0/0' ||
  (row['Network'] === '0.0.0.0' && row['Netmask'] === '0.0.0.0')

/**
 * The VMkernel's default gateway, or null. esxi.md gives `route ipv4 list`'s columns but no
 * rows, so a default route is taken as either spelling; where the table shows none,
 * `esxcfg-route` is asked, whose answer esxi.md gives word for word
 * (`VMkernel default gateway is 10.0.0.1`).
 */
export async function readDefaultGateway(r: Reader): Promise<string | null> {
  const rows = parseTable(await r.read(esxcli(...route, 'list')))
  const listed = rows.find(isDefaultRoute)?.['Gateway']
  if (listed && ipv4.safeParse(listed).success) return listed
  const said = await r.probe(['esxcfg-route'])
  return /default gateway is (\d{1,3}(?:\.\d{1,3}){3})\b/.exec(said.stdout)?.[1] ?? null
}

/** The one command that sets the default route, replacing any there is. */
export const replaceDefaultRoute = (gateway: string): string[] => ['esxcfg-route', gateway]

/**
 * The commands that take the default route from `current` to `wanted` (null:
 * none). A duplicate `route add` is unconfirmed, so add only when there is no
 * default route; replace one with `esxcfg-route`, a single command, so a
 * session that runs through the old gateway never sees the host without one.
 */
export function gatewayCommands(current: string | null, wanted: string | null): string[][] {
  if (current === wanted) return []
  if (wanted === null) {
    return [esxcli(...route, 'remove', '--network', 'default', '--gateway', current as string)]
  }
  if (current === null)
    return [esxcli(...route, 'add', '--gateway', wanted, '--network', 'default')]
  return [replaceDefaultRoute(wanted)]
}

/** The spec's gateway must lie in the spec's management subnet (a cross-check). */
export function gatewayInManagementSubnet(
  spec: Readonly<Record<string, unknown>>,
): Array<{ key: string; message: string }> {
  const gateway = spec['defaultGateway']
  const address = spec['mgmtAddress']
  if (typeof gateway !== 'string' || typeof address !== 'string') return []
  const problem = gatewayProblem(gateway, address)
  return problem ? [{ key: 'defaultGateway', message: problem }] : []
}

/**
 * The default route, its own step after vmk0's address (`ipv4 set -g` is a
 * per-adapter override, not the default route). It moves the connection: a
 * Midwife that is not on the host's subnet reaches it through this gateway,
 * and ESXi takes any gateway inside a VMkernel subnet without a word, answering
 * or not; so a running host changes it through the management move, which
 * checks the gateway answers and rolls back unless Midwife confirms.
 */
export const defaultGateway = defineSetting<string>({
  key: 'defaultGateway',
  title: 'Default gateway',
  group: 'management',
  description: 'The VMkernel default route; it must lie in the management subnet.',
  example: '10.0.0.1',
  value: ipv4,
  scope: 'site',
  field: { kind: 'text', placeholder: '10.0.0.1', hint: 'Inside the management subnet.' },
  csv: {
    columns: ['gateway'],
    toCsv: (v) => ({ gateway: v }),
    fromCsv: (row) => (row.gateway?.trim() ? row.gateway.trim() : undefined),
  },
  kickstart: (v) => ({ network: { gateway: v } }),
  async read(r) {
    return (await readDefaultGateway(r)) ?? ''
  },
  diff(current, wanted) {
    const commands = gatewayCommands(current || null, wanted)
    if (commands.length === 0) return []
    return [
      { summary: `default gateway ${wanted}`, commands: commands.map((words) => ({ words })) },
    ]
  },
  show: (v) => v || '(no default route)',
  planNote:
    "if vmk0's address comes from DHCP, the move makes that address static, so Midwife can find the host after it",
  connection: 'moves',
  after: ['mgmtAddress'],
})
