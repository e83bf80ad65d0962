import { z } from 'zod'
import { rulesetEnabled } from '../firewall'
import { parseNtp } from '../parse'
import { esxcli, sameList } from '../shell'
import { defineSetting } from '../types'
import { hostOrAddress, splitWords } from '../values'

export interface NtpValue {
  servers: string[]
  enabled: boolean
  /**
   * The ntpClient firewall ruleset (read only): without it the daemon reaches nobody. Absent when
   * the host does not list its rulesets: then it is opened on every run.
   */
  firewallOpen?: boolean
}

const rulesetOn = {
  words: esxcli('network', 'firewall', 'ruleset', 'set', '-r', 'ntpClient', '-e', 'true'),
}

/**
 * Whether the host runs a release known to come before 7.0 Update 1 (7.0.0, 6.x), which has no
 * `esxcli system ntp` (esxi.md). A version Midwife cannot read, or 7.0 without its update
 * number, is not refused: the step then says in the host's words what it lacks.
 */
function beforeNtpCommands(version: string): boolean {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version)
  if (!m) return false
  const [major, minor, update] = [Number(m[1]), Number(m[2]), m[3]]
  return major < 7 || (major === 7 && minor === 0 && update !== undefined && Number(update) === 0)
}

/**
 * NTP (7.0U1+: refused on older releases before anything runs). Whether
 * `set -s` replaces or appends is unconfirmed, so the servers are reset
 * first, then set, then the service enabled, as public scripts do; names must
 * resolve on the host or ESXi refuses them, and then the servers the host had
 * are set again, so a refused name costs nothing.
 */
export const ntp = defineSetting<NtpValue>({
  key: 'ntp',
  title: 'NTP',
  group: 'time',
  description: 'Time servers; names must resolve on the host.',
  example: { servers: ['0.pool.ntp.org', '10.0.0.5'], enabled: true },
  value: z.object({
    servers: z
      .array(hostOrAddress)
      .min(1, 'add at least one NTP server')
      .max(8, 'at most 8 NTP servers')
      .refine((l) => new Set(l).size === l.length, 'an NTP server is listed twice'),
    enabled: z.boolean().default(true),
  }),
  scope: 'site',
  field: {
    kind: 'object',
    fields: [
      {
        key: 'servers',
        title: 'NTP servers',
        field: { kind: 'list', placeholder: 'ntp1.lab.local' },
      },
      {
        key: 'enabled',
        title: 'Enabled',
        field: { kind: 'boolean', label: 'Run the NTP service' },
      },
    ],
  },
  csv: {
    columns: ['ntp_servers'],
    toCsv: (v) => ({ ntp_servers: v.servers.join(' ') }),
    fromCsv: (row) =>
      row.ntp_servers ? { servers: splitWords(row.ntp_servers), enabled: true } : undefined,
  },
  async read(r) {
    const current = parseNtp(await r.read(esxcli('system', 'ntp', 'get')))
    const open = await rulesetEnabled(r, 'ntpClient')
    return { ...current, ...(open === undefined ? {} : { firewallOpen: open }) }
  },
  diff(current, wanted) {
    const changes = []
    if (!sameList(current.servers, wanted.servers)) {
      changes.push({
        summary: `NTP servers ${wanted.servers.join(', ')}`,
        commands: [
          { words: esxcli('system', 'ntp', 'set', '--reset') },
          { words: esxcli('system', 'ntp', 'set', ...wanted.servers.flatMap((s) => ['-s', s])) },
          { words: esxcli('system', 'ntp', 'set', '-e', String(wanted.enabled)) },
        ],
        // A name the host cannot resolve is refused after the reset: the servers it had go back.
        ...(current.servers.length === 0
          ? {}
          : {
              undo: {
                summary: `put the NTP servers back to ${current.servers.join(', ')}`,
                commands: [
                  {
                    words: esxcli(
                      'system',
                      'ntp',
                      'set',
                      ...current.servers.flatMap((s) => ['-s', s]),
                    ),
                  },
                  { words: esxcli('system', 'ntp', 'set', '-e', String(current.enabled)) },
                ],
              },
            }),
      })
    } else if (current.enabled !== wanted.enabled) {
      changes.push({
        summary: wanted.enabled ? 'start NTP' : 'stop NTP',
        commands: [{ words: esxcli('system', 'ntp', 'set', '-e', String(wanted.enabled)) }],
      })
    }
    if (wanted.enabled && current.firewallOpen !== true) {
      changes.push({
        summary:
          current.firewallOpen === false
            ? 'open the ntpClient firewall ruleset'
            : 'open the ntpClient firewall ruleset (the host does not say whether it is open)',
        commands: [rulesetOn],
      })
    }
    return changes
  },
  verify: (after, wanted) =>
    sameList(after.servers, wanted.servers) &&
    after.enabled === wanted.enabled &&
    (!wanted.enabled || after.firewallOpen !== false),
  show: (v) =>
    `${v.enabled ? 'enabled' : 'disabled'}: ${v.servers.join(', ') || '(no servers)'}` +
    (v.firewallOpen === false ? ' (ntpClient firewall closed)' : ''),
  connection: 'keeps',
  unsupported: (version) =>
    version !== null && beforeNtpCommands(version)
      ? `ESXi ${version} has no \`esxcli system ntp\` (it arrived in 7.0 Update 1), so Midwife cannot set its time servers until the host is updated; remove NTP from this host's spec`
      : null,
})
