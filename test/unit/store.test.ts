import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import type { Host } from '../../main/contract/schemas'
import { defaultSettings, Store } from '../../main/core/store'
import type { CheckinReport, HostFields } from '../../main/core/store'
import { migrations } from '../../main/core/store/migrations'

let dir: string
let file: string
const opened: Array<{ close(): void }> = []

function open(): Store {
  const s = Store.open(file)
  opened.push(s)
  return s
}

/** A second, raw connection on the same file: what another process or a curious operator sees. */
function raw(): Database.Database {
  const db = new Database(file)
  opened.push(db)
  return db
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-store-'))
  file = join(dir, 'midwife.db')
})

afterEach(() => {
  for (const s of opened.splice(0)) s.close()
  rmSync(dir, { recursive: true, force: true })
})

const esx01: HostFields = {
  hostname: 'esx01',
  domain: 'lab.local',
  mac: '00:50:56:b3:b9:89',
  dnsServers: ['10.0.0.2', '10.0.0.3'],
  ntpServers: ['10.0.0.4', 'ntp.lab.local'],
  sshUser: 'root',
  sshPort: 22,
}

const esx02: HostFields = {
  ...esx01,
  hostname: 'esx02',
  mac: '00:50:56:b3:b9:8a',
  dnsServers: ['10.0.0.9'],
}

const sealedPw = Buffer.from('sealed-password-1')
const sealedToken = Buffer.from('sealed-token-1')

function addHost(store: Store, f: HostFields = esx01, hash = `hash-${f.hostname}`): Host {
  return store.hosts.insert(f, { rootPassword: sealedPw, token: sealedToken }, hash)
}

const report: CheckinReport = {
  managementIp: '172.30.30.176',
  nics: [{ name: 'vmnic0', mac: '00:50:56:b3:b9:89', driver: 'nvmxnet3', link: 'Up' }],
  bootMac: '00:50:56:b3:b9:89',
  serial: 'VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99',
  uuid: 'ff003342-dcd6-71ba-0a6a-f91c57132599',
  vendor: 'VMware, Inc.',
  model: 'VMware20,1',
  esxiVersion: '8.0.2',
  esxiBuild: '22380479',
  reportedHostname: 'localhost',
  sshHostKeys: [{ type: 'ecdsa-sha2-nistp256', fingerprint: 'SHA256:abc' }],
}

describe('opening a data file', () => {
  it('runs the migrations, records user_version, and keeps data across reopening', () => {
    const store = open()
    const h = addHost(store)
    store.close()
    const db = raw()
    expect(migrations.length).toBeGreaterThan(0)
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length)
    db.close()

    const again = open()
    expect(again.hosts.list().map((x) => x.id)).toEqual([h.id])
    expect(again.hosts.get(h.id)?.hostname).toBe('esx01')
    const db2 = raw()
    expect(db2.pragma('user_version', { simple: true })).toBe(migrations.length)
  })

  it('refuses a file written by a newer Midwife, with a clear message', () => {
    const db = raw()
    db.pragma(`user_version = ${migrations.length + 3}`)
    db.close()
    expect(() => Store.open(file)).toThrow(
      `this data folder was written by a newer Midwife (schema ${migrations.length + 3}, this build knows ${migrations.length})`,
    )
  })

  it('uses WAL journaling', () => {
    open()
    expect(raw().pragma('journal_mode', { simple: true })).toBe('wal')
  })

  it('enforces foreign keys', () => {
    const store = open()
    expect(() =>
      store.runs.create({ checkinId: 999, hostId: null, hostName: null, target: 'x', steps: [] }),
    ).toThrow(/FOREIGN KEY constraint failed/)
    expect(store.runs.list()).toEqual([])
  })

  it('rolls back a transaction that throws', () => {
    const store = open()
    expect(() =>
      store.transaction(() => {
        addHost(store)
        throw new Error('boom')
      }),
    ).toThrow('boom')
    expect(store.hosts.list()).toEqual([])
  })
})

describe('settings', () => {
  it('starts with the defaults', () => {
    expect(open().settings.get()).toEqual(defaultSettings)
    expect(defaultSettings).toEqual({
      listenerHost: '0.0.0.0',
      listenerPort: 8080,
      advertisedAddress: '',
      mediaBaseUrl: '',
    })
  })

  it('saves, returns and keeps valid settings', () => {
    const store = open()
    const wanted = {
      listenerHost: '10.0.0.5',
      listenerPort: 9090,
      advertisedAddress: 'midwife.lab.local:9090',
      mediaBaseUrl: 'http://10.0.0.5/esxi8',
    }
    expect(store.settings.save({ ...wanted, listenerHost: '  10.0.0.5  ' })).toEqual(wanted)
    store.close()
    expect(open().settings.get()).toEqual(wanted)
  })

  it('refuses invalid settings and writes nothing', () => {
    const store = open()
    expect(() => store.settings.save({ ...defaultSettings, listenerPort: 70000 })).toThrow(ZodError)
    expect(() => store.settings.save({ ...defaultSettings, listenerHost: '   ' })).toThrow(ZodError)
    expect(store.settings.get()).toEqual(defaultSettings)
    expect(raw().prepare('SELECT COUNT(*) AS n FROM settings').get()).toEqual({ n: 0 })
  })
})

describe('hosts', () => {
  it('inserts and reads a host, without exposing its secrets', () => {
    const store = open()
    const h = addHost(store)
    expect(h).toEqual({
      id: h.id,
      hostname: 'esx01',
      domain: 'lab.local',
      mac: '00:50:56:b3:b9:89',
      dnsServers: ['10.0.0.2', '10.0.0.3'],
      ntpServers: ['10.0.0.4', 'ntp.lab.local'],
      sshUser: 'root',
      sshPort: 22,
      hasPassword: true,
      createdAt: h.createdAt,
      updatedAt: h.createdAt,
    })
    expect(new Date(h.createdAt).toISOString()).toBe(h.createdAt)
    expect(store.hosts.get(h.id)).toEqual(h)
    expect(store.hosts.get(h.id + 100)).toBeUndefined()
    expect(store.hosts.secrets(h.id)).toEqual({ rootPassword: sealedPw, token: sealedToken })
    expect(store.hosts.secrets(h.id + 100)).toBeUndefined()
  })

  it('records a host without a password', () => {
    const store = open()
    const h = store.hosts.insert(esx01, { rootPassword: null, token: sealedToken }, 'h')
    expect(h.hasPassword).toBe(false)
    expect(store.hosts.secrets(h.id)?.rootPassword).toBeNull()
  })

  it('lists hosts by name', () => {
    const store = open()
    addHost(store, esx02)
    addHost(store, esx01)
    expect(store.hosts.list().map((h) => h.hostname)).toEqual(['esx01', 'esx02'])
  })

  it('updates a host; a null password keeps the sealed one, a new one replaces it', () => {
    const store = open()
    const h = addHost(store)
    const changed = { ...esx01, dnsServers: ['10.9.9.9'], sshPort: 2222 }
    const u = store.hosts.update(h.id, changed, null)
    expect(u).toEqual({ ...h, dnsServers: ['10.9.9.9'], sshPort: 2222, updatedAt: u?.updatedAt })
    expect(u?.hasPassword).toBe(true)
    expect(store.hosts.secrets(h.id)?.rootPassword).toEqual(sealedPw)

    const newPw = Buffer.from('sealed-password-2')
    store.hosts.update(h.id, changed, newPw)
    expect(store.hosts.secrets(h.id)).toEqual({ rootPassword: newPw, token: sealedToken })
    expect(store.hosts.update(h.id + 100, changed, null)).toBeUndefined()
  })

  it('deletes a host once', () => {
    const store = open()
    const h = addHost(store)
    expect(store.hosts.delete(h.id)).toBe(true)
    expect(store.hosts.delete(h.id)).toBe(false)
    expect(store.hosts.get(h.id)).toBeUndefined()
    expect(store.hosts.list()).toEqual([])
  })

  it('finds a host by its token hash', () => {
    const store = open()
    const a = addHost(store, esx01, 'aaaa')
    addHost(store, esx02, 'bbbb')
    expect(store.hosts.findByTokenHash('aaaa')).toEqual(a)
    expect(store.hosts.findByTokenHash('bbbb')?.hostname).toBe('esx02')
    expect(store.hosts.findByTokenHash('cccc')).toBeUndefined()
  })

  it('finds conflicts by MAC and by FQDN, but not with the host being edited', () => {
    const store = open()
    const a = addHost(store)
    const b = addHost(store, esx02)
    expect(store.hosts.findConflict({ ...esx02, hostname: 'esx03', mac: esx01.mac })).toBe(
      'MAC 00:50:56:b3:b9:89 is already used by host esx01',
    )
    expect(
      store.hosts.findConflict({ ...esx02, hostname: 'esx01', mac: '00:50:56:00:00:01' }),
    ).toBe('a host named esx01.lab.local already exists')
    expect(
      store.hosts.findConflict({
        ...esx02,
        hostname: 'esx01',
        domain: 'other.local',
        mac: '00:50:56:00:00:01',
      }),
    ).toBeNull()
    expect(store.hosts.findConflict(esx01, a.id)).toBeNull()
    expect(store.hosts.findConflict({ ...esx01, mac: esx02.mac }, a.id)).toBe(
      'MAC 00:50:56:b3:b9:8a is already used by host esx02',
    )
    expect(store.hosts.findConflict({ ...esx02, hostname: 'esx01' }, b.id)).toBe(
      'a host named esx01.lab.local already exists',
    )
  })

  it('the schema itself refuses a duplicate MAC', () => {
    const store = open()
    addHost(store)
    expect(() => addHost(store, { ...esx02, mac: esx01.mac }, 'other')).toThrow(/UNIQUE/)
  })
})

describe('check-ins', () => {
  it('stores a check-in and reads it back joined to its host', () => {
    const store = open()
    const h = addHost(store)
    const c = store.checkins.insert({
      sourceIp: '172.30.30.176',
      hostId: h.id,
      macMatches: true,
      payload: { client: 'checkin.sh/1' },
      report,
    })
    expect(c).toEqual({
      id: c.id,
      receivedAt: c.receivedAt,
      sourceIp: '172.30.30.176',
      hostId: h.id,
      hostName: 'esx01.lab.local',
      match: { byToken: true, macMatches: true, note: 'token and MAC match esx01.lab.local' },
      ...report,
      latestRunId: null,
      latestRunState: null,
    })
    expect(store.checkins.get(c.id)).toEqual(c)
    expect(store.checkins.get(c.id + 1)).toBeUndefined()
    expect(store.checkins.count()).toBe(1)
  })

  it('says so when none of the reported MACs is the host’s', () => {
    const store = open()
    const h = addHost(store)
    const c = store.checkins.insert({
      sourceIp: '10.0.0.9',
      hostId: h.id,
      macMatches: false,
      payload: {},
      report,
    })
    expect(c.match).toEqual({
      byToken: true,
      macMatches: false,
      note: 'token matches esx01.lab.local, but none of the reported MACs is its MAC',
    })
  })

  it('lists newest first, with the latest run of each', () => {
    const store = open()
    const h = addHost(store)
    const base = { hostId: h.id, macMatches: true, payload: {}, report }
    const c1 = store.checkins.insert({ ...base, sourceIp: '10.0.0.1' })
    const c2 = store.checkins.insert({ ...base, sourceIp: '10.0.0.2' })
    const run = { hostId: h.id, hostName: 'esx01.lab.local', target: '10.0.0.1', steps: [] }
    store.runs.create({ ...run, checkinId: c1.id })
    const r2 = store.runs.create({ ...run, checkinId: c1.id })
    store.runs.finish(r2.id, 'done', null)
    const list = store.checkins.list()
    expect(list.map((c) => c.id)).toEqual([c2.id, c1.id])
    expect(list.map((c) => [c.latestRunId, c.latestRunState])).toEqual([
      [null, null],
      [r2.id, 'done'],
    ])
    expect(store.checkins.list(1).map((c) => c.id)).toEqual([c2.id])
  })

  it('survives its host being deleted, and says so', () => {
    const store = open()
    const h = addHost(store)
    const c = store.checkins.insert({
      sourceIp: '10.0.0.1',
      hostId: h.id,
      macMatches: true,
      payload: {},
      report,
    })
    const r = store.runs.create({
      checkinId: c.id,
      hostId: h.id,
      hostName: 'esx01.lab.local',
      target: '10.0.0.1',
      steps: [{ key: 'dns', title: 'DNS servers' }],
    })
    expect(store.hosts.delete(h.id)).toBe(true)
    const after = store.checkins.get(c.id)
    expect(after?.hostId).toBeNull()
    expect(after?.hostName).toBeNull()
    expect(after?.match).toEqual({
      byToken: false,
      macMatches: true,
      note: 'the host definition this check-in matched was deleted',
    })
    expect(after?.nics).toEqual(report.nics)
    // The run keeps the name it was started for.
    expect(store.runs.get(r.id)).toMatchObject({ hostId: null, hostName: 'esx01.lab.local' })
  })
})

describe('runs', () => {
  function setup(store: Store) {
    const h = addHost(store)
    const c = store.checkins.insert({
      sourceIp: '10.0.0.1',
      hostId: h.id,
      macMatches: true,
      payload: {},
      report,
    })
    const newRun = () =>
      store.runs.create({
        checkinId: c.id,
        hostId: h.id,
        hostName: 'esx01.lab.local',
        target: '10.0.0.1:22',
        steps: [
          { key: 'hostname', title: 'Hostname and domain' },
          { key: 'dns', title: 'DNS servers' },
          { key: 'ntp', title: 'NTP servers' },
        ],
      })
    return { h, c, newRun }
  }

  it('creates a queued run whose steps are pending, in order', () => {
    const store = open()
    const { h, c, newRun } = setup(store)
    const r = newRun()
    expect(r).toMatchObject({
      checkinId: c.id,
      hostId: h.id,
      hostName: 'esx01.lab.local',
      target: '10.0.0.1:22',
      state: 'queued',
      error: null,
      startedAt: null,
      finishedAt: null,
    })
    expect(r.steps.map((s) => [s.seq, s.key, s.title, s.state, s.output, s.error])).toEqual([
      [1, 'hostname', 'Hostname and domain', 'pending', '', null],
      [2, 'dns', 'DNS servers', 'pending', '', null],
      [3, 'ntp', 'NTP servers', 'pending', '', null],
    ])
    expect(store.runs.get(r.id)).toEqual(r)
    expect(store.runs.get(r.id + 100)).toBeUndefined()
  })

  it('walks a run through its steps to done', () => {
    const store = open()
    const { c, newRun } = setup(store)
    const r = newRun()
    expect(store.runs.active(c.id)).toBe(r.id)

    store.runs.markRunning(r.id)
    expect(store.runs.get(r.id)?.state).toBe('running')
    expect(store.runs.get(r.id)?.startedAt).not.toBeNull()
    expect(store.runs.active(c.id)).toBe(r.id)

    const [s1, s2, s3] = r.steps as [(typeof r.steps)[0], (typeof r.steps)[0], (typeof r.steps)[0]]
    store.runs.startStep(s1.id)
    expect(store.runs.get(r.id)?.steps[0]?.state).toBe('running')
    store.runs.appendOutput(s1.id, '$ esxcli system hostname get\n')
    store.runs.appendOutput(s1.id, '   Host Name: localhost\n')
    store.runs.finishStep(s1.id, 'done', null)
    store.runs.startStep(s2.id)
    store.runs.finishStep(s2.id, 'failed', 'DNS server 10.0.0.2 did not stick')
    store.runs.finishStep(s3.id, 'skipped', null)
    store.runs.finish(r.id, 'failed', 'DNS servers: DNS server 10.0.0.2 did not stick')

    const done = store.runs.get(r.id)
    expect(done?.state).toBe('failed')
    expect(done?.error).toBe('DNS servers: DNS server 10.0.0.2 did not stick')
    expect(done?.finishedAt).not.toBeNull()
    expect(done?.steps.map((s) => [s.state, s.output, s.error])).toEqual([
      ['done', '$ esxcli system hostname get\n   Host Name: localhost\n', null],
      ['failed', '', 'DNS server 10.0.0.2 did not stick'],
      ['skipped', '', null],
    ])
    expect(done?.steps[0]?.startedAt).not.toBeNull()
    expect(done?.steps[0]?.finishedAt).not.toBeNull()
    expect(done?.steps[2]?.startedAt).toBeNull()
    expect(store.runs.active(c.id)).toBeUndefined()
    expect(store.runs.list().map((x) => x.id)).toEqual([r.id])
  })

  it('closes interrupted runs as failed and leaves finished ones alone', () => {
    const store = open()
    const { c, newRun } = setup(store)
    const finished = newRun()
    store.runs.markRunning(finished.id)
    for (const s of finished.steps) store.runs.finishStep(s.id, 'done', null)
    store.runs.finish(finished.id, 'done', null)
    const before = store.runs.get(finished.id)

    const queued = newRun()
    const running = newRun()
    store.runs.markRunning(running.id)
    const [s1, s2] = running.steps as [(typeof running.steps)[0], (typeof running.steps)[0]]
    store.runs.startStep(s1.id)
    store.runs.finishStep(s1.id, 'done', null)
    store.runs.startStep(s2.id)
    store.runs.appendOutput(s2.id, 'partial output\n')

    const reason = 'Midwife stopped while this run was in progress'
    expect(store.runs.failInterrupted(reason).sort((a, b) => a - b)).toEqual([
      queued.id,
      running.id,
    ])

    const q = store.runs.get(queued.id)
    expect(q?.state).toBe('failed')
    expect(q?.error).toBe(reason)
    expect(q?.finishedAt).not.toBeNull()
    expect(q?.steps.map((s) => [s.state, s.error])).toEqual([
      ['skipped', null],
      ['skipped', null],
      ['skipped', null],
    ])

    const r = store.runs.get(running.id)
    expect(r?.state).toBe('failed')
    expect(r?.error).toBe(reason)
    expect(r?.steps.map((s) => [s.state, s.error, s.output])).toEqual([
      ['done', null, ''],
      ['failed', reason, 'partial output\n'],
      ['skipped', null, ''],
    ])
    expect(r?.steps.every((s) => s.finishedAt !== null)).toBe(true)

    expect(store.runs.get(finished.id)).toEqual(before)
    expect(store.runs.active(c.id)).toBeUndefined()
    expect(store.runs.failInterrupted(reason)).toEqual([])
  })

  it('lists newest first, up to the limit', () => {
    const store = open()
    const { newRun } = setup(store)
    const ids = [newRun().id, newRun().id, newRun().id]
    expect(store.runs.list().map((r) => r.id)).toEqual([...ids].reverse())
    expect(store.runs.list(2).map((r) => r.id)).toEqual([ids[2], ids[1]])
  })
})

describe('the event log', () => {
  it('appends and lists newest first, with data parsed back', () => {
    const store = open()
    store.events.append('host.saved', 'host:1', { hostname: 'esx01' })
    store.events.append('listener.started', null)
    const list = store.events.list()
    expect(list.map((e) => [e.type, e.subject, e.data])).toEqual([
      ['listener.started', null, {}],
      ['host.saved', 'host:1', { hostname: 'esx01' }],
    ])
    expect(list[0]!.id).toBeGreaterThan(list[1]!.id)
    expect(store.events.list(1)).toHaveLength(1)
  })

  it('refuses UPDATE and DELETE, even from another connection', () => {
    const store = open()
    store.events.append('host.saved', 'host:1', { hostname: 'esx01' })
    const db = raw()
    expect(() => db.prepare("UPDATE events SET type = 'forged'").run()).toThrow(
      'the event log is append-only',
    )
    expect(() => db.prepare('DELETE FROM events').run()).toThrow('the event log is append-only')
    expect(store.events.list().map((e) => e.type)).toEqual(['host.saved'])
  })
})
