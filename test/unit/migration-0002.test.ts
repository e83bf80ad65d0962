// Schema 1 -> 2 on a database holding real rows, as a walking-skeleton
// Midwife left them: hosts get their lifecycle state and bound identity,
// check-ins lose the tokens inside reported boot lines, runs keep their
// history, and nothing is lost.
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../main/core/store/db'
import { checkinBody, sshHostKeys } from '../fixtures/esxi-outputs'

let dir: string
let file: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const TOKEN_A = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const T = '2026-01-01T00:00:00.000Z'

function report(mac: string) {
  return {
    managementIp: '10.0.0.11',
    nics: [{ name: 'vmnic0', mac }],
    bootMac: mac,
    serial: 'SN-1',
    uuid: 'ff003342-dcd6-71ba-0a6a-f91c57132599',
    vendor: 'VMware, Inc.',
    model: 'VMware20,1',
    esxiVersion: '8.0.2',
    esxiBuild: '22380479',
    reportedHostname: 'localhost',
    sshHostKeys: [{ type: 'ecdsa-sha2-nistp256', fingerprint: sshHostKeys.ecdsaFingerprint }],
  }
}

/** A schema-1 database as the skeleton wrote it: three hosts in three situations. */
function seedVersion1(): void {
  const db = openDatabase(file, { version: 1 })
  const host = db.prepare(
    `INSERT INTO hosts (hostname, domain, mac, dns_servers, ntp_servers, ssh_user, ssh_port,
       root_password, token_hash, token, created_at, updated_at)
     VALUES (?, 'lab.local', ?, '["10.0.0.2"]', '["10.0.0.4"]', 'root', 22, X'01', ?, X'02', ?, ?)`,
  )
  host.run('esx01', '00:50:56:aa:bb:01', 'hash-1', T, T) // checked in, configured
  host.run('esx02', '00:50:56:aa:bb:02', 'hash-2', T, T) // checked in with the wrong MAC
  host.run('esx03', '00:50:56:aa:bb:03', 'hash-3', T, T) // never checked in
  const body = checkinBody(TOKEN_A) as { outputs: Record<string, string> }
  body.outputs.bootCmdLine = `runweasel ks=http://10.0.0.5:8080/ks/${TOKEN_A}.cfg PBKEY=abcdefghijklmnop`
  const { token: _t, ...payload } = body as Record<string, unknown>
  const checkin = db.prepare(
    `INSERT INTO checkins (received_at, source_ip, host_id, mac_matches, payload, report)
     VALUES (?, '10.0.0.11', ?, ?, ?, ?)`,
  )
  checkin.run(T, 1, 1, JSON.stringify(payload), JSON.stringify(report('00:50:56:aa:bb:01')))
  checkin.run(T, 2, 0, JSON.stringify(payload), JSON.stringify(report('00:50:56:ff:ff:ff')))
  db.prepare(
    `INSERT INTO runs (checkin_id, host_id, host_name, target, state, created_at, finished_at)
     VALUES (1, 1, 'esx01.lab.local', '10.0.0.11', 'done', ?, ?)`,
  ).run(T, T)
  db.prepare(
    `INSERT INTO run_steps (run_id, seq, key, title, state, output)
     VALUES (1, 1, 'connect', 'Connect', 'done', 'connected\n')`,
  ).run()
  db.prepare(
    `INSERT INTO events (at, type, subject, data) VALUES (?, 'host.created', 'host:1', '{}')`,
  ).run(T)
  db.close()
}

describe('schema 2: host lifecycle', () => {
  it('gives every host its state and identity, and keeps every row', () => {
    seedVersion1()
    // Read at schema 2 with plain SQL: the live store reads the newest schema.
    const db = openDatabase(file, { version: 2 })
    try {
      const hosts = db
        .prepare(
          'SELECT id, state, identity, attention, token_hash, hostname, ssh_user, root_password, token FROM hosts ORDER BY id',
        )
        .all() as Array<Record<string, unknown>>
      const json = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : null)
      expect(hosts[0]).toMatchObject({
        id: 1,
        state: 'configured',
        token_hash: 'hash-1',
        hostname: 'esx01',
        ssh_user: 'root',
      })
      expect(json(hosts[0]?.identity)).toMatchObject({
        macs: ['00:50:56:aa:bb:01'],
        serial: 'SN-1',
        managementIp: '10.0.0.11',
        how: 'first_checkin',
        checkinId: 1,
      })
      expect(hosts[0]?.attention).toBeNull()
      expect(hosts[1]).toMatchObject({ state: 'needs_attention', identity: null })
      expect(json(hosts[1]?.attention)).toMatchObject({ reason: 'mac_mismatch', checkinId: 2 })
      expect(hosts[2]).toMatchObject({ state: 'defined', identity: null, attention: null })
      expect(hosts[0]?.root_password).toEqual(Buffer.from([1]))
      expect(hosts[0]?.token).toEqual(Buffer.from([2]))

      expect(
        db.prepare('SELECT id, kind, repeats, host_id FROM checkins ORDER BY id').all(),
      ).toEqual([
        { id: 1, kind: 'token', repeats: 0, host_id: 1 },
        { id: 2, kind: 'token', repeats: 0, host_id: 2 },
      ])
      const report = JSON.parse(
        String(db.prepare('SELECT report FROM checkins WHERE id = 2').pluck().get()),
      ) as { nics: Array<{ mac: string }> }
      expect(report.nics[0]?.mac).toBe('00:50:56:ff:ff:ff')
      expect(db.prepare('SELECT state, host_id, checkin_id FROM runs').get()).toEqual({
        state: 'done',
        host_id: 1,
        checkin_id: 1,
      })
      expect(db.prepare('SELECT key, output FROM run_steps').all()).toEqual([
        { key: 'connect', output: 'connected\n' },
      ])
      expect(db.prepare("SELECT type FROM events WHERE subject = 'host:1'").pluck().all()).toEqual([
        'host.created',
      ])
    } finally {
      db.close()
    }
  })

  it('keeps no token or enrollment key in a stored payload', () => {
    seedVersion1()
    openDatabase(file, { version: 2 }).close()
    const db = new Database(file, { readonly: true })
    try {
      const payloads = db.prepare('SELECT payload FROM checkins').pluck().all() as string[]
      expect(payloads).toHaveLength(2)
      for (const p of payloads) {
        expect(p).not.toContain(TOKEN_A)
        expect(p).not.toContain('abcdefghijklmnop')
        expect(p).toContain('/ks/***.cfg')
      }
      expect(db.pragma('user_version', { simple: true })).toBe(2)
      expect(db.pragma('foreign_key_check')).toEqual([])
    } finally {
      db.close()
    }
  })
})
