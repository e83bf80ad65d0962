import Database from 'better-sqlite3'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ZodError } from 'zod'
import { IllegalTransition } from '../../main/core/lifecycle/table'
import { defaultSettings, Store } from '../../main/core/store'
import type { CheckinReport, DefinitionFields } from '../../main/core/store'
import { migrations } from '../../main/core/store/migrations'
import { damagedDataFolder } from '../support/app'

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

const tz = process.env.TZ
afterEach(() => {
  for (const s of opened.splice(0)) s.close()
  rmSync(dir, { recursive: true, force: true })
  vi.useRealTimers()
  if (tz === undefined) delete process.env.TZ
  else process.env.TZ = tz
})

const esx01: DefinitionFields = {
  hostname: 'esx01',
  domain: 'lab.local',
  mac: '00:50:56:b3:b9:89',
  serial: null,
  spec: { dns: ['10.0.0.2', '10.0.0.3'] },
  sshUser: 'root',
  sshPort: 22,
}

const esx02: DefinitionFields = {
  ...esx01,
  hostname: 'esx02',
  mac: '00:50:56:b3:b9:8a',
  spec: { dns: ['10.0.0.9'] },
}

const sealedPw = Buffer.from('sealed-password-1')
const sealedToken = Buffer.from('sealed-token-1')

function addHost(store: Store, f: DefinitionFields = esx01, hash = `hash-${f.hostname}`): number {
  return store.hosts.insertDefinition(f, { rootPassword: sealedPw, token: sealedToken }, hash)
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

const identity = {
  macs: ['00:50:56:b3:b9:89'],
  serial: report.serial,
  uuid: report.uuid,
  sshHostKeys: report.sshHostKeys,
  managementIp: '172.30.30.176',
  boundAt: '2026-01-01T00:00:00.000Z',
  how: 'first_checkin' as const,
  checkinId: null,
}

function addCheckin(store: Store, hostId: number, digest = 'd1', sourceIp = '10.0.0.1') {
  return store.checkins.insert({
    hostId,
    kind: 'token',
    sourceIp,
    digest,
    payload: '{"client":"checkin.sh/1"}',
    report,
  })
}

describe('opening a data file', () => {
  it('runs the migrations, records user_version, and keeps data across reopening', () => {
    const store = open()
    const h = addHost(store)
    store.close()
    const db = raw()
    expect(migrations.length).toBeGreaterThan(1)
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length)
    db.close()

    const again = open()
    expect(again.hosts.list().map((x) => x.id)).toEqual([h])
    expect(again.hosts.get(h)?.definition?.hostname).toBe('esx01')
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

  it('refuses a SQLite file another program made, and leaves it as it was', () => {
    const db = raw()
    db.exec(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('kept')",
    )
    db.close()
    expect(() => Store.open(file)).toThrow(
      `${file} is not a Midwife database: it holds tables Midwife did not make (notes). Midwife will not start over it: move it out of the data folder, or choose another one`,
    )
    const after = raw()
    expect(
      after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(),
    ).toEqual(['notes'])
    expect(after.pragma('user_version', { simple: true })).toBe(0)
  })

  it('refuses a file that is not a database at all, naming it', () => {
    writeFileSync(file, Buffer.alloc(8192, 'not sqlite '))
    expect(() => Store.open(file)).toThrow(
      `${file} cannot be read as a Midwife database (file is not a database). Midwife will not start over it: move it out of the data folder (or restore a backup), or choose another one`,
    )
    expect(readFileSync(file)).toEqual(Buffer.alloc(8192, 'not sqlite '))
  })

  it('refuses a damaged database before writing to it, naming what SQLite found', () => {
    const dir = damagedDataFolder('store-damaged')
    try {
      const refused = () => Store.open(dir.file)
      expect(refused).toThrow(
        new RegExp(
          `^${dir.file.replace(/[.]/g, '\\.')} is damaged: SQLite's check found "[^"]+"(, "[^"]+")*\\. Midwife will not start on it, so nothing more is written to it: restore the data folder from a backup \\(midwife\\.db with the secret\\.key beside it\\), or salvage what it holds with SQLite's \\.recover command$`,
        ),
      )
      expect(refused).not.toThrow(/\*\*\*/)
      expect(readFileSync(dir.file)).toEqual(dir.bytes)
    } finally {
      dir.remove()
    }
  })

  it('refuses to start empty beside a WAL file whose database is missing, and keeps it', () => {
    const store = open()
    addHost(store)
    const wal = readFileSync(`${file}-wal`)
    expect(wal.length).toBeGreaterThan(0)
    store.close()
    // What a data folder looks like when midwife.db went missing before its WAL was copied back.
    writeFileSync(`${file}-wal`, wal)
    rmSync(file)
    expect(() => Store.open(file)).toThrow(
      `${file} is missing, but ${file}-wal beside it holds a database's last writes: starting would throw them away. Put midwife.db back beside it, or move ${file}-wal out of the data folder to start empty`,
    )
    // Buffer.equals: a deep toEqual walks the WAL's megabytes byte by byte (seconds).
    expect(readFileSync(`${file}-wal`).equals(wal)).toBe(true)
    expect(existsSync(file)).toBe(false)
  })

  it('starts on an empty file (a data folder made by hand)', () => {
    writeFileSync(file, '')
    const store = open()
    expect(store.hosts.list()).toEqual([])
  })

  it('uses WAL journaling', () => {
    open()
    expect(raw().pragma('journal_mode', { simple: true })).toBe('wal')
  })

  it('keeps the database and its WAL files readable by their owner only', () => {
    const store = open()
    addHost(store)
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      expect((statSync(f).mode & 0o777).toString(8), f).toBe('600')
    }
  })

  it('enforces foreign keys', () => {
    const store = open()
    expect(() =>
      store.runs.create({
        checkinId: null,
        hostId: 999,
        hostName: 'x',
        target: 'x',
        snapshot: {},
        sealedPassword: sealedPw,
        plan: [],
        steps: [],
      }),
    ).toThrow(/FOREIGN KEY constraint failed/)
    expect(store.runs.list({ limit: 10 })).toEqual({ runs: [], more: false })
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
      autoMatch: false,
      boot: {
        media: { '7.0': '', '8.0': '', '9.0': '' },
        defaultVersion: '',
        tftpBootDir: 'esxi',
        installUnknown: false,
        secureBootExpected: false,
        httpsBootBaseUrl: '',
        firmwareHttpsOnly: false,
        dhcp: {
          subnet: '',
          rangeStart: '',
          rangeEnd: '',
          router: '',
          dnsServers: [],
          leaseSeconds: 43200,
          tftpServer: '',
          chainIpxe: false,
        },
      },
      runConcurrency: 200,
    })
  })

  it('saves, returns and keeps valid settings', () => {
    const store = open()
    const wanted = {
      listenerHost: '10.0.0.5',
      listenerPort: 9090,
      advertisedAddress: 'midwife.lab.local:9090',
      mediaBaseUrl: 'http://10.0.0.5/esxi8',
      autoMatch: true,
      boot: {
        ...defaultSettings.boot,
        tftpBootDir: 'boot/esxi',
        httpsBootBaseUrl: 'https://boot.lab.local',
        dhcp: { ...defaultSettings.boot.dhcp, subnet: '10.0.0.0/24', dnsServers: ['10.0.0.2'] },
      },
      runConcurrency: 50,
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

describe('site secrets', () => {
  it('keeps each one sealed under its name, and replaces it', () => {
    const store = open()
    expect(store.settings.secret('enrollment_key')).toBeUndefined()
    store.settings.putSecret('enrollment_key', Buffer.from('sealed-1'), 'h1')
    store.settings.putSecret('enrollment_key', Buffer.from('sealed-2'), 'h2')
    expect(store.settings.secret('enrollment_key')).toEqual({
      sealed: Buffer.from('sealed-2'),
      hash: 'h2',
    })
  })
})

describe('hosts', () => {
  it('inserts and reads a definition, without exposing its secrets', () => {
    const store = open()
    const id = addHost(store)
    const h = store.hosts.get(id)
    expect(h).toEqual({
      id,
      state: 'defined',
      stateReason: 'defined by the operator',
      stateChangedAt: h?.createdAt,
      definition: {
        hostname: 'esx01',
        domain: 'lab.local',
        mac: '00:50:56:b3:b9:89',
        serial: null,
        sshUser: 'root',
        sshPort: 22,
        hasPassword: true,
        spec: { dns: ['10.0.0.2', '10.0.0.3'] },
        esxiVersion: null,
        secureBoot: null,
      },
      identity: null,
      attention: null,
      install: null,
      secureBootPath: null,
      tokenHash: 'hash-esx01',
      createdAt: h?.createdAt,
      updatedAt: h?.createdAt,
    })
    expect(store.hosts.get(id + 100)).toBeUndefined()
    expect(store.hosts.secrets(id)).toEqual({ rootPassword: sealedPw, token: sealedToken })
    expect(store.hosts.secrets(id + 100)).toBeUndefined()
  })

  it('keeps the ESXi version, Secure Boot and the install report, and finds a host by its MAC', () => {
    const store = open()
    const id = addHost(store, { ...esx01, esxiVersion: '9.0', secureBoot: true })
    expect(store.hosts.get(id)?.definition).toMatchObject({ esxiVersion: '9.0', secureBoot: true })
    expect(store.hosts.byMac('00:50:56:b3:b9:89')?.id).toBe(id)
    expect(store.hosts.byMac('00:50:56:b3:b9:8f')).toBeUndefined()

    store.hosts.writeDefinition(id, { ...esx01, secureBoot: false }, null)
    expect(store.hosts.get(id)?.definition).toMatchObject({ esxiVersion: null, secureBoot: false })

    const evidence = {
      state: 'installed' as const,
      at: '2026-01-01T00:00:00.000Z',
      sourceIp: '10.0.0.50',
      secureBoot: 'on' as const,
      macs: ['00:50:56:b3:b9:89'],
      serial: 'SN-1',
      uuid: null,
      address: '10.0.0.50',
      bootMac: '00:50:56:b3:b9:89',
      macMatches: true,
    }
    store.hosts.setInstall(id, evidence)
    store.close()
    const again = open()
    expect(again.hosts.get(id)?.install).toEqual(evidence)
    again.hosts.setInstall(id, null)
    expect(again.hosts.get(id)?.install).toBeNull()
    // A version the schema does not know is refused by SQLite itself.
    expect(() =>
      raw().prepare("UPDATE hosts SET esxi_version = '6.7' WHERE id = ?").run(id),
    ).toThrow(/CHECK constraint failed/)
  })

  it('records a discovered server: an identity and no definition', () => {
    const store = open()
    const id = store.hosts.insertDiscovered({ ...identity, how: 'discovered' }, 'checked in')
    const h = store.hosts.get(id)
    expect(h).toMatchObject({ state: 'discovered', definition: null, tokenHash: null })
    expect(h?.identity?.serial).toBe(report.serial)
  })

  it('lists definitions by name, discovered servers after them', () => {
    const store = open()
    const disc = store.hosts.insertDiscovered({ ...identity, how: 'discovered' }, 'x')
    addHost(store, esx02)
    addHost(store, esx01)
    expect(store.hosts.list().map((h) => h.definition?.hostname ?? h.id)).toEqual([
      'esx01',
      'esx02',
      disc,
    ])
  })

  it('lists the hosts in given states only, and says whether a host exists', () => {
    const store = open()
    const disc = store.hosts.insertDiscovered({ ...identity, how: 'discovered' }, 'x')
    const a = addHost(store, esx01)
    expect(store.hosts.listIn(['discovered']).map((h) => h.id)).toEqual([disc])
    expect(store.hosts.listIn(['defined', 'discovered']).map((h) => h.id)).toEqual([disc, a])
    expect(store.hosts.listIn(['installed'])).toEqual([])
    expect(store.hosts.listIn([])).toEqual([])
    expect([store.hosts.has(a), store.hosts.has(disc)]).toEqual([true, true])
    store.hosts.delete(a)
    expect([store.hosts.has(a), store.hosts.has(a + 100)]).toEqual([false, false])
  })

  it('writes a definition; a null password keeps the sealed one, a new one replaces it', () => {
    const store = open()
    const id = addHost(store)
    const changed = { ...esx01, spec: { dns: ['10.9.9.9'] }, sshPort: 2222 }
    expect(store.hosts.writeDefinition(id, changed, null)).toBe(true)
    expect(store.hosts.get(id)?.definition).toMatchObject({
      spec: { dns: ['10.9.9.9'] },
      sshPort: 2222,
    })
    expect(store.hosts.secrets(id)?.rootPassword).toEqual(sealedPw)

    const newPw = Buffer.from('sealed-password-2')
    store.hosts.writeDefinition(id, changed, newPw)
    expect(store.hosts.secrets(id)).toEqual({ rootPassword: newPw, token: sealedToken })
    expect(store.hosts.writeDefinition(id + 100, changed, null)).toBe(false)
  })

  it('deletes a host once', () => {
    const store = open()
    const id = addHost(store)
    expect(store.hosts.delete(id)).toBe(true)
    expect(store.hosts.delete(id)).toBe(false)
    expect(store.hosts.get(id)).toBeUndefined()
    expect(store.hosts.list()).toEqual([])
  })

  it('finds a host by its token hash, and remembers a rotated token as retired', () => {
    const store = open()
    const a = addHost(store, esx01, 'aaaa')
    addHost(store, esx02, 'bbbb')
    expect(store.hosts.byTokenHash('aaaa')?.id).toBe(a)
    expect(store.hosts.byTokenHash('bbbb')?.definition?.hostname).toBe('esx02')
    expect(store.hosts.byTokenHash('cccc')).toBeUndefined()
    store.hosts.rotateToken(a, Buffer.from('sealed-token-2'), 'dddd')
    expect(store.hosts.byTokenHash('aaaa')).toBeUndefined()
    expect(store.hosts.retiredToken('aaaa')).toBe(a)
    expect(store.hosts.byTokenHash('dddd')?.id).toBe(a)
    expect(store.hosts.retiredToken('cccc')).toBeUndefined()
  })

  it('finds the bound host a report shares a UUID, serial or host key with', () => {
    const store = open()
    const a = addHost(store)
    addHost(store, esx02)
    store.hosts.setIdentity(a, identity)
    const nothingShared = { ...identity, serial: null, uuid: null, sshHostKeys: [] }
    expect(store.hosts.boundLike(identity).map((h) => h.id)).toEqual([a])
    expect(store.hosts.boundLike({ ...nothingShared, uuid: report.uuid }).map((h) => h.id)).toEqual(
      [a],
    )
    expect(
      store.hosts
        .boundLike({ ...nothingShared, sshHostKeys: [{ type: 'x', fingerprint: 'SHA256:abc' }] })
        .map((h) => h.id),
    ).toEqual([a])
    expect(store.hosts.boundLike(nothingShared)).toEqual([])
  })

  it('finds unbound definitions by MAC or serial', () => {
    const store = open()
    const a = addHost(store)
    const b = addHost(store, { ...esx02, serial: 'SN-2' })
    expect(store.hosts.unboundWithMac([esx01.mac, '00:00:00:00:00:01']).map((h) => h.id)).toEqual([
      a,
    ])
    expect(store.hosts.unboundWithSerial('SN-2').map((h) => h.id)).toEqual([b])
    store.hosts.setIdentity(a, identity)
    expect(store.hosts.unboundWithMac([esx01.mac])).toEqual([])
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
    expect(store.hosts.findConflict(esx01, a)).toBeNull()
    expect(store.hosts.findConflict({ ...esx01, mac: esx02.mac }, a)).toBe(
      'MAC 00:50:56:b3:b9:8a is already used by host esx02',
    )
    expect(store.hosts.findConflict({ ...esx02, hostname: 'esx01' }, b)).toBe(
      'a host named esx01.lab.local already exists',
    )
  })

  it('the schema itself refuses a duplicate MAC', () => {
    const store = open()
    addHost(store)
    expect(() => addHost(store, { ...esx02, mac: esx01.mac }, 'other')).toThrow(/UNIQUE/)
  })
})

describe('moving a host through its lifecycle', () => {
  it('moves along the table, writing the audit entry and its reason in the same transaction', () => {
    const store = open()
    const id = addHost(store)
    store.moveHost(id, 'booting', 'fetched its kickstart', { source: '10.0.0.1' }, () =>
      store.hosts.setIdentity(id, identity),
    )
    expect(store.hosts.get(id)).toMatchObject({
      state: 'booting',
      stateReason: 'fetched its kickstart',
      identity: { serial: report.serial },
    })
    expect(store.events.about(`host:${id}`).map((e) => [e.type, e.data])).toEqual([
      [
        'host.state',
        { source: '10.0.0.1', from: 'defined', to: 'booting', reason: 'fetched its kickstart' },
      ],
    ])
  })

  it('refuses a move the table does not allow, and writes nothing at all', () => {
    const store = open()
    const id = addHost(store)
    expect(() =>
      store.moveHost(id, 'configured', 'skipping ahead', {}, () =>
        store.hosts.setIdentity(id, identity),
      ),
    ).toThrow(IllegalTransition)
    expect(() => store.moveHost(id, 'configured', 'skipping ahead')).toThrow(
      'a host that is defined cannot become configured (from defined it can become: booting, installing, installed, checked_in, needs_attention, retired)',
    )
    expect(store.hosts.get(id)).toMatchObject({ state: 'defined', identity: null })
    expect(store.events.about(`host:${id}`)).toEqual([])
  })

  it('rolls back the whole move when its own writes fail', () => {
    const store = open()
    const id = addHost(store)
    expect(() =>
      store.moveHost(id, 'booting', 'x', {}, () => {
        throw new Error('disk full')
      }),
    ).toThrow('disk full')
    expect(store.hosts.get(id)?.state).toBe('defined')
    expect(store.events.about(`host:${id}`)).toEqual([])
  })
})

describe('check-ins', () => {
  it('stores a check-in as evidence for its host and reads it back', () => {
    const store = open()
    const h = addHost(store)
    const c = addCheckin(store, h, 'digest-1', '172.30.30.176')
    expect(c).toEqual({
      id: c.id,
      hostId: h,
      kind: 'token',
      receivedAt: c.receivedAt,
      lastSeenAt: c.receivedAt,
      repeats: 0,
      sourceIp: '172.30.30.176',
      ...report,
    })
    expect(store.checkins.get(c.id)).toEqual(c)
    expect(store.checkins.get(c.id + 1)).toBeUndefined()
    expect(store.checkins.count()).toBe(1)
  })

  it('counts a repeat of the latest report instead of storing it again', () => {
    const store = open()
    const h = addHost(store)
    const c = addCheckin(store, h, 'same')
    expect(store.checkins.latestWithDigest(h, 'same')).toBe(c.id)
    expect(store.checkins.latestWithDigest(h, 'other')).toBeUndefined()
    const again = store.checkins.repeat(c.id)
    expect(again).toMatchObject({ id: c.id, repeats: 1 })
    expect(store.checkins.count()).toBe(1)
    // Only the latest counts: after a different report, the old one is new again.
    addCheckin(store, h, 'other')
    expect(store.checkins.latestWithDigest(h, 'same')).toBeUndefined()
  })

  it('knows the latest report without reading it back, and never from a write that was rolled back', () => {
    const store = open()
    const h = addHost(store)
    addCheckin(store, h, 'kept')
    // Within one transaction, a second check-in sees the first one's digest.
    store.transaction(() => {
      const first = addCheckin(store, h, 'batch')
      expect(store.checkins.latestWithDigest(h, 'batch')).toBe(first.id)
    })
    // A transaction that stored a check-in and then failed leaves nothing behind, cache included.
    expect(() =>
      store.transaction(() => {
        addCheckin(store, h, 'rolled-back')
        throw new Error('refused')
      }),
    ).toThrow('refused')
    expect(store.checkins.latestWithDigest(h, 'rolled-back')).toBeUndefined()
    expect(store.checkins.latestWithDigest(h, 'batch')).toBeDefined()
    // So does a savepoint that failed inside a transaction that went on.
    store.transaction(() => {
      try {
        store.transaction(() => {
          addCheckin(store, h, 'inner')
          throw new Error('inner refused')
        })
      } catch {
        // the outer transaction carries on
      }
    })
    expect(store.checkins.latestWithDigest(h, 'inner')).toBeUndefined()
    expect(store.checkins.latestWithDigest(h, 'batch')).toBeDefined()
  })

  it('forgets a deleted host’s latest report, and never gives its id to a new host', () => {
    const store = open()
    const h = addHost(store)
    addCheckin(store, h, 'old-host')
    expect(store.checkins.latestWithDigest(h, 'old-host')).toBeDefined()
    store.hosts.delete(h)
    expect(store.checkins.latestWithDigest(h, 'old-host')).toBeUndefined()
    const again = addHost(store, esx02)
    expect(again).toBe(h + 1)
    expect(store.checkins.latestWithDigest(again, 'old-host')).toBeUndefined()
  })

  it('lists a host’s check-ins newest first, and moves them with a discovered server', () => {
    const store = open()
    const h = addHost(store)
    const own = addCheckin(store, h, 'own')
    const disc = store.hosts.insertDiscovered({ ...identity, how: 'discovered' }, 'x')
    const c1 = addCheckin(store, disc, 'a')
    const c2 = addCheckin(store, disc, 'b')
    expect(store.checkins.listFor(disc).map((c) => c.id)).toEqual([c2.id, c1.id])
    expect(store.checkins.latestWithDigest(h, 'own')).toBe(own.id)
    store.checkins.moveToHost(disc, h)
    expect(store.checkins.listFor(h).map((c) => c.id)).toEqual([c2.id, c1.id, own.id])
    expect(store.checkins.latestWithDigest(h, 'own')).toBeUndefined()
    expect(store.checkins.latestWithDigest(h, 'b')).toBe(c2.id)
    expect(store.checkins.latestFor(h)?.id).toBe(c2.id)
    expect(store.checkins.listFor(disc)).toEqual([])
  })

  it('gives every stored NIC and key once, even from a row an older build wrote with repeats', () => {
    const store = open()
    const h = addHost(store)
    const nic = report.nics[0] as CheckinReport['nics'][number]
    const key = report.sshHostKeys[0] as CheckinReport['sshHostKeys'][number]
    const c = store.checkins.insert({
      hostId: h,
      kind: 'token',
      sourceIp: '10.0.0.1',
      digest: 'x',
      payload: '{}',
      report: { ...report, nics: [nic, nic], sshHostKeys: [key, key] },
    })
    const back = store.checkins.get(c.id)
    expect(back?.nics).toEqual([nic])
    expect(back?.sshHostKeys).toEqual([key])
  })

  it('survives its host being deleted', () => {
    const store = open()
    const h = addHost(store)
    const c = addCheckin(store, h)
    expect(store.hosts.delete(h)).toBe(true)
    const after = store.checkins.get(c.id)
    expect(after?.hostId).toBeNull()
    expect(after?.nics).toEqual(report.nics)
  })
})

describe('runs', () => {
  function setup(store: Store) {
    const h = addHost(store)
    const c = addCheckin(store, h)
    const newRun = () =>
      store.runs.create({
        checkinId: c.id,
        hostId: h,
        hostName: 'esx01.lab.local',
        target: '10.0.0.1',
        snapshot: { host: { name: 'esx01.lab.local' } },
        sealedPassword: sealedPw,
        plan: [],
        steps: [
          { key: 'hostname', title: 'Hostname and domain' },
          { key: 'dns', title: 'DNS servers' },
          { key: 'ntp', title: 'NTP servers' },
        ],
      })
    return { h, c, newRun }
  }

  it('creates a queued run whose steps are pending, in order, with the approved snapshot', () => {
    const store = open()
    const { h, c, newRun } = setup(store)
    const r = newRun()
    expect(r).toMatchObject({
      checkinId: c.id,
      hostId: h,
      hostName: 'esx01.lab.local',
      target: '10.0.0.1',
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
    expect(store.runs.approved(r.id)).toEqual({
      snapshot: { host: { name: 'esx01.lab.local' } },
      sealedPassword: sealedPw,
    })
  })

  it('walks a run through its steps to its end', () => {
    const store = open()
    const { h, newRun } = setup(store)
    const r = newRun()
    expect(store.runs.activeFor(h)).toBe(r.id)

    store.runs.markRunning(r.id)
    expect(store.runs.get(r.id)?.state).toBe('running')
    expect(store.runs.get(r.id)?.startedAt).not.toBeNull()
    expect(store.runs.activeFor(h)).toBe(r.id)

    const [s1, s2, s3] = r.steps as [(typeof r.steps)[0], (typeof r.steps)[0], (typeof r.steps)[0]]
    store.runs.startStep(s1.id)
    expect(store.runs.get(r.id)?.steps[0]?.state).toBe('running')
    const seq1 = store.runs.appendOutput(r.id, s1.id, '$ esxcli system hostname get\n')
    const seq2 = store.runs.appendOutput(r.id, s1.id, '   Host Name: localhost\n')
    expect(seq2).toBeGreaterThan(seq1)
    expect(store.runs.output(r.id, seq1, 10)).toEqual([
      { runId: r.id, stepId: s1.id, firstSeq: seq2, seq: seq2, text: '   Host Name: localhost\n' },
    ])
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
    expect(store.runs.activeFor(h)).toBeUndefined()
    expect(store.runs.currentFor(h)).toBe(r.id)
    expect(store.runs.list({ limit: 10 }).runs.map((x) => x.id)).toEqual([r.id])
    expect(done?.outputSeq).toBe(seq2)
  })

  it('requeues a failed run from its first step not done, keeping what is done and its output', () => {
    const store = open()
    const { newRun } = setup(store)
    const r = newRun()
    store.runs.markRunning(r.id)
    const [s1, s2, s3] = r.steps as [(typeof r.steps)[0], (typeof r.steps)[0], (typeof r.steps)[0]]
    store.runs.finishStep(s1.id, 'done', null)
    store.runs.appendOutput(r.id, s1.id, 'set\n')
    store.runs.finishStep(s2.id, 'failed', 'no')
    store.runs.finishStep(s3.id, 'skipped', null)
    store.runs.finish(r.id, 'failed', 'no')
    store.runs.requeue(r.id)
    const again = store.runs.get(r.id)
    expect(again).toMatchObject({ state: 'queued', error: null, finishedAt: null, attempts: 2 })
    expect(again?.steps.map((s) => [s.key, s.state, s.output])).toEqual([
      ['hostname', 'done', 'set\n'],
      ['dns', 'pending', ''],
      ['ntp', 'pending', ''],
    ])
  })

  it('keeps output append-only, even from another connection', () => {
    const store = open()
    const { newRun } = setup(store)
    const r = newRun()
    store.runs.appendOutput(r.id, (r.steps[0] as { id: number }).id, 'kept\n')
    expect(() => raw().prepare("UPDATE run_output SET text = 'forged'").run()).toThrow(
      'run output is append-only',
    )
  })

  it('marks runs a stopped Midwife left behind as interrupted, keeping output and pending steps', () => {
    // The evening before (local time is UTC here), and Midwife started again the next morning.
    process.env.TZ = 'UTC'
    vi.useFakeTimers({ toFake: ['Date'] })
    const at = (iso: string) => vi.setSystemTime(new Date(iso))
    at('2026-11-25T22:00:00.000Z')
    const store = open()
    const { h, newRun } = setup(store)
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
    at('2026-11-25T22:10:00.000Z')
    store.runs.finishStep(s1.id, 'done', null)
    store.runs.startStep(s2.id)
    // Its last output: the last moment anything shows Midwife running.
    at('2026-11-25T23:14:05.000Z')
    store.runs.appendOutput(running.id, s2.id, 'partial output\n')
    const lastSeen = '2026-11-25T23:14:05.000Z'

    at('2026-11-26T07:30:00.000Z')
    expect(store.runs.markInterrupted()).toEqual([
      { runId: queued.id, hostId: h, step: null, stepTitle: null, lastSeen },
      { runId: running.id, hostId: h, step: 'dns', stepTitle: 'DNS servers', lastSeen },
    ])

    // Stopped some time after it was last heard from, not when it started again.
    const q = store.runs.get(queued.id)
    expect(q?.state).toBe('interrupted')
    expect(q?.error).toBe(
      'Midwife stopped before this run started (last heard from at 23:14:05 on 2026-11-25)',
    )
    expect(q?.finishedAt).toBe(lastSeen)
    expect(q?.steps.map((s) => s.state)).toEqual(['pending', 'pending', 'pending'])

    const r = store.runs.get(running.id)
    expect(r?.state).toBe('interrupted')
    expect(r?.error).toBe(
      'Midwife stopped during this run (last heard from at 23:14:05 on 2026-11-25, in step "DNS servers")',
    )
    expect(r?.finishedAt).toBe(lastSeen)
    expect(r?.steps.map((s) => [s.state, s.error, s.output, s.finishedAt])).toEqual([
      ['done', null, '', '2026-11-25T22:10:00.000Z'],
      [
        'interrupted',
        'Midwife stopped during this step (last heard from at 23:14:05 on 2026-11-25)',
        'partial output\n',
        lastSeen,
      ],
      ['pending', null, '', null],
    ])

    expect(store.runs.get(finished.id)).toEqual(before)
    expect(store.runs.activeFor(h)).toBeUndefined()
    expect(store.runs.markInterrupted()).toEqual([])
  })

  it('takes the latest sign of life of any run as when a stopped Midwife was last heard from', () => {
    process.env.TZ = 'UTC'
    vi.useFakeTimers({ toFake: ['Date'] })
    const at = (iso: string) => vi.setSystemTime(new Date(iso))
    at('2026-11-25T22:00:00.000Z')
    const store = open()
    const { newRun } = setup(store)
    // A step that hangs without output, while another host's run goes on to its end.
    const hung = newRun()
    store.runs.markRunning(hung.id)
    store.runs.startStep((hung.steps[0] as (typeof hung.steps)[0]).id)
    at('2026-11-25T22:05:00.000Z')
    const other = newRun()
    store.runs.markRunning(other.id)
    at('2026-11-25T22:20:00.000Z')
    store.runs.finish(other.id, 'failed', 'unreachable')

    at('2026-11-25T23:00:00.000Z')
    expect(store.runs.markInterrupted()).toMatchObject([
      { runId: hung.id, lastSeen: '2026-11-25T22:20:00.000Z' },
    ])
    expect(store.runs.get(hung.id)?.error).toBe(
      'Midwife stopped during this run (last heard from at 22:20:00, in step "Hostname and domain")',
    )
  })

  it('lists newest first, up to the limit', () => {
    const store = open()
    const { newRun } = setup(store)
    const ids = [newRun().id, newRun().id, newRun().id]
    expect(store.runs.list({ limit: 10 }).runs.map((r) => r.id)).toEqual([...ids].reverse())
    expect(store.runs.list({ limit: 2 })).toMatchObject({ more: true })
    expect(store.runs.list({ limit: 2 }).runs.map((r) => r.id)).toEqual([ids[2], ids[1]])
    expect(store.runs.list({ limit: 2, beforeId: ids[1] }).runs.map((r) => r.id)).toEqual([ids[0]])
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
