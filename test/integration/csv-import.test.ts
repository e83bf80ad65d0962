// A rack from a spreadsheet: the hosts CSV through the contract, as the UI
// calls it. Previews show every row's resolved spec and every problem with
// its line and column; imports store every row or nothing; an export read
// back into an empty Midwife exports the same file.
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, dispatch, type Api } from '../../main/contract/api'
import type { BatchPreview } from '../../main/contract/schemas'
import { startTestApp, type TestApp } from '../support/app'

const apps: TestApp[] = []
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close()
})

async function midwife(): Promise<{ t: TestApp; api: Api }> {
  const t = await startTestApp()
  apps.push(t)
  return { t, api: createClient((name, args) => dispatch(t.app, name, args)) }
}

const PASSWORD = 'Install-pw-42!'
const csv = (...lines: string[]) => `${lines.join('\n')}\n`
const messages = (p: BatchPreview) => p.problems.map((x) => x.message)

/** A preview that must refuse: the import then stores nothing either. */
async function refused(api: Api, text: string, rootPassword?: string): Promise<string[]> {
  const preview = await api.previewCsvImport(text, { rootPassword })
  expect(preview.ready).toBe(false)
  await expect(api.importCsv(text, { confirm: true, rootPassword })).rejects.toThrow(
    /^nothing was stored: /,
  )
  expect(await api.listHosts()).toEqual([])
  return messages(preview)
}

describe('CSV import: good files', () => {
  it('previews each row on top of the site profile, stores nothing, then imports every row', async () => {
    const { t, api } = await midwife()
    await api.saveProfile({
      spec: { dns: ['10.0.0.2', '10.0.0.3'], ntp: { servers: ['10.0.0.5'], enabled: true } },
    })
    const text = csv(
      'hostname,domain,mac,serial,root_password,dns_servers,vmknics,mgmt_address',
      `esx01,lab.local,00:50:56:AA:BB:01,SN-01,${PASSWORD},10.0.0.9,VM Network:10.0.20.11/24:1500:VMotion,10.0.0.11/24`,
      'esx02,lab.local,00-50-56-aa-bb-02,,,,,10.0.0.12/24',
    )
    const preview = await api.previewCsvImport(text, { rootPassword: 'Other-pw-43!' })
    expect(preview).toMatchObject({
      ready: true,
      problems: [],
      counts: { rows: 2, create: 2, update: 0, unchanged: 0, refused: 0 },
    })
    const [one, two] = preview.rows
    expect(one).toMatchObject({
      line: 2,
      name: 'esx01.lab.local',
      mac: '00:50:56:aa:bb:01',
      serial: 'SN-01',
      action: 'create',
      rootPassword: 'given',
    })
    const shown = (r: BatchPreview['rows'][number] | undefined) =>
      Object.fromEntries((r?.resolved ?? []).map((v) => [v.key, `${v.shown} (${v.source})`]))
    expect(shown(one)).toMatchObject({
      hostname: 'esx01.lab.local (identity)',
      dns: '10.0.0.9 (host)',
      ntp: expect.stringMatching(/10\.0\.0\.5.*\(site\)$/) as unknown,
      mgmtAddress: '10.0.0.11/24 (host)',
      vmknics: expect.stringMatching(/10\.0\.20\.11\/24.*\(host\)$/) as unknown,
    })
    expect(two).toMatchObject({ line: 3, mac: '00:50:56:aa:bb:02', rootPassword: 'default' })
    expect(shown(two)).toMatchObject({ dns: '10.0.0.2, 10.0.0.3 (site)' })
    expect(await api.listHosts()).toEqual([])

    const result = await api.importCsv(text, { confirm: true, rootPassword: 'Other-pw-43!' })
    expect(result).toMatchObject({ updated: [], unchanged: 0 })
    expect(result.created).toHaveLength(2)
    const hosts = await api.listHosts()
    expect(hosts.map((h) => [h.name, h.state, h.definition?.serial])).toEqual([
      ['esx01.lab.local', 'defined', 'SN-01'],
      ['esx02.lab.local', 'defined', null],
    ])
    expect(hosts[0]?.definition?.spec).toEqual({
      dns: ['10.0.0.9'],
      vmknics: [{ portgroup: 'VM Network', ipv4: '10.0.20.11/24', mtu: 1500, tags: ['VMotion'] }],
      mgmtAddress: '10.0.0.11/24',
    })
    // Each host is audited as created, with where it came from; the chain holds.
    const audit = await api.hostAudit(result.created[0] as number)
    expect(audit[0]).toMatchObject({ type: 'host.created', data: { source: 'csv', line: 2 } })
    expect(await api.verifyAudit()).toMatchObject({ ok: true })
    expect(t.app.store.events.list(1)[0]).toMatchObject({
      type: 'hosts.imported',
      data: { source: 'csv', created: 2, updated: 0 },
    })
  })

  it('reads what spreadsheets write: a BOM, CRLF, comments (quoted too), blank rows, any case, quoted cells', async () => {
    const { api } = await midwife()
    const text =
      '\uFEFF# exported from a spreadsheet\r\n' +
      '"# a comment the spreadsheet quoted, because of its comma",,,,\r\n' +
      'HostName,Domain,MAC,Root_Password,PortGroups\r\n' +
      '\r\n' +
      ',,,,\r\n' +
      `esx01,lab.local,00:50:56:aa:bb:01,"pw, with ""quotes"" and 1 comma","VM Network:vSwitch0:0;vMotion:vSwitch0:20"\r\n`
    const preview = await api.previewCsvImport(text)
    expect(messages(preview)).toEqual([])
    expect(preview.rows).toMatchObject([
      { line: 6, name: 'esx01.lab.local', rootPassword: 'given' },
    ])
    await api.importCsv(text, { confirm: true })
    const [host] = await api.listHosts()
    expect(host?.definition?.spec).toEqual({
      portgroups: [
        { name: 'VM Network', vswitch: 'vSwitch0', vlan: 0 },
        { name: 'vMotion', vswitch: 'vSwitch0', vlan: 20 },
      ],
    })
  })

  it('needs an explicit confirmation to import', async () => {
    const { t } = await midwife()
    const text = csv('hostname,domain,mac', 'esx01,lab.local,00:50:56:aa:bb:01')
    const reply = await dispatch(t.app, 'importCsv', [text, { rootPassword: PASSWORD }])
    expect(reply).toEqual({
      ok: false,
      error: { code: 'invalid', message: '1.confirm: confirm the action explicitly' },
    })
    expect(t.app.store.hosts.list()).toEqual([])
  })

  it('refuses to import what the preview did not show: a host saved meanwhile, the profile changed', async () => {
    const { api } = await midwife()
    const text = csv(
      'hostname,domain,mac,dns_servers',
      'esx53,lab.local,00:50:56:aa:05:03,10.0.0.2',
      'esx54,lab.local,00:50:56:aa:05:04,10.0.0.2',
    )
    const seen = await api.previewCsvImport(text, { rootPassword: PASSWORD })
    expect(seen.counts).toMatchObject({ create: 2, update: 0 })
    expect(seen.digest).toMatch(/^[0-9a-f]{64}$/)
    // The same file and password previewed again: the same digest.
    expect((await api.previewCsvImport(text, { rootPassword: PASSWORD })).digest).toBe(seen.digest)

    // Another tab saves one of those hosts by hand, with its own DNS.
    const mine = await api.saveHost({
      hostname: 'esx54',
      domain: 'lab.local',
      mac: '00:50:56:aa:05:04',
      rootPassword: 'Other-pw-43!',
      spec: { dns: ['10.0.0.99'] },
    })
    const stale = 'nothing was stored: the hosts or the site profile changed since this preview'
    await expect(
      api.importCsv(text, { confirm: true, rootPassword: PASSWORD, digest: seen.digest }),
    ).rejects.toThrow(stale)
    expect((await api.listHosts()).map((h) => h.id)).toEqual([mine.id])
    expect((await api.getHost(mine.id)).definition?.spec.dns).toEqual(['10.0.0.99'])

    // The new preview says it updates esx54; confirmed, it does.
    const now = await api.previewCsvImport(text, { rootPassword: PASSWORD })
    expect(now.counts).toMatchObject({ create: 1, update: 1 })
    await api.saveProfile({ spec: { ntp: { servers: ['10.0.0.5'], enabled: true } } })
    await expect(
      api.importCsv(text, { confirm: true, rootPassword: PASSWORD, digest: now.digest }),
    ).rejects.toThrow(stale)
    const last = await api.previewCsvImport(text, { rootPassword: PASSWORD })
    const result = await api.importCsv(text, {
      confirm: true,
      rootPassword: PASSWORD,
      digest: last.digest,
    })
    expect(result).toMatchObject({ updated: [mine.id], unchanged: 0 })
    expect(result.created).toHaveLength(1)
  })
})

describe('CSV import: bad rows, each said where', () => {
  it.each([
    [
      'a bad IP',
      csv('hostname,domain,mac,dns_servers', 'esx01,lab.local,00:50:56:aa:bb:01,10.0.0.256'),
      'Line 2, column D (dns_servers): 10.0.0.256 is not an IPv4 address like 10.0.0.2',
    ],
    [
      'a bad MAC',
      csv('hostname,domain,mac', 'esx01,lab.local,00:50:56:aa:bb'),
      'Line 2, column C (mac): 00:50:56:aa:bb is not a MAC address like 00:50:56:aa:bb:01',
    ],
    [
      'a full name where the host name goes',
      csv('hostname,domain,mac', 'esx01.lab.local,lab.local,00:50:56:aa:bb:01'),
      'Line 2, column A (hostname): esx01.lab.local is a full name: put esx01 here and lab.local in Domain',
    ],
    [
      "a bad log host, named by the file's own column, not every column of its setting",
      csv(
        'hostname,domain,mac,syslog_hosts,root_password',
        `esx01,lab.local,00:50:56:aa:bb:01,udp://log:99999,${PASSWORD}`,
      ),
      'Line 2, column D (syslog_hosts): udp://log:99999: the port is a number from 1 to 65535',
    ],
    [
      'a bad log directory, in the only syslog column the file has',
      csv(
        'hostname,domain,mac,syslog_logdir,root_password',
        `esx01,lab.local,00:50:56:aa:bb:01,logs,${PASSWORD}`,
      ),
      'Line 2, column D (syslog_logdir): logs is not a log directory: an absolute path like /scratch/log or a datastore path like [datastore1] logs',
    ],
    [
      'a missing required field',
      csv('hostname,domain,mac', 'esx01,,00:50:56:aa:bb:01'),
      'Line 2, column B (domain): every host needs a domain',
    ],
    [
      'a new host without a root password',
      csv('hostname,domain,mac,root_password', 'esx01,lab.local,00:50:56:aa:bb:01,'),
      'Line 2, column D (root_password): a new host needs the root password it is installed with: fill it in, or give one for every new host with the import',
    ],
    [
      'a port that is not one',
      csv('hostname,domain,mac,ssh_port', 'esx01,lab.local,00:50:56:aa:bb:01,22a'),
      'Line 2, column D (ssh_port): 22a is not a port: a whole number from 1 to 65535',
    ],
    [
      'an ESXi version Midwife has no media kind for',
      csv('hostname,domain,mac,esxi_version', 'esx01,lab.local,00:50:56:aa:bb:01,6.7'),
      'Line 2, column D (esxi_version): 6.7 is not an ESXi version Midwife installs: 7.0, 8.0, 9.0',
    ],
    [
      'a Secure Boot cell that is neither yes nor no',
      csv('hostname,domain,mac,secure_boot', 'esx01,lab.local,00:50:56:aa:bb:01,maybe'),
      'Line 2, column D (secure_boot): maybe is not yes or no',
    ],
    [
      'a table cell in the wrong shape',
      csv('hostname,domain,mac,vmknics', 'esx01,lab.local,00:50:56:aa:bb:01,vMotion'),
      'Line 2, column D (vmknics): vmknics: "vMotion" should be portgroup:ipv4:mtu:services, like vMotion:10.0.20.11/24:9000:VMotion',
    ],
    [
      'an SSH user a spreadsheet would run as a formula',
      csv('hostname,domain,mac,ssh_user', 'esx01,lab.local,00:50:56:aa:bb:01,@SUM(1+1)'),
      'Line 2, column D (ssh_user): an SSH user name does not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula)',
    ],
    [
      'a port group a spreadsheet would run as a formula',
      csv(
        'hostname,domain,mac,portgroups',
        'esx01,lab.local,00:50:56:aa:bb:01,=cmd|x!A0:vSwitch0:0',
      ),
      'Line 2, column D (portgroups): =cmd|x!A0 may not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula, and esxcli would take -... for an option)',
    ],
    [
      'a network address as a host address',
      csv('hostname,domain,mac,mgmt_address', 'esx01,lab.local,00:50:56:aa:bb:01,10.0.0.0/24'),
      'Line 2, column D (mgmt_address): 10.0.0.0 is the network address of 10.0.0.0/24, not a host address',
    ],
    [
      'a gateway outside its management subnet',
      csv(
        'hostname,domain,mac,mgmt_address,gateway',
        'esx01,lab.local,00:50:56:aa:bb:01,10.0.0.11/24,10.9.0.1',
      ),
      'Line 2, column E (gateway): ',
    ],
    [
      'more cells than the header has columns',
      csv('hostname,domain,mac', 'esx01,lab.local,00:50:56:aa:bb:01,surprise'),
      'Line 2, column D: this row has more cells than the header has columns (3)',
    ],
    [
      'a multicast MAC',
      csv('hostname,domain,mac', 'esx01,lab.local,01:00:5E:00:00:01'),
      'Line 2, column C (mac): 01:00:5E:00:00:01 is a multicast or broadcast address (its first octet is odd), which no NIC has',
    ],
    [
      'an all-zero MAC',
      csv('hostname,domain,mac', 'esx01,lab.local,00:00:00:00:00:00'),
      'Line 2, column C (mac): 00:00:00:00:00:00 is all zeros, which no NIC has',
    ],
    [
      'fewer cells than the header has columns',
      csv(
        'hostname,domain,mac,mgmt_address,gateway,mgmt_vlan',
        'esx01,lab.local,00:50:56:aa:bb:01,10.0.0.11/24',
      ),
      'Line 2: this row has 4 cells, the header has 6 columns (gateway, mgmt_vlan have no cell): add the missing commas, or quote a value that holds a comma',
    ],
    [
      'an unknown column',
      csv('hostname,domain,mac,dns_server', 'esx01,lab.local,00:50:56:aa:bb:01,10.0.0.2'),
      'Line 1, column D (dns_server): Midwife has no column "dns_server"; did you mean dns_servers?',
    ],
    [
      'a column named twice',
      csv('hostname,domain,mac,MAC', 'esx01,lab.local,00:50:56:aa:bb:01,00:50:56:aa:bb:01'),
      'Line 1, column D (MAC): mac is also column C; name each column once',
    ],
    [
      'a required column missing',
      csv('hostname,domain', 'esx01,lab.local'),
      'Line 1: the column "mac" is missing: every host needs hostname, domain and mac',
    ],
    [
      'a quote left open',
      csv(
        'hostname,domain,mac',
        'esx01,lab.local,00:50:56:aa:bb:01',
        '# a comment between rows',
        '"esx02,lab.local,00:50:56:aa:bb:02',
        'esx03,lab.local,00:50:56:aa:bb:03',
      ),
      'Line 4: a quote (") opens a cell on this line and is never closed, so the rest of the file would be that one cell; close it, or write a quote inside a cell as ""',
    ],
    [
      'a quote inside a cell, taken as typed',
      csv('hostname,domain,mac', 'esx01,"lab"local,00:50:56:aa:bb:01'),
      'Line 2, column B (domain): "lab"local is not a DNS domain like lab.local',
    ],
    [
      'semicolons between cells',
      csv('hostname;domain;mac', 'esx01;lab.local;00:50:56:aa:bb:01'),
      'Line 1: the cells are separated by semicolons or tabs; Midwife reads comma-separated files (in a spreadsheet: save as "CSV UTF-8 (comma delimited)")',
    ],
    [
      'a header and no rows',
      csv('# only the template', 'hostname,domain,mac'),
      'Line 2: the file has a header but no host rows',
    ],
  ])('%s', async (_what, text, message) => {
    const { api } = await midwife()
    const found = await refused(api, text)
    expect(found.some((m) => m.startsWith(message))).toBe(true)
  })

  it('refuses a row whose root password breaks ESXi’s rules, naming the rule, never the password', async () => {
    const { t, api } = await midwife()
    const esx01 = await api.saveHost({
      hostname: 'esx01',
      domain: 'lab.local',
      mac: '00:50:56:aa:bb:01',
      rootPassword: PASSWORD,
    })
    const sealed = t.app.store.hosts.secrets(esx01.id)?.rootPassword
    const before = await api.listHosts()
    const [weak, long, user] = ['Welcome2', 'x'.repeat(129), 'Root-pw-42!']
    const text = csv(
      'hostname,domain,mac,root_password',
      `esx01,lab.local,00:50:56:aa:bb:01,${weak}`,
      `esx02,lab.local,00:50:56:aa:bb:02,${long}`,
      `esx03,lab.local,00:50:56:aa:bb:03,${user}`,
      `esx04,lab.local,00:50:56:aa:bb:04,${PASSWORD}`,
    )
    const preview = await api.previewCsvImport(text)
    expect(preview.ready).toBe(false)
    expect(messages(preview)).toEqual([
      'Line 2, column D (root_password): the password must mix at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count)',
      'Line 3, column D (root_password): the password is too long: ESXi takes at most 39 characters',
      'Line 4, column D (root_password): the password must not contain the user name root',
    ])
    expect(preview.rows.map((r) => r.action)).toEqual(['refused', 'refused', 'refused', 'create'])
    // The password column says refused (its problem says why), not missing.
    expect(preview.rows.map((r) => r.rootPassword)).toEqual([
      'refused',
      'refused',
      'refused',
      'given',
    ])
    await expect(api.importCsv(text, { confirm: true })).rejects.toThrow(/^nothing was stored: /)
    // The import changed nothing: not the host it would update, not its password.
    expect(await api.listHosts()).toEqual(before)
    expect(t.app.store.hosts.secrets(esx01.id)?.rootPassword).toEqual(sealed)
    const said = JSON.stringify(preview)
    for (const secret of [weak, long, user]) expect(said).not.toContain(secret)
  })

  it('never quotes a piece of a password from a row that does not line up with the header', async () => {
    const { api } = await midwife()
    // An unquoted comma in the password pushes its second half under dns_servers.
    const text = csv(
      'hostname,domain,mac,root_password,dns_servers',
      'esx01,lab.local,00:50:56:aa:bb:01,Part-one,9!mYpass,10.0.0.2',
    )
    const found = await refused(api, text)
    expect(found).toEqual([
      'Line 2, column F: this row has more cells than the header has columns (5)',
    ])
    expect(found.join(' ')).not.toContain('mYpass')
    expect(found.join(' ')).not.toContain('Part-one')
  })

  it('refuses a root password for new rows that breaks ESXi’s rules', async () => {
    const { t } = await midwife()
    const text = csv('hostname,domain,mac', 'esx01,lab.local,00:50:56:aa:bb:01')
    const reply = await dispatch(t.app, 'importCsv', [
      text,
      { confirm: true, rootPassword: 'Welcome2' },
    ])
    expect(reply).toEqual({
      ok: false,
      error: {
        code: 'invalid',
        message:
          '1.rootPassword: the password must mix at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count)',
      },
    })
    expect(t.app.store.hosts.list()).toEqual([])
  })

  it('refuses an empty file before reading it', async () => {
    const { t } = await midwife()
    expect(await dispatch(t.app, 'previewCsvImport', ['  \n'])).toEqual({
      ok: false,
      error: { code: 'invalid', message: 'the file is empty' },
    })
  })
})

describe('CSV import: collisions', () => {
  it('finds names, MACs, serials and addresses that rows of the file share', async () => {
    const { api } = await midwife()
    const found = await refused(
      api,
      csv(
        'hostname,domain,mac,serial,mgmt_address,vmknics',
        'esx01,lab.local,00:50:56:aa:bb:01,SN-1,10.0.0.11/24,VM Network:10.0.20.11/24:1500:VMotion',
        'ESX01,LAB.local,00:50:56:aa:bb:02,SN-2,10.0.0.12/24,',
        'esx03,lab.local,00-50-56-AA-BB-01,SN-1,10.0.0.13/24,',
        'esx04,lab.local,00:50:56:aa:bb:04,,10.0.20.11/24,VM Network:10.0.0.12/24:1500:VMotion',
      ),
      PASSWORD,
    )
    expect(found).toEqual([
      'Line 2, column A (hostname): esx01.lab.local is also on line 3',
      'Line 2, column C (mac): MAC 00:50:56:aa:bb:01 is also on line 4',
      'Line 2, column D (serial): serial SN-1 is also on line 4',
      'Line 2, column F (vmknics): address 10.0.20.11 is also on line 5',
      'Line 3, column A (hostname): esx01.lab.local is also on line 2',
      'Line 3, column E (mgmt_address): address 10.0.0.12 is also on line 5',
      'Line 4, column C (mac): MAC 00:50:56:aa:bb:01 is also on line 2',
      'Line 4, column D (serial): serial SN-1 is also on line 2',
      'Line 5, column E (mgmt_address): address 10.0.20.11 is also on line 2',
      'Line 5, column F (vmknics): address 10.0.0.12 is also on line 3',
    ])
  })

  it('finds what the file shares with hosts already stored, and says which', async () => {
    const { t, api } = await midwife()
    await api.saveHost({
      hostname: 'esx01',
      domain: 'lab.local',
      mac: '00:50:56:aa:bb:01',
      serial: 'SN-1',
      rootPassword: PASSWORD,
      spec: {
        mgmtAddress: '10.0.0.11/24',
        vmknics: [{ portgroup: 'VM Network', ipv4: '10.0.20.11/24', mtu: 1500, tags: ['VMotion'] }],
      },
    })
    const esx02 = await api.saveHost({
      hostname: 'esx02',
      domain: 'lab.local',
      mac: '00:50:56:aa:bb:02',
      rootPassword: PASSWORD,
    })
    // esx02's server checked in from 10.0.0.50 and is bound to it.
    t.app.store.hosts.setIdentity(esx02.id, {
      macs: ['00:50:56:aa:bb:02'],
      serial: 'SN-2',
      uuid: null,
      sshHostKeys: [],
      managementIp: '10.0.0.50',
      boundAt: '2026-01-01T00:00:00.000Z',
      how: 'first_checkin',
      checkinId: null,
    })
    const found = await api.previewCsvImport(
      csv(
        'hostname,domain,mac,serial,mgmt_address,vmknics',
        'esx10,lab.local,00:50:56:aa:bb:01,,,',
        'esx01,lab.local,00:50:56:aa:bb:11,,,',
        'esx12,lab.local,00:50:56:aa:bb:12,SN-1,,',
        'esx13,lab.local,00:50:56:aa:bb:13,SN-2,10.0.0.11/24,',
        'esx14,lab.local,00:50:56:aa:bb:14,,10.0.0.50/24,VM Network:10.0.20.11/24:1500:VMotion',
      ),
      { rootPassword: PASSWORD },
    )
    const why =
      '; a row updates an existing host only when its hostname, domain and MAC are all that host’s (rename a host or change its MAC in its form)'
    expect(messages(found)).toEqual([
      `Line 2, column C (mac): 00:50:56:aa:bb:01 is already the MAC of esx01.lab.local${why}`,
      `Line 3, column A (hostname): esx01.lab.local already exists, with MAC 00:50:56:aa:bb:01${why}`,
      'Line 4, column D (serial): serial SN-1 is the one esx01.lab.local is defined with',
      'Line 5, column D (serial): serial SN-2 is the one esx02.lab.local is reported',
      'Line 5, column E (mgmt_address): 10.0.0.11 is already used by esx01.lab.local',
      'Line 6, column F (vmknics): 10.0.20.11 is already used by esx01.lab.local',
      'Line 6, column E (mgmt_address): 10.0.0.50 is already used by esx02.lab.local',
    ])
    expect(found.rows.map((r) => r.action)).toEqual([
      'refused',
      'refused',
      'refused',
      'refused',
      'refused',
    ])
    expect(found.rows[0]?.reason).toBe(
      `Line 2, column C (mac): 00:50:56:aa:bb:01 is already the MAC of esx01.lab.local${why}`,
    )
  })

  it('says every problem in one round: the header, each cell, each row as a whole, and across rows and stored hosts', async () => {
    const { api } = await midwife()
    await api.saveHost({
      hostname: 'esx09',
      domain: 'lab.local',
      mac: '00:50:56:aa:bb:09',
      rootPassword: PASSWORD,
      spec: { mgmtAddress: '10.0.0.19/24' },
    })
    const text = csv(
      'hostname,domain,mac,mgmt_address,gateway,owner_team',
      'esx01,lab.local,zz,10.0.0.11/24,10.9.9.1,A1',
      'esx01,lab.local,00:50:56:aa:bb:02,10.0.0.11/24,,A1',
      'esx03,lab.local,00:50:56:aa:bb:09,10.0.0.300/24,10.9.9.1,A2',
      'esx04,lab.local,00:50:56:aa:bb:04,10.0.0.19/24,,A2',
    )
    const preview = await api.previewCsvImport(text, { rootPassword: PASSWORD })
    expect(preview.ready).toBe(false)
    const found = messages(preview).map((m) => m.replace(/; the columns are .*/, ''))
    expect(found).toEqual([
      'Line 1, column F (owner_team): Midwife has no column "owner_team"',
      'Line 2, column C (mac): zz is not a MAC address like 00:50:56:aa:bb:01',
      'Line 2, column E (gateway): gateway 10.9.9.1 is not in 10.0.0.0/24',
      'Line 2, column A (hostname): esx01.lab.local is also on line 3',
      'Line 2, column D (mgmt_address): address 10.0.0.11 is also on line 3',
      'Line 3, column A (hostname): esx01.lab.local is also on line 2',
      'Line 3, column D (mgmt_address): address 10.0.0.11 is also on line 2',
      // Its gateway is not checked against an address that was refused: that would say nothing true.
      'Line 4, column D (mgmt_address): 10.0.0.300/24 is not an address with its prefix, like 10.0.0.11/24',
      `Line 4, column C (mac): 00:50:56:aa:bb:09 is already the MAC of esx09.lab.local; a row updates an existing host only when its hostname, domain and MAC are all that host’s (rename a host or change its MAC in its form)`,
      'Line 5, column D (mgmt_address): 10.0.0.19 is already used by esx09.lab.local',
    ])
  })

  it('updates a host its row names by hostname, domain and MAC; the rest of the host stays', async () => {
    const { t, api } = await midwife()
    const esx01 = await api.saveHost({
      hostname: 'esx01',
      domain: 'lab.local',
      mac: '00:50:56:aa:bb:01',
      rootPassword: PASSWORD,
      spec: {
        dns: ['10.0.0.2'],
        vmknics: [{ portgroup: 'VM Network', ipv4: '10.0.20.11/24', mtu: 1500, tags: ['VMotion'] }],
        advanced: [{ path: '/UserVars/SuppressShellWarning', value: 1 }],
      },
    })
    const sealedBefore = t.app.store.hosts.secrets(esx01.id)?.rootPassword
    const text = csv(
      'hostname,domain,mac,serial,root_password,dns_servers',
      'esx01,lab.local,00:50:56:aa:bb:01,SN-1,,10.0.0.3 10.0.0.4',
      'esx02,lab.local,00:50:56:aa:bb:02,,,',
    )
    const preview = await api.previewCsvImport(text, { rootPassword: PASSWORD })
    expect(preview.rows.map((r) => [r.action, r.reason, r.hostId, r.rootPassword])).toEqual([
      [
        'update',
        'updates esx01.lab.local (its hostname, domain and MAC match it): serial, DNS servers',
        esx01.id,
        'kept',
      ],
      ['create', 'a new host', null, 'default'],
    ])
    expect(preview.notes).toContain(
      'The file has no ssh_user, ssh_port, esxi_version, secure_boot, dns_search, ntp_servers, syslog_hosts, syslog_logdir, vswitches, portgroups, vmknics, maintenance_mode, mgmt_address, gateway, mgmt_vlan column(s): hosts it updates keep their own values there.',
    )
    const result = await api.importCsv(text, { confirm: true, rootPassword: PASSWORD })
    expect(result.updated).toEqual([esx01.id])
    const after = await api.getHost(esx01.id)
    expect(after.definition).toMatchObject({
      serial: 'SN-1',
      spec: {
        dns: ['10.0.0.3', '10.0.0.4'],
        vmknics: [{ portgroup: 'VM Network', ipv4: '10.0.20.11/24', mtu: 1500, tags: ['VMotion'] }],
        advanced: [{ path: '/UserVars/SuppressShellWarning', value: 1 }],
      },
    })
    expect(t.app.store.hosts.secrets(esx01.id)?.rootPassword).toEqual(sealedBefore)
    expect((await api.hostAudit(esx01.id)).at(-1)).toMatchObject({
      type: 'host.updated',
      data: { passwordChanged: false, source: 'csv' },
    })

    // The same file again changes nothing.
    const again = await api.previewCsvImport(text)
    expect(again.rows.map((r) => [r.action, r.reason])).toEqual([
      ['unchanged', 'esx01.lab.local is already exactly this'],
      ['unchanged', 'esx02.lab.local is already exactly this'],
    ])
    const before = t.app.store.events.head()
    expect(await api.importCsv(text, { confirm: true })).toEqual({
      created: [],
      updated: [],
      unchanged: 2,
    })
    expect(t.app.store.events.list(1)[0]?.id).toBe((before?.id ?? 0) + 1)
  })
})

/** Hosts that use every CSV column the catalogue has. */
async function defineRack(api: Api): Promise<void> {
  await api.saveHost({
    hostname: 'esx01',
    domain: 'lab.local',
    mac: '00:50:56:aa:bb:01',
    serial: 'CZ1234567',
    sshUser: 'midwife',
    sshPort: 2222,
    rootPassword: PASSWORD,
    spec: {
      dns: ['10.0.0.2', '10.0.0.3'],
      dnsSearch: ['lab.local', 'corp.local'],
      ntp: { servers: ['0.pool.ntp.org', '10.0.0.5'], enabled: true },
      syslog: { hosts: ['udp://10.0.0.6:514'], logDir: '[datastore1] logs' },
      vswitches: [
        { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'], standby: ['vmnic1'] },
        { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic2', 'vmnic3'], standby: [] },
      ],
      portgroups: [
        { name: 'VM Network', vswitch: 'vSwitch0', vlan: 0 },
        { name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 },
      ],
      vmknics: [{ portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 9000, tags: ['VMotion'] }],
      maintenanceMode: 'enter',
      mgmtAddress: '10.0.0.11/24',
      defaultGateway: '10.0.0.1',
      mgmtVlan: 10,
    },
  })
  await api.saveHost({
    hostname: 'esx02',
    domain: 'lab.local',
    mac: '00:50:56:aa:bb:02',
    rootPassword: 'A, "different" one-99',
    esxiVersion: '8.0',
    secureBoot: true,
    spec: { mgmtAddress: '10.0.0.12/24' },
  })
}

describe('CSV export', () => {
  it('round-trips exactly: export, import into an empty Midwife, export again', async () => {
    const a = await midwife()
    await defineRack(a.api)
    const first = await a.api.exportHostsCsv()
    expect(first).toMatchObject({
      filename: expect.stringMatching(/^midwife-hosts-\d{4}-\d{2}-\d{2}\.csv$/) as unknown,
      contentType: 'text/csv',
    })

    const b = await midwife()
    const preview = await b.api.previewCsvImport(first.content, { rootPassword: PASSWORD })
    expect(messages(preview)).toEqual([])
    await b.api.importCsv(first.content, { confirm: true, rootPassword: PASSWORD })
    const second = await b.api.exportHostsCsv()
    expect(second.content).toBe(first.content)
    const specs = async (api: Api) =>
      (await api.listHosts()).map((h) => ({ ...h.definition, hasPassword: true }))
    expect(await specs(b.api)).toEqual(await specs(a.api))
  })

  it('never exports a root password, and says so', async () => {
    const { api } = await midwife()
    await defineRack(api)
    const { content } = await api.exportHostsCsv()
    expect(content).not.toContain(PASSWORD)
    expect(content).not.toContain('different')
    const lines = content.split('\n')
    expect(lines[0]).toBe(
      '# Midwife hosts: 2 host(s). Root passwords and other secrets are never exported: their cells are empty. An empty root_password keeps an existing host’s password; new hosts need one (in the cell or given with the import).',
    )
    expect(lines[1]).toBe(
      'hostname,domain,mac,serial,ssh_user,ssh_port,esxi_version,secure_boot,root_password,dns_servers,dns_search,ntp_servers,syslog_hosts,syslog_logdir,vswitches,portgroups,vmknics,maintenance_mode,mgmt_address,gateway,mgmt_vlan',
    )
    expect(lines[3]).toMatch(/^esx02,lab\.local,00:50:56:aa:bb:02,,root,22,8\.0,yes,,/)
    expect(lines[2]).toBe(
      'esx01,lab.local,00:50:56:aa:bb:01,CZ1234567,midwife,2222,,,,10.0.0.2 10.0.0.3,lab.local corp.local,0.pool.ntp.org 10.0.0.5,udp://10.0.0.6:514,[datastore1] logs,vSwitch0:1500:vmnic0:vmnic1;vSwitch1:9000:vmnic2+vmnic3,VM Network:vSwitch0:0;vMotion:vSwitch1:20,vMotion:10.0.20.11/24:9000:VMotion,enter,10.0.0.11/24,10.0.0.1,10',
    )
  })

  it('names the values a host holds that CSV columns cannot carry', async () => {
    const { api } = await midwife()
    await api.saveHost({
      hostname: 'esx01',
      domain: 'lab.local',
      mac: '00:50:56:aa:bb:01',
      rootPassword: PASSWORD,
      spec: {
        ntp: { servers: ['10.0.0.5'], enabled: false },
        advanced: [{ path: '/UserVars/SuppressShellWarning', value: 1 }],
      },
    })
    const { content } = await api.exportHostsCsv()
    expect(content.split('\n')[1]).toBe(
      '# esx01.lab.local: not in this file, as CSV columns cannot carry them: its own NTP, Advanced settings.',
    )
  })

  it('offers a template: documentation in comments, then the header', async () => {
    const { api } = await midwife()
    const template = await api.csvTemplate()
    expect(template.filename).toBe('midwife-hosts-template.csv')
    const lines = template.content.trimEnd().split('\n')
    expect(lines.at(-1)).toBe(
      'hostname,domain,mac,serial,ssh_user,ssh_port,esxi_version,secure_boot,root_password,dns_servers,dns_search,ntp_servers,syslog_hosts,syslog_logdir,vswitches,portgroups,vmknics,maintenance_mode,mgmt_address,gateway,mgmt_vlan',
    )
    expect(lines.slice(0, -1).every((l) => l.startsWith('# '))).toBe(true)
    expect(lines).toContain(
      "# root_password: the root password it is installed with, by ESXi's default rules: 7 to 39 characters mixing at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count), without the word root; never exported (an export leaves it empty) and an empty cell keeps an existing host’s",
    )
    expect(
      lines.some((l) => l.startsWith('# vmknics: VMkernel NICs.') && l.includes('Like: ')),
    ).toBe(true)
    // Filled in as it is, the template is a file with a header and no hosts yet.
    expect(messages(await api.previewCsvImport(template.content))).toEqual([
      `Line ${lines.length}: the file has a header but no host rows`,
    ])
  })
})

describe('CSV import at rack scale', () => {
  const rack = (n: number, bad?: number) =>
    csv(
      'hostname,domain,mac,mgmt_address,dns_servers',
      ...Array.from({ length: n }, (_, i) => {
        const k = i + 1
        const mac = `00:50:56:${(k >> 16).toString(16).padStart(2, '0')}:${((k >> 8) & 255).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`
        const name = `esx${String(k).padStart(4, '0')}`
        return `${name},hall.local,${k === bad ? 'not-a-mac' : mac},10.1.${k >> 8}.${k & 255}/16,10.0.0.2`
      }),
    )

  it('imports 1,000 rows in one go', async () => {
    const { t, api } = await midwife()
    const text = rack(1000)
    const preview = await api.previewCsvImport(text, { rootPassword: PASSWORD })
    expect(preview.counts).toEqual({
      rows: 1000,
      create: 1000,
      update: 0,
      unchanged: 0,
      refused: 0,
    })
    const result = await api.importCsv(text, { confirm: true, rootPassword: PASSWORD })
    expect(result.created).toHaveLength(1000)
    expect(t.app.store.hosts.list()).toHaveLength(1000)
    expect(await api.verifyAudit()).toMatchObject({ ok: true })
  })

  it('stores nothing when one row of 1,000 is wrong', async () => {
    const { t, api } = await midwife()
    const head = t.app.store.events.head()
    const text = rack(1000, 1000)
    await expect(api.importCsv(text, { confirm: true, rootPassword: PASSWORD })).rejects.toThrow(
      'nothing was stored: Line 1001, column C (mac): not-a-mac is not a MAC address like 00:50:56:aa:bb:01',
    )
    expect(t.app.store.hosts.list()).toEqual([])
    expect(t.app.store.events.head()).toEqual(head)
  })

  it('stores nothing when a row fails after the preview passed: the transaction rolls back', async () => {
    const { t, api } = await midwife()
    const text = rack(1000)
    expect((await api.previewCsvImport(text, { rootPassword: PASSWORD })).ready).toBe(true)
    // The disk refuses the 777th host (as a full disk or a constraint would), mid-commit.
    const db = new Database(join(t.dataDir, 'midwife.db'))
    db.exec(`CREATE TRIGGER refuse_one BEFORE INSERT ON hosts WHEN NEW.hostname = 'esx0777'
               BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
    db.close()
    const head = t.app.store.events.head()
    await expect(api.importCsv(text, { confirm: true, rootPassword: PASSWORD })).rejects.toThrow(
      'nothing was stored: esx0777.hall.local (row 777) could not be: database or disk is full',
    )
    expect(t.app.store.hosts.list()).toEqual([])
    expect(t.app.store.events.head()).toEqual(head)
    expect(await api.verifyAudit()).toMatchObject({ ok: true })
  })
})
