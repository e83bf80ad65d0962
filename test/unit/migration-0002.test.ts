// Schema 1 -> 2 on a database holding real rows, as a walking-skeleton
// Midwife left them: hosts get their lifecycle state and bound identity,
// check-ins lose the tokens inside reported boot lines, runs keep their
// history, and nothing is lost.
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
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
    const store = Store.open(file)
    try {
      const [esx01, esx02, esx03] = [1, 2, 3].map((id) => store.hosts.get(id))
      expect(esx01).toMatchObject({
        state: 'configured',
        identity: {
          macs: ['00:50:56:aa:bb:01'],
          serial: 'SN-1',
          managementIp: '10.0.0.11',
          how: 'first_checkin',
          checkinId: 1,
        },
        attention: null,
        tokenHash: 'hash-1',
      })
      expect(esx01?.definition).toMatchObject({ hostname: 'esx01', dnsServers: ['10.0.0.2'] })
      expect(esx02).toMatchObject({
        state: 'needs_attention',
        identity: null,
        attention: { reason: 'mac_mismatch', checkinId: 2 },
      })
      expect(esx03).toMatchObject({ state: 'defined', identity: null, attention: null })
      expect(store.hosts.secrets(1)).toEqual({
        rootPassword: Buffer.from([1]),
        token: Buffer.from([2]),
      })

      expect(store.checkins.listFor(1).map((c) => [c.id, c.kind, c.repeats])).toEqual([
        [1, 'token', 0],
      ])
      expect(store.checkins.get(2)?.nics[0]?.mac).toBe('00:50:56:ff:ff:ff')
      expect(store.runs.get(1)).toMatchObject({
        state: 'done',
        hostId: 1,
        checkinId: 1,
        steps: [{ key: 'connect', output: 'connected\n' }],
      })
      expect(store.events.about('host:1').map((e) => e.type)).toEqual(['host.created'])
    } finally {
      store.close()
    }
  })

  it('keeps no token or enrollment key in a stored payload', () => {
    seedVersion1()
    Store.open(file).close()
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
