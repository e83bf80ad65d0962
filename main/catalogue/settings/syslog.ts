import { z } from 'zod'
import { rulesetEnabled } from '../firewall'
import { parseKeyValues, parseList } from '../parse'
import { esxcli, sameList, showList } from '../shell'
import { defineSetting, type Change } from '../types'
import { logDir, normalSyslogHost, splitWords, syslogHost } from '../values'

export interface SyslogValue {
  /** Remote log hosts (udp://10.0.0.5:514); [] sends logs nowhere. */
  hosts: string[]
  /**
   * Where the host keeps its own logs; absent: left as the host has it (wanted), or not said by
   * the host (read: esxi.md's `config get` gives only the Remote Host line).
   */
  logDir?: string
  /**
   * The syslog firewall ruleset (read only): closed, the host reaches no log host. Absent when the
   * host does not list its rulesets: then it is opened on every run that sends logs.
   */
  firewallOpen?: boolean
}

const rulesetOn = {
  words: esxcli('network', 'firewall', 'ruleset', 'set', '-r', 'syslog', '-e', 'true'),
}

/**
 * A host written by hand (10.0.0.5) and the same host written out
 * (udp://10.0.0.5:514) are one log host: compare the written-out forms, so a
 * host configured either way is not rewritten.
 */
function normalHosts(raw: string | undefined): string[] {
  return parseList(raw).map((h) => {
    const n = normalSyslogHost(h)
    return typeof n === 'string' ? n : h
  })
}

/**
 * Remote syslog hosts and the local log directory. `config set` takes them,
 * `reload` makes the daemon use them, and the syslog ruleset must be open or
 * the firewall drops what the daemon sends.
 */
export const syslog = defineSetting<SyslogValue>({
  key: 'syslog',
  title: 'Syslog',
  group: 'time',
  description: 'Where the host sends its logs, and where it keeps them itself.',
  example: {
    hosts: ['udp://10.0.0.5:514', 'ssl://loghost.lab.local:1514'],
    logDir: '[datastore1] logs',
  },
  value: z.object({
    hosts: z
      .array(syslogHost)
      .max(8, 'at most 8 log hosts')
      .refine((l) => new Set(l).size === l.length, 'a log host is listed twice'),
    logDir: logDir.optional(),
  }),
  scope: 'site',
  field: {
    kind: 'object',
    fields: [
      {
        key: 'hosts',
        title: 'Log hosts',
        field: {
          kind: 'list',
          placeholder: 'udp://10.0.0.5:514',
          hint: 'udp://, tcp:// or ssl://, then host:port; empty sends logs nowhere.',
        },
      },
      {
        key: 'logDir',
        title: 'Log directory',
        field: {
          kind: 'text',
          placeholder: '[datastore1] logs',
          hint: 'Empty leaves it as the host has it.',
        },
      },
    ],
  },
  csv: {
    columns: ['syslog_hosts', 'syslog_logdir'],
    toCsv: (v) => ({ syslog_hosts: v.hosts.join(' '), syslog_logdir: v.logDir ?? '' }),
    fromCsv: (row) => {
      const hosts = row.syslog_hosts ? splitWords(row.syslog_hosts) : []
      const dir = row.syslog_logdir?.trim()
      if (hosts.length === 0 && !dir) return undefined
      return dir ? { hosts, logDir: dir } : { hosts }
    },
  },
  async read(r) {
    const kv = parseKeyValues(await r.read(esxcli('system', 'syslog', 'config', 'get')))
    const open = await rulesetEnabled(r, 'syslog')
    const dir = kv['Local Log Output']
    return {
      hosts: normalHosts(kv['Remote Host']),
      ...(dir === undefined ? {} : { logDir: dir }),
      ...(open === undefined ? {} : { firewallOpen: open }),
    }
  },
  diff(current, wanted) {
    const changes: Change[] = []
    if (wanted.hosts.length > 0 && current.firewallOpen !== true) {
      changes.push({
        summary:
          current.firewallOpen === false
            ? 'open the syslog firewall ruleset'
            : 'open the syslog firewall ruleset (the host does not say whether it is open)',
        commands: [rulesetOn],
      })
    }
    const reload = { words: esxcli('system', 'syslog', 'reload') }
    if (!sameList(current.hosts, wanted.hosts)) {
      changes.push({
        summary: `send logs to ${showList(wanted.hosts)}`,
        commands: [
          {
            words: esxcli(
              'system',
              'syslog',
              'config',
              'set',
              `--loghost=${wanted.hosts.join(',')}`,
            ),
          },
          reload,
        ],
      })
    }
    // Its own command: esxi.md lists only --loghost, so a host that refuses --logdir still
    // sends its logs where they are wanted, and says in its own words what it refused.
    if (wanted.logDir !== undefined && current.logDir !== wanted.logDir) {
      changes.push({
        summary:
          current.logDir === undefined
            ? `keep logs in ${wanted.logDir} (the host does not say where it keeps them)`
            : `keep logs in ${wanted.logDir}`,
        commands: [
          { words: esxcli('system', 'syslog', 'config', 'set', `--logdir=${wanted.logDir}`) },
          reload,
        ],
      })
    }
    return changes
  },
  verify: (after, wanted) =>
    sameList(after.hosts, wanted.hosts) &&
    (wanted.logDir === undefined || after.logDir === undefined || after.logDir === wanted.logDir) &&
    (wanted.hosts.length === 0 || after.firewallOpen !== false),
  show: (v) =>
    `${v.hosts.length ? `to ${v.hosts.join(', ')}` : 'no remote log host'}` +
    (v.logDir ? `; logs in ${v.logDir}` : '') +
    (v.hosts.length && v.firewallOpen === false ? ' (syslog firewall closed)' : ''),
  connection: 'keeps',
})
