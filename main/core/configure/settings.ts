import { shellQuote } from '../boot/material'
import {
  parseHostname,
  parseKeyValues,
  parseList,
  parseNtp,
  parseRulesets,
} from '../../catalogue/parse'
import type { EsxShell } from './ssh'

/** A command that ran and failed; its message carries both streams, as ESXi is inconsistent. */
export class CommandFailed extends Error {}

/** Builds a command line from words, quoting any word the shell would split or expand. */
export function commandLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : shellQuote(w))).join(' ')
}

/** Runs a command and returns its stdout; a non-zero exit throws with what the host said. */
export async function run(sh: EsxShell, words: string[]): Promise<string> {
  const line = commandLine(words)
  const r = await sh.exec(line)
  if (r.code !== 0) {
    const said = [r.stderr, r.stdout]
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .join(' / ')
      .split('\n')[0]
    throw new CommandFailed(`\`${line}\` failed (exit ${r.code ?? 'none'}): ${said || 'no output'}`)
  }
  return r.stdout
}

/**
 * One setting: how to read it, how to tell whether it is right, and which
 * commands make it right. The runner does read -> plan -> apply -> verify.
 */
export interface Setting<T> {
  key: string
  title: string
  desired: T
  read(sh: EsxShell): Promise<T>
  same(current: T, desired: T): boolean
  plan(current: T, desired: T): string[][]
  show(value: T): string
}

const sameList = (a: string[], b: string[]) =>
  a.length === b.length && a.every((v, i) => v === b[i])

interface HostnameValue {
  host: string
  domain: string
}

export function hostnameSetting(desired: HostnameValue): Setting<HostnameValue> {
  return {
    key: 'hostname',
    title: 'Hostname and domain',
    desired,
    async read(sh) {
      const h = parseHostname(await run(sh, ['esxcli', 'system', 'hostname', 'get']))
      return { host: h.host, domain: h.domain }
    },
    same: (a, b) => a.host === b.host && a.domain.toLowerCase() === b.domain.toLowerCase(),
    plan: (_, d) => [
      ['esxcli', 'system', 'hostname', 'set', `--host=${d.host}`, `--domain=${d.domain}`],
    ],
    show: (v) => (v.domain ? `${v.host}.${v.domain}` : v.host || '(none)'),
  }
}

/**
 * DNS servers, in order (the first is asked first). Adds are not idempotent,
 * so only what is missing is added; when the order cannot be reached by
 * removing and appending, the list is rebuilt.
 */
export function dnsServersSetting(desired: string[]): Setting<string[]> {
  return {
    key: 'dns',
    title: 'DNS servers',
    desired,
    async read(sh) {
      const kv = parseKeyValues(await run(sh, ['esxcli', 'network', 'ip', 'dns', 'server', 'list']))
      return parseList(kv['DNSServers'])
    },
    same: sameList,
    plan(current, d) {
      const base = ['esxcli', 'network', 'ip', 'dns', 'server']
      const kept = current.filter((s) => d.includes(s))
      const added = d.filter((s) => !current.includes(s))
      if (sameList([...kept, ...added], d)) {
        return [
          ...current.filter((s) => !d.includes(s)).map((s) => [...base, 'remove', `--server=${s}`]),
          ...added.map((s) => [...base, 'add', `--server=${s}`]),
        ]
      }
      return [[...base, 'remove', '--all'], ...d.map((s) => [...base, 'add', `--server=${s}`])]
    },
    show: (v) => (v.length ? v.join(', ') : '(none)'),
  }
}

interface NtpValue {
  enabled: boolean
  servers: string[]
  /** The ntpClient firewall ruleset: without it the daemon cannot reach anyone. */
  firewallOpen: boolean
}

export function ntpSetting(servers: string[]): Setting<NtpValue> {
  return {
    key: 'ntp',
    title: 'NTP servers',
    desired: { enabled: true, servers, firewallOpen: true },
    async read(sh) {
      const ntp = parseNtp(await run(sh, ['esxcli', 'system', 'ntp', 'get']))
      const rules = parseRulesets(
        await run(sh, ['esxcli', 'network', 'firewall', 'ruleset', 'list']),
      )
      return { ...ntp, firewallOpen: rules['ntpClient'] === true }
    },
    same: (a, b) =>
      a.enabled === b.enabled &&
      sameList(a.servers, b.servers) &&
      a.firewallOpen === b.firewallOpen,
    plan(current, d) {
      const cmds: string[][] = []
      if (current.enabled !== d.enabled || !sameList(current.servers, d.servers)) {
        cmds.push([
          'esxcli',
          'system',
          'ntp',
          'set',
          ...d.servers.flatMap((s) => ['-s', s]),
          '-e',
          String(d.enabled),
        ])
      }
      if (current.firewallOpen !== d.firewallOpen) {
        cmds.push([
          'esxcli',
          'network',
          'firewall',
          'ruleset',
          'set',
          '-r',
          'ntpClient',
          '-e',
          'true',
        ])
      }
      return cmds
    },
    show: (v) =>
      `${v.enabled ? 'enabled' : 'disabled'}: ${v.servers.join(', ') || '(no servers)'}` +
      (v.firewallOpen ? '' : ' (ntpClient firewall closed)'),
  }
}

/** The settings an approved host asks for, in the order they are applied. */
export function settingsFor(host: {
  hostname: string
  domain: string
  dnsServers: string[]
  ntpServers: string[]
}): Array<Setting<unknown>> {
  return [
    hostnameSetting({ host: host.hostname, domain: host.domain }),
    dnsServersSetting(host.dnsServers),
    ntpSetting(host.ntpServers),
  ] as Array<Setting<unknown>>
}
