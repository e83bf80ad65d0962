// Syslog and the management network settings, one edge at a time: what each
// refuses and in which words, what it reads from a host in every state, what
// it plans from there, and that the plan's commands are the ones the
// management move's script runs.
import { describe, expect, it } from 'vitest'
import { crossCheck, csvColumns, HostSpec } from '../../main/catalogue/registry'
import { resolvedProblems } from '../../main/core/hosts/hosts-service'
import { commandLine } from '../../main/catalogue/shell'
import { defaultGateway } from '../../main/catalogue/settings/default-gateway'
import { dnsSearch } from '../../main/catalogue/settings/dns-search'
import { dnsServers } from '../../main/catalogue/settings/dns-servers'
import { ntp } from '../../main/catalogue/settings/ntp'
import { mgmtAddress } from '../../main/catalogue/settings/mgmt-address'
import { mgmtVlan } from '../../main/catalogue/settings/mgmt-vlan'
import { syslog, type SyslogValue } from '../../main/catalogue/settings/syslog'
import type { AnySetting, Change, Shell } from '../../main/catalogue/types'
import { applySetting, CachedReader } from '../../main/core/configure/apply'
import { moveSteps, scriptPhase } from '../../main/core/configure/move-management'
import { isWriteCommand } from '../esxi-sim/interpreter'
import { ESXI_PROFILES, profileVersion } from '../esxi-sim/profile'
import type { SimOverrides } from '../esxi-sim/state'
import { memoryHost } from '../support/sim-shell'

const ctx = { hostname: 'esx01', domain: 'lab.local', address: '127.0.0.1', version: '8.0.2' }

/** The messages a schema gives for a value, or [] when it takes it. */
function refusals(setting: AnySetting, value: unknown): string[] {
  const r = setting.value.safeParse(value)
  return r.success ? [] : r.error.issues.map((i) => i.message)
}

const words = (changes: Change[]) =>
  changes.flatMap((c) => c.commands.map((x) => commandLine(x.words)))

async function read(setting: AnySetting, shell: Shell): Promise<unknown> {
  return setting.read(new CachedReader(shell, '8.0.2'), ctx, undefined)
}

async function apply(setting: AnySetting, shell: Shell, wanted: unknown) {
  return applySetting(
    shell,
    new CachedReader(shell, '8.0.2'),
    setting,
    wanted,
    ctx,
    () => undefined,
  )
}

/** A memory host; its log tells what was written. */
function host(overrides: SimOverrides = {}) {
  const h = memoryHost(overrides)
  return { ...h, writes: () => h.state.log.filter(isWriteCommand) }
}

describe('syslog', () => {
  const wanted = (v: unknown) => syslog.value.parse(v)

  it('writes each log host out in full, so what is stored is what the host prints', () => {
    expect(
      wanted({
        hosts: [
          '10.0.0.5',
          'TCP://log.lab.local',
          'ssl://10.0.0.6',
          '[fd00::5]:1514',
          'udp://10.0.0.7:5514',
        ],
      }).hosts,
    ).toEqual([
      'udp://10.0.0.5:514',
      'tcp://log.lab.local:514',
      'ssl://10.0.0.6:1514',
      'udp://[fd00::5]:1514',
      'udp://10.0.0.7:5514',
    ])
  })

  it('refuses what is not a log host, saying what is wrong with it', () => {
    const like = 'like udp://10.0.0.5:514 or ssl://loghost.lab.local:1514'
    const cases: Array<[string, string]> = [
      ['http://10.0.0.5:514', 'http://10.0.0.5:514: the protocol is udp, tcp or ssl, not http'],
      ['udp://10.0.0.5:70000', 'udp://10.0.0.5:70000: the port is a number from 1 to 65535'],
      ['udp://10.0.0.5:', 'udp://10.0.0.5:: the port is a number from 1 to 65535'],
      ['tcp://log_host:514', 'tcp://log_host:514: log_host is not an address or a DNS name'],
      ['udp://[fd00::zz]:514', 'udp://[fd00::zz]:514: [fd00::zz] is not an address or a DNS name'],
      ['10.0.0.5:abc', `10.0.0.5:abc is not a log host ${like}`],
      ['', `an empty value is not a log host ${like}`],
    ]
    for (const [host, message] of cases)
      expect(refusals(syslog, { hosts: [host] })).toEqual([message])
    // The same host, written two ways, is one host listed twice.
    expect(refusals(syslog, { hosts: ['10.0.0.5', 'udp://10.0.0.5:514'] })).toEqual([
      'a log host is listed twice',
    ])
    expect(refusals(syslog, { hosts: [], logDir: 'scratch/log' })).toEqual([
      'scratch/log is not a log directory: an absolute path like /scratch/log or a datastore path like [datastore1] logs',
    ])
    expect(refusals(syslog, { hosts: [], logDir: '[] /scratch/log' })).toHaveLength(1)
  })

  it('on a fresh host opens the ruleset first, then sets the log hosts, then the directory, each reloaded', async () => {
    const h = host()
    const current = (await read(syslog, h.shell)) as SyslogValue
    expect(current).toEqual({ hosts: [], logDir: '/scratch/log', firewallOpen: false })
    const plan = syslog.diff(
      current,
      wanted({ hosts: ['10.0.0.5'], logDir: '[datastore1] logs' }),
      ctx,
    )
    expect(words(plan)).toEqual([
      'esxcli network firewall ruleset set -r syslog -e true',
      'esxcli system syslog config set --loghost=udp://10.0.0.5:514',
      'esxcli system syslog reload',
      "esxcli system syslog config set '--logdir=[datastore1] logs'",
      'esxcli system syslog reload',
    ])
  })

  it('a host that refuses --logdir (esxi.md lists only --loghost) still sends its logs, and says what it refused', async () => {
    const h = host({ quirks: { unlisted: 'absent' } })
    const refusing: Shell = {
      exec: (command) =>
        command.includes('--logdir')
          ? Promise.resolve({ stdout: '', stderr: 'Error: Invalid option --logdir\n', code: 1 })
          : h.shell.exec(command),
    }
    await expect(
      apply(syslog, refusing, wanted({ hosts: ['10.0.0.5'], logDir: '[datastore1] logs' })),
    ).rejects.toThrow(/--logdir.*Invalid option --logdir/)
    expect(((await read(syslog, h.shell)) as SyslogValue).hosts).toEqual(['udp://10.0.0.5:514'])
    // A host that does not say where it keeps logs is told on every run, and the plan says why.
    expect(
      syslog
        .diff(
          { hosts: ['udp://10.0.0.5:514'] },
          wanted({ hosts: ['10.0.0.5'], logDir: '/scratch/log' }),
          ctx,
        )
        .map((c) => c.summary),
    ).toEqual([
      'open the syslog firewall ruleset (the host does not say whether it is open)',
      'keep logs in /scratch/log (the host does not say where it keeps them)',
    ])
  })

  it('sets only what differs: the directory alone, or the hosts alone', () => {
    const now: SyslogValue = {
      hosts: ['udp://10.0.0.5:514'],
      logDir: '/scratch/log',
      firewallOpen: true,
    }
    expect(
      words(syslog.diff(now, { hosts: now.hosts, logDir: '/vmfs/volumes/ds1/logs' }, ctx)),
    ).toEqual([
      'esxcli system syslog config set --logdir=/vmfs/volumes/ds1/logs',
      'esxcli system syslog reload',
    ])
    // No wanted directory: the host keeps its own, whatever it is.
    expect(syslog.diff(now, { hosts: now.hosts }, ctx)).toEqual([])
    expect(
      words(syslog.diff(now, { hosts: ['tcp://10.0.0.5:514', 'udp://10.0.0.5:514'] }, ctx)),
    ).toEqual([
      'esxcli system syslog config set --loghost=tcp://10.0.0.5:514,udp://10.0.0.5:514',
      'esxcli system syslog reload',
    ])
  })

  it('an open ruleset and the right hosts in another order still differ: order is kept', () => {
    const now: SyslogValue = {
      hosts: ['udp://a:514', 'udp://b:514'],
      logDir: '/scratch/log',
      firewallOpen: true,
    }
    expect(syslog.diff(now, { hosts: ['udp://b:514', 'udp://a:514'] }, ctx)).toHaveLength(1)
  })

  it('opens a closed ruleset even when the configuration is already right', () => {
    const now: SyslogValue = {
      hosts: ['udp://10.0.0.5:514'],
      logDir: '/scratch/log',
      firewallOpen: false,
    }
    expect(words(syslog.diff(now, { hosts: now.hosts }, ctx))).toEqual([
      'esxcli network firewall ruleset set -r syslog -e true',
    ])
    expect(syslog.show(now)).toBe(
      'to udp://10.0.0.5:514; logs in /scratch/log (syslog firewall closed)',
    )
  })

  it('removes every log host with an empty --loghost, leaving the ruleset alone', async () => {
    const h = host({ syslog: { remoteHost: 'udp://10.0.0.5:514', logDir: '' } })
    const r = await apply(syslog, h.shell, { hosts: [] })
    expect(h.writes()).toEqual([
      'esxcli system syslog config set --loghost=',
      'esxcli system syslog reload',
    ])
    expect(r.after).toEqual({ hosts: [], logDir: '/scratch/log', firewallOpen: false })
    expect(syslog.show(r.after as SyslogValue)).toBe('no remote log host; logs in /scratch/log')
  })

  it('takes a host configured by hand in short form as the same host', async () => {
    const h = host({
      syslog: { remoteHost: '10.0.0.5, tcp://log.lab.local', logDir: '' },
      firewall: { ...memoryHost().state.firewall, rulesets: { syslog: true } },
    })
    const r = await apply(
      syslog,
      h.shell,
      wanted({ hosts: ['10.0.0.5', 'tcp://log.lab.local:514'] }),
    )
    expect(r.writes).toBe(0)
  })

  it('maps to CSV columns and back', () => {
    const v = wanted({ hosts: ['10.0.0.5', 'ssl://log.lab.local'], logDir: '[datastore1] logs' })
    const row = syslog.csv?.toCsv(v) ?? {}
    expect(row).toEqual({
      syslog_hosts: 'udp://10.0.0.5:514 ssl://log.lab.local:1514',
      syslog_logdir: '[datastore1] logs',
    })
    expect(syslog.csv?.fromCsv(row)).toEqual(v)
    expect(syslog.csv?.fromCsv({ syslog_hosts: '', syslog_logdir: '' })).toBeUndefined()
  })
})

describe('DNS search domains', () => {
  it("adds the named domains after one of the host's own, and removes nothing (esxi.md lists no remove)", async () => {
    const h = host({ dns: { servers: [], search: ['localdomain'] } })
    expect(words(dnsSearch.diff(['localdomain'], ['lab.local', 'corp.local'], ctx))).toEqual([
      'esxcli network ip dns search add --domain=lab.local',
      'esxcli network ip dns search add --domain=corp.local',
    ])
    const r = await apply(dnsSearch, h.shell, ['lab.local', 'corp.local'])
    expect(r.writes).toBe(2)
    expect(r.after).toEqual(['localdomain', 'lab.local', 'corp.local'])
    expect(h.state.dns.search).toEqual(['localdomain', 'lab.local', 'corp.local'])
    expect(h.writes().some((c) => c.includes('remove'))).toBe(false)
    // Verified, and the next run has nothing to do.
    expect(dnsSearch.diff(h.state.dns.search, ['lab.local', 'corp.local'], ctx)).toEqual([])
  })

  it('puts named domains in order, removing only those out of place', () => {
    expect(
      words(dnsSearch.diff(['corp.local', 'lab.local'], ['lab.local', 'corp.local'], ctx)),
    ).toEqual([
      'esxcli network ip dns search remove --domain=corp.local',
      'esxcli network ip dns search add --domain=corp.local',
    ])
    expect(
      words(dnsSearch.diff(['a.lab', 'x.lab', 'c.lab'], ['a.lab', 'b.lab', 'c.lab'], ctx)),
    ).toEqual([
      'esxcli network ip dns search remove --domain=c.lab',
      'esxcli network ip dns search add --domain=b.lab',
      'esxcli network ip dns search add --domain=c.lab',
    ])
    expect(dnsSearch.diff(['x.lab', 'a.lab', 'y.lab', 'b.lab'], ['a.lab', 'b.lab'], ctx)).toEqual(
      [],
    )
  })

  it('reads a placeholder for an empty list as no domains, not as a domain called None', async () => {
    for (const nothing of ['None', '(none)', 'N/A', '-', '<none>']) {
      const shell: Shell = {
        exec: () =>
          Promise.resolve({ stdout: `   DNSSearch Domains: ${nothing}\n`, stderr: '', code: 0 }),
      }
      const current = (await read(dnsSearch, shell)) as string[]
      expect(current, nothing).toEqual([])
      expect(dnsSearch.show(current)).toBe('(none)')
    }
  })
})

describe('NTP', () => {
  // esxi.md: `esxcli system ntp` exists from 7.0 Update 1.
  it('is refused before 7.0 Update 1, in words, before anything runs', async () => {
    const reason =
      'ESXi 7.0.0 has no `esxcli system ntp` (it arrived in 7.0 Update 1), so Midwife cannot ' +
      "set its time servers until the host is updated; remove NTP from this host's spec"
    expect(ntp.unsupported?.('7.0.0')).toBe(reason)
    expect(ntp.unsupported?.('6.7.0')).toMatch(/^ESXi 6\.7\.0 has no `esxcli system ntp`/)
    for (const v of ['7.0.1', '7.0.3', '8.0.0', '8.0.2', '9.0.0', '7.0', 'unknown', null]) {
      expect(ntp.unsupported?.(v), String(v)).toBeNull()
    }
    const h = host({ version: { ...profileVersion('7.0.3'), version: '7.0.0', update: '0' } })
    await expect(
      applySetting(
        h.shell,
        new CachedReader(h.shell, '7.0.0'),
        ntp,
        { servers: ['10.0.0.5'], enabled: true },
        { ...ctx, version: '7.0.0' },
        () => undefined,
      ),
    ).rejects.toThrow(reason)
    expect(h.state.log).toEqual([])
  })

  it('puts the servers the host had back when it refuses a new name after the reset', async () => {
    const h = host({ ntp: { enabled: true, servers: ['10.0.0.9'] }, resolvableNames: [] })
    const wanted = { servers: ['0.pool.ntp.org', '10.0.0.5'], enabled: true }
    await expect(apply(ntp, h.shell, wanted)).rejects.toThrow(
      /Unable to resolve the host name.*; put the NTP servers back to 10\.0\.0\.9 \(done\)$/s,
    )
    expect(h.state.ntp).toEqual({ enabled: true, servers: ['10.0.0.9'] })
    expect(h.writes()).toEqual([
      'esxcli system ntp set --reset',
      'esxcli system ntp set -s 0.pool.ntp.org -s 10.0.0.5',
      'esxcli system ntp set -s 10.0.0.9',
      'esxcli system ntp set -e true',
    ])
    // Names it can resolve go through as before.
    h.state.resolvableNames = null
    expect((await apply(ntp, h.shell, wanted)).after).toMatchObject(wanted)
  })
})

// esxi.md leaves unconfirmed what an `add` of a DNS server, search domain or default route that is
// already there does (it fails, does nothing, or adds a second copy without a word), and whether
// `ntp set -s` replaces the servers or appends to them. Each setting ends with exactly the wanted
// list whichever the host does, starting from a host that has part of it, and a second pass
// writes nothing.
/** The memory host's vmknics with vmk0 at 10.0.0.11/24: a gateway of 10.0.0.0/24 is on its subnet. */
const onSubnet = () =>
  memoryHost().state.vmknics.map((v) => ({
    ...v,
    ipv4: {
      ...v.ipv4,
      address: '10.0.0.11',
      netmask: '255.255.255.0',
      broadcast: '10.0.0.255',
    },
  }))

describe.each(['error', 'ignore', 'append'] as const)(
  'on a host whose duplicate adds answer %s',
  (duplicates) => {
    it('DNS servers end as the wanted list, in order, each once', async () => {
      for (const had of [['10.0.0.3'], ['10.0.0.2'], ['10.0.0.3', '10.0.0.9']]) {
        const h = host({ dns: { servers: had, search: [] }, quirks: { duplicates } })
        const wanted = ['10.0.0.2', '10.0.0.3']
        expect((await apply(dnsServers, h.shell, wanted)).after, had.join()).toEqual(wanted)
        expect(h.state.dns.servers, had.join()).toEqual(wanted)
        expect((await apply(dnsServers, h.shell, wanted)).writes).toBe(0)
      }
    })

    it('DNS search domains end with the wanted ones in order, each once', async () => {
      for (const had of [
        ['lab.local'],
        ['corp.local', 'lab.local'],
        ['localdomain', 'corp.local'],
      ]) {
        const h = host({ dns: { servers: [], search: had }, quirks: { duplicates } })
        const wanted = ['lab.local', 'corp.local']
        await apply(dnsSearch, h.shell, wanted)
        const named = h.state.dns.search.filter((d) => wanted.includes(d))
        expect(named, had.join()).toEqual(wanted)
        expect((await apply(dnsSearch, h.shell, wanted)).writes).toBe(0)
      }
    })

    it('the default route ends as one route through the wanted gateway', async () => {
      const h = host({ vmknics: onSubnet(), quirks: { duplicates } })
      for (const gateway of ['10.0.0.1', '10.0.0.1', '10.0.0.254', '10.0.0.254']) {
        await apply(defaultGateway, h.shell, gateway)
        expect(h.state.routes.filter((r) => r.network === 'default')).toMatchObject([{ gateway }])
      }
      expect(h.writes()).toEqual([
        'esxcli network ip route ipv4 add --gateway 10.0.0.1 --network default',
        'esxcfg-route 10.0.0.254',
      ])
    })
  },
)

describe.each(['replace', 'append'] as const)(
  'NTP on a host whose `ntp set -s` answers %s',
  (ntpSetServers) => {
    it('ends with exactly the wanted servers, from a host that had others', async () => {
      const h = host({
        ntp: { enabled: true, servers: ['10.0.0.9', '10.0.0.5'] },
        quirks: { ntpSetServers },
      })
      const wanted = { servers: ['10.0.0.5', '10.0.0.6'], enabled: true }
      expect((await apply(ntp, h.shell, wanted)).after).toMatchObject(wanted)
      expect(h.state.ntp).toEqual(wanted)
      expect((await apply(ntp, h.shell, wanted)).writes).toBe(0)
    })

    it('puts back exactly the servers it had when a new name is refused', async () => {
      const had = { enabled: true, servers: ['10.0.0.9', '10.0.0.8'] }
      const h = host({ ntp: had, resolvableNames: [], quirks: { ntpSetServers } })
      await expect(
        apply(ntp, h.shell, { servers: ['10.0.0.5', 'ntp.lab.local'], enabled: true }),
      ).rejects.toThrow(/put the NTP servers back to 10\.0\.0\.9, 10\.0\.0\.8 \(done\)$/)
      expect(h.state.ntp).toEqual(had)
    })
  },
)

describe('management address', () => {
  it('refuses what is not a host address with its prefix', () => {
    expect(refusals(mgmtAddress, '10.0.0.11')).toEqual([
      '10.0.0.11 is not an address with its prefix, like 10.0.0.11/24',
    ])
    expect(refusals(mgmtAddress, '10.0.0.0/24')).toEqual([
      '10.0.0.0 is the network address of 10.0.0.0/24, not a host address',
    ])
    expect(refusals(mgmtAddress, '10.0.0.255/24')).toEqual([
      '10.0.0.255 is the broadcast address of 10.0.0.0/24, not a host address',
    ])
    expect(refusals(mgmtAddress, '10.0.0.300/24')).toHaveLength(1)
  })

  it('takes a netmask for the prefix, as ESXi prints one, and stores the prefix', () => {
    expect(mgmtAddress.value.parse('10.0.0.11/255.255.255.0')).toBe('10.0.0.11/24')
    expect(mgmtAddress.value.parse(' 10.0.0.11/255.255.252.0 ')).toBe('10.0.0.11/22')
    expect(refusals(mgmtAddress, '10.0.0.11/255.0.255.0')).toEqual([
      '255.0.255.0 is not a netmask: its ones come first, like 255.255.255.0',
    ])
    expect(refusals(mgmtAddress, '10.0.0.0/255.255.255.0')).toEqual([
      '10.0.0.0 is the network address of 10.0.0.0/24, not a host address',
    ])
    expect(refusals(mgmtAddress, '10.0.0.11/0.0.0.0')).toHaveLength(1)
  })

  it('reads a static address as address/prefix, and a DHCP lease as never the wanted one', async () => {
    expect(await read(mgmtAddress, host().shell)).toBe('127.0.0.1/8')
    const lease = { address: '10.0.0.11', netmask: '255.255.255.0', gateway: '10.0.0.1' }
    const h = host({ dhcpLeases: { vmk0: lease } })
    await h.shell.exec('esxcli network ip interface ipv4 set -i vmk0 -t dhcp')
    const current = await read(mgmtAddress, h.shell)
    expect(current).toBe('10.0.0.11/24 (DHCP)')
    expect(words(mgmtAddress.diff(current as string, '10.0.0.11/24', ctx))).toEqual([
      'esxcli network ip interface ipv4 set -i vmk0 -t static -I 10.0.0.11 -N 255.255.255.0',
    ])
    expect(mgmtAddress.diff('10.0.0.11/24', '10.0.0.11/24', ctx)).toEqual([])
  })

  it('puts a known address in the kickstart network line', () => {
    expect(mgmtAddress.kickstart?.('10.0.0.11/24')).toEqual({
      network: { bootproto: 'static', ip: '10.0.0.11', netmask: '255.255.255.0' },
    })
  })
})

describe('default gateway', () => {
  it('adds a default route where there is none, and replaces one in a single command', async () => {
    const h = host({ vmknics: onSubnet() })
    expect(await read(defaultGateway, h.shell)).toBe('')
    expect(defaultGateway.show('')).toBe('(no default route)')
    expect(words(defaultGateway.diff('', '10.0.0.1', ctx))).toEqual([
      'esxcli network ip route ipv4 add --gateway 10.0.0.1 --network default',
    ])
    expect(words(defaultGateway.diff('10.0.0.254', '10.0.0.1', ctx))).toEqual([
      'esxcfg-route 10.0.0.1',
    ])
    expect(defaultGateway.diff('10.0.0.1', '10.0.0.1', ctx)).toEqual([])

    // On a host whose duplicate adds fail, adding then replacing then repeating writes once each.
    await apply(defaultGateway, h.shell, '10.0.0.1')
    await apply(defaultGateway, h.shell, '10.0.0.254')
    expect((await apply(defaultGateway, h.shell, '10.0.0.254')).writes).toBe(0)
    expect(h.writes()).toEqual([
      'esxcli network ip route ipv4 add --gateway 10.0.0.1 --network default',
      'esxcfg-route 10.0.0.254',
    ])
    expect((await h.shell.exec('esxcfg-route')).stdout).toBe(
      'VMkernel default gateway is 10.0.0.254\n',
    )
  })

  it('reads a default route printed as 0.0.0.0/0.0.0.0, or only by esxcfg-route (esxi.md shows no rows)', async () => {
    const h = host({ vmknics: onSubnet(), quirks: { defaultRouteNetwork: 'zeros' } })
    await apply(defaultGateway, h.shell, '10.0.0.1')
    expect((await h.shell.exec('esxcli network ip route ipv4 list')).stdout).toMatch(
      /^0\.0\.0\.0 +0\.0\.0\.0 +10\.0\.0\.1 /m,
    )
    expect(await read(defaultGateway, h.shell)).toBe('10.0.0.1')
    expect((await apply(defaultGateway, h.shell, '10.0.0.1')).writes).toBe(0)
    expect(h.writes()).toEqual([
      'esxcli network ip route ipv4 add --gateway 10.0.0.1 --network default',
    ])

    // A table with no row Midwife can take for the default route: esxcfg-route's own words.
    const table = (await h.shell.exec('esxcli network ip route ipv4 list')).stdout
    const unlabelled: Shell = {
      exec: (command) =>
        command === 'esxcli network ip route ipv4 list'
          ? Promise.resolve({
              stdout: table.replace(/^0\.0\.0\.0 +0\.0\.0\.0 .*\n/m, ''),
              stderr: '',
              code: 0,
            })
          : h.shell.exec(command),
    }
    expect(await read(defaultGateway, unlabelled)).toBe('10.0.0.1')
  })

  it('a gateway outside every VMkernel subnet fails with what ESXi says', async () => {
    const h = host()
    await expect(apply(defaultGateway, h.shell, '10.0.0.1')).rejects.toThrow(
      /Unable to set VMkernel gateway/,
    )
  })

  it('refuses what is not an address', () => {
    expect(refusals(defaultGateway, '10.0.0')).toEqual([
      '10.0.0 is not an IPv4 address like 10.0.0.2',
    ])
  })

  it('is cross-checked against the management address, at the gateway field', () => {
    // The two may come from different places: the site profile's gateway, the host's address.
    const host = { hostname: 'esx01', domain: 'lab.local', spec: { mgmtAddress: '10.0.0.11/24' } }
    expect(resolvedProblems(host, { defaultGateway: '10.0.1.1' })).toEqual([
      'spec.defaultGateway: gateway 10.0.1.1 is not in 10.0.0.0/24',
    ])
    expect(resolvedProblems(host, { defaultGateway: '10.0.0.1' })).toEqual([])
    expect(crossCheck({ mgmtAddress: '10.0.0.11/24', defaultGateway: '10.0.0.11' })).toEqual([
      { key: 'defaultGateway', message: 'gateway 10.0.0.11 is the management address itself' },
    ])
    expect(crossCheck({ mgmtAddress: '10.0.0.11/24', defaultGateway: '10.0.0.0' })).toEqual([
      { key: 'defaultGateway', message: 'gateway 10.0.0.0 is the network address of 10.0.0.0/24' },
    ])
    expect(crossCheck({ mgmtAddress: '10.0.0.11/24', defaultGateway: '10.0.0.255' })).toEqual([
      {
        key: 'defaultGateway',
        message: 'gateway 10.0.0.255 is the broadcast address of 10.0.0.0/24',
      },
    ])
    // A /31 has no network or broadcast address: its other half is the gateway.
    expect(crossCheck({ mgmtAddress: '10.0.0.10/31', defaultGateway: '10.0.0.11' })).toEqual([])
    // Only one of the two known (the address may come with the install): nothing to compare.
    expect(crossCheck({ defaultGateway: '10.0.1.1' })).toEqual([])
  })

  it('gives each bad value its own message, with no cross-check on top', () => {
    const r = HostSpec.safeParse({ mgmtAddress: '10.0.0.11', defaultGateway: '10.0.1.1' })
    expect(r.error?.issues.map((i) => ({ path: i.path, message: i.message }))).toEqual([
      {
        path: ['mgmtAddress'],
        message: '10.0.0.11 is not an address with its prefix, like 10.0.0.11/24',
      },
    ])
  })
})

describe('management VLAN', () => {
  it('refuses anything but a whole number from 0 to 4095', () => {
    for (const bad of [-1, 4096, 1.5, '20', null])
      expect(refusals(mgmtVlan, bad), String(bad)).toHaveLength(1)
    expect(refusals(mgmtVlan, 4096)).toEqual([
      'a VLAN ID is a whole number from 0 to 4095 (4095 passes every VLAN to guests)',
    ])
    expect(refusals(mgmtVlan, 0)).toEqual([])
  })

  it('reads and sets the Management Network port group', async () => {
    const h = host()
    expect(await read(mgmtVlan, h.shell)).toBe(0)
    const r = await apply(mgmtVlan, h.shell, 20)
    expect(r.after).toBe(20)
    expect(h.writes()).toEqual([
      'esxcli network vswitch standard portgroup set -p Management Network -v 20',
    ])
    expect(mgmtVlan.show(0)).toBe('VLAN 0 (untagged)')
  })

  it('says so when the host has no Management Network port group', async () => {
    const h = host({ portgroups: [{ name: 'VM Network', vswitch: 'vSwitch0', vlanId: 0 }] })
    await expect(read(mgmtVlan, h.shell)).rejects.toThrow(
      'this host has no port group named Management Network (port groups: VM Network)',
    )
  })

  it('adds --vlanid to the kickstart only for a tagged VLAN', () => {
    expect(mgmtVlan.kickstart?.(0)).toEqual({})
    expect(mgmtVlan.kickstart?.(20)).toEqual({ network: { vlanid: '20' } })
  })
})

describe('the management network settings together', () => {
  it.each(ESXI_PROFILES)(
    'ESXi %s: address, then gateway, then VLAN apply and verify; a second pass writes nothing',
    async (profile) => {
      const h = host({ profile })
      const order = [mgmtAddress, defaultGateway, mgmtVlan]
      for (const s of order) await apply(s, h.shell, s.value.parse(s.example))
      const mark = h.state.log.length
      for (const s of order) expect((await apply(s, h.shell, s.example)).writes).toBe(0)
      expect(h.state.log.slice(mark).filter(isWriteCommand)).toEqual([])
    },
  )

  it('the plan shows the commands the management move runs', () => {
    const from = { address: '10.0.0.10', prefix: 24, gateway: '10.0.0.1', vlan: 0 }
    const to = { address: '10.0.0.11', prefix: 24, gateway: '10.0.0.254', vlan: 20 }
    const planned = [
      ...mgmtAddress.diff('10.0.0.10/24', '10.0.0.11/24', ctx),
      ...defaultGateway.diff('10.0.0.1', '10.0.0.254', ctx),
      ...mgmtVlan.diff(0, 20, ctx),
    ]
    expect(moveSteps(from, to).apply.map((s) => commandLine(s.words))).toEqual(words(planned))
  })

  it('a move to another subnet sets the route again even when the gateway stays', () => {
    const from = { address: '10.0.0.10', prefix: 24, gateway: '10.0.0.1', vlan: 0 }
    const to = { ...from, prefix: 16 }
    expect(moveSteps(from, to).apply.map((s) => commandLine(s.words))).toEqual([
      'esxcli network ip interface ipv4 set -i vmk0 -t static -I 10.0.0.10 -N 255.255.0.0',
      'esxcfg-route 10.0.0.1',
    ])
    expect(moveSteps(from, to).undo.map((s) => commandLine(s.words))).toEqual([
      'esxcli network ip interface ipv4 set -i vmk0 -t static -I 10.0.0.10 -N 255.255.255.0',
      'esxcfg-route 10.0.0.1',
    ])
  })

  it('reads the reason a rollback gave, over as many lines as the host printed', () => {
    const log = [
      'midwife-mgmt: started',
      'midwife-mgmt: applying: vmk0 to 10.0.0.11/24',
      'midwife-mgmt: rolling back: setting vmk0 to 10.0.0.11/24 failed: Error: one',
      '  two',
      'midwife-mgmt: rolled back',
      '',
    ].join('\n')
    expect(scriptPhase(log)).toMatchObject({
      phase: 'rolled back',
      reason: 'setting vmk0 to 10.0.0.11/24 failed: Error: one two',
    })
    expect(scriptPhase('midwife-mgmt: started\n').phase).toBe('started')
    expect(scriptPhase('').phase).toBe('none')
  })

  it('each has its CSV column', () => {
    expect(csvColumns()).toEqual(
      expect.arrayContaining([
        'syslog_hosts',
        'syslog_logdir',
        'mgmt_address',
        'gateway',
        'mgmt_vlan',
      ]),
    )
    expect(mgmtVlan.csv?.fromCsv({ mgmt_vlan: ' 20 ' })).toBe(20)
    expect(defaultGateway.csv?.fromCsv({ gateway: '' })).toBeUndefined()
  })
})
