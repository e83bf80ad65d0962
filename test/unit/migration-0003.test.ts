// Schema 2 -> 3 on real rows: DNS and NTP move into each host's spec
// document; a discovered server keeps an empty one; runs gain their plan; the
// site gets an empty profile. Nothing is lost.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate3-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'

function seedVersion2(): void {
  const db = openDatabase(file, { version: 2 })
  db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, hostname, domain, mac, dns_servers, ntp_servers,
       ssh_user, ssh_port, root_password, token_hash, token, created_at, updated_at)
     VALUES (1, 'configured', ?, 'esx01', 'lab.local', '00:50:56:aa:bb:01', '["10.0.0.2","10.0.0.3"]',
       '["ntp1.lab.local"]', 'root', 22, X'01', 'h1', X'02', ?, ?)`,
  ).run(T, T, T)
  db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, identity, created_at, updated_at)
     VALUES (2, 'discovered', ?, '{"macs":[],"serial":null,"uuid":null,"sshHostKeys":[],"managementIp":"10.0.0.9","boundAt":"${T}","how":"discovered","checkinId":null}', ?, ?)`,
  ).run(T, T, T)
  db.prepare(
    `INSERT INTO runs (id, host_id, host_name, target, state, created_at) VALUES (1, 1, 'esx01.lab.local', '10.0.0.11', 'done', ?)`,
  ).run(T)
  db.close()
}

describe('schema 3: the host spec document', () => {
  it('moves DNS and NTP into each definition’s spec and keeps every row', () => {
    seedVersion2()
    const store = Store.open(file)
    try {
      expect(store.hosts.get(1)?.definition).toMatchObject({
        hostname: 'esx01',
        spec: {
          dns: ['10.0.0.2', '10.0.0.3'],
          ntp: { servers: ['ntp1.lab.local'], enabled: true },
        },
        hasPassword: true,
      })
      expect(store.hosts.get(1)?.state).toBe('configured')
      expect(store.hosts.get(2)).toMatchObject({ state: 'discovered', definition: null })
      expect(store.runs.get(1)).toMatchObject({ state: 'done', plan: [] })
      expect(store.settings.profile()).toEqual({ spec: {}, install: {} })
    } finally {
      store.close()
    }
  })
})
