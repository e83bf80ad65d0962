import Database from 'better-sqlite3'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Host } from '../../main/contract/schemas'
import { checkinBody, sshHostKeys } from '../fixtures/esxi-outputs'
import { sampleHost, startTestApp, type TestApp } from '../support/app'

let t: TestApp
let host: Host
let token: string

beforeEach(async () => {
  t = await startTestApp()
  host = t.app.saveHost({ ...sampleHost, mac: '00:50:56:b3:b9:89' })
  token = /\/ks\/([^/]+)\.cfg$/.exec(t.app.getBootMaterial(host.id).kickstartUrl)?.[1] as string
})
afterEach(() => t.close())

function post(body: string | Buffer, headers: Record<string, string> = {}) {
  return fetch(`${t.listenerUrl}/checkin`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
  })
}

/** Rows on disk, read through a second connection: what a crash right now would keep. */
function checkinsOnDisk(): number {
  const db = new Database(join(t.dataDir, 'midwife.db'), { readonly: true })
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM checkins').get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe('POST /checkin', () => {
  it('stores a valid check-in before acknowledging it, and shows what the host reported', async () => {
    const seen: unknown[] = []
    t.app.events.subscribe((event, payload) => event === 'checkin.changed' && seen.push(payload))

    const res = await post(JSON.stringify(checkinBody(token)))
    expect(res.status).toBe(201)
    const reply = (await res.json()) as { accepted: boolean; checkinId: number; host: string }
    expect(reply).toMatchObject({ accepted: true, host: 'esx01.lab.local', repeat: false })
    expect(checkinsOnDisk()).toBe(1)

    const [c] = t.app.listCheckins(host.id)
    expect(c).toMatchObject({
      id: reply.checkinId,
      hostId: host.id,
      kind: 'token',
      repeats: 0,
      managementIp: '127.0.0.1',
      bootMac: '00:50:56:b3:b9:89',
      serial: 'VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99',
      uuid: 'ff003342-dcd6-71ba-0a6a-f91c57132599',
      vendor: 'VMware, Inc.',
      model: 'VMware20,1',
      esxiVersion: '8.0.2',
      esxiBuild: '22380479',
      reportedHostname: 'localhost.localdomain',
    })
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'checked_in',
      identity: { how: 'first_checkin', checkinId: reply.checkinId, managementIp: '127.0.0.1' },
    })
    expect(c?.nics.map((n) => n.mac)).toEqual(['00:50:56:b3:b9:89', '00:50:56:b3:b9:8a'])
    expect(c?.sshHostKeys).toEqual([
      { type: 'ssh-rsa', fingerprint: sshHostKeys.rsaFingerprint },
      { type: 'ecdsa-sha2-nistp256', fingerprint: sshHostKeys.ecdsaFingerprint },
    ])
    expect(seen).toHaveLength(1)
  })

  it('keeps what a server reports visible as written: control and direction characters escaped', async () => {
    const body = checkinBody(token) as { outputs: Record<string, string> }
    const serial = 'VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99'
    // A serial that would read backwards on a page, with an escape sequence and a NUL.
    body.outputs.platform = String(body.outputs.platform).replace(
      serial,
      'SN-\u202egnp.exe\u001b[31m\u0000\u200b',
    )
    body.outputs.version = String(body.outputs.version).replace('8.0.2', '8.0.2\u2066')
    expect((await post(JSON.stringify(body))).status).toBe(201)
    const [c] = t.app.listCheckins(host.id)
    expect(c?.serial).toBe('SN-\\u202egnp.exe\\x1b[31m\\x00\\u200b')
    expect(c?.esxiVersion).toBe('8.0.2\\u2066')
    expect(t.app.getHost(host.id).identity?.serial).toBe(c?.serial)
  })

  it('keeps a host whose reported MACs lack its MAC from being approved', async () => {
    t.app.saveHost({ ...sampleHost, id: host.id, mac: '00:50:56:00:00:99' })
    expect((await post(JSON.stringify(checkinBody(token)))).status).toBe(201)
    const h = t.app.getHost(host.id)
    expect(h.state).toBe('needs_attention')
    expect(h.identity).toBeNull()
    expect(h.attention?.reason).toBe('mac_mismatch')
    expect(h.approve.allowed).toBe(false)
    expect(h.attention?.message).toContain('00:50:56:00:00:99')
    expect(h.approve.reason).toBe('Needs attention: decide what to trust first.')
  })

  it('counts an identical repeated check-in instead of storing it again', async () => {
    const first = await post(JSON.stringify(checkinBody(token)))
    const again = await post(JSON.stringify(checkinBody(token)))
    expect(first.status).toBe(201)
    expect(again.status).toBe(200)
    const a = (await first.json()) as { checkinId: number }
    const b = (await again.json()) as { checkinId: number; repeat: boolean }
    expect(b).toMatchObject({ checkinId: a.checkinId, repeat: true })
    expect(checkinsOnDisk()).toBe(1)
    expect(t.app.listCheckins(host.id)[0]?.repeats).toBe(1)
  })

  it('keeps no token in what it stores, not even inside the reported boot line', async () => {
    const body = checkinBody(token)
    ;(body.outputs as Record<string, string>).bootCmdLine =
      `runweasel BOOTIF=01-00-50-56-b3-b9-89 ks=${t.listenerUrl}/ks/${token}.cfg PBKEY=sekrit-enrollment-key`
    expect((await post(JSON.stringify(body))).status).toBe(201)
    const db = new Database(join(t.dataDir, 'midwife.db'), { readonly: true })
    try {
      const rows = db.prepare('SELECT * FROM checkins').all()
      const dump = JSON.stringify(rows)
      expect(dump).not.toContain(token)
      expect(dump).not.toContain('sekrit-enrollment-key')
      expect(dump).toContain('/ks/***.cfg')
    } finally {
      db.close()
    }
  })

  it('refuses a wrong token with 401 and stores nothing', async () => {
    const res = await post(JSON.stringify(checkinBody('x'.repeat(43))))
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ accepted: false, error: 'unknown deployment token' })
    expect(checkinsOnDisk()).toBe(0)
  })

  it('refuses a missing token with 401 and stores nothing', async () => {
    const { token: _omit, ...body } = checkinBody(token)
    const res = await post(JSON.stringify(body))
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({
      accepted: false,
      error: 'missing deployment token or enrollment key',
    })
    expect(checkinsOnDisk()).toBe(0)
  })

  it('refuses malformed JSON with 400 naming the problem', async () => {
    const res = await post('{"token": "abc", "outputs": {')
    expect(res.status).toBe(400)
    const reply = (await res.json()) as { error: string }
    expect(reply.error).toMatch(/^malformed JSON: /)
    expect(checkinsOnDisk()).toBe(0)
  })

  it('does not repeat a piece of a body that is not JSON (it may hold a token) in its answer or the log', async () => {
    // Led by a letter, so V8's message quotes the body whatever the token starts with (one
    // led by "-" is refused as "No number after minus sign", which quotes nothing).
    const res = await post(`x${token} is not JSON`)
    expect(res.status).toBe(400)
    const reply = (await res.json()) as { error: string }
    expect(reply.error).toBe('malformed JSON: unexpected character: the body is not valid JSON')
    expect(t.logger.lines.join('\n')).not.toContain(token.slice(0, 8))
    expect(checkinsOnDisk()).toBe(0)
  })

  it('refuses a body that does not match the schema with 400 naming the field', async () => {
    const body = checkinBody(token)
    ;(body.outputs as Record<string, unknown>).nicList = 42
    const res = await post(JSON.stringify(body))
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toMatch(/^outputs\.nicList: /)
    expect(checkinsOnDisk()).toBe(0)
  })

  it('refuses a report without any NIC, or with a corrupt host key, with 400', async () => {
    const noNic = checkinBody(token)
    ;(noNic.outputs as Record<string, unknown>).nicList = 'Error: Unknown command or namespace'
    const r1 = await post(JSON.stringify(noNic))
    expect(r1.status).toBe(400)
    expect(((await r1.json()) as { error: string }).error).toContain('outputs.nicList: no NIC')

    const badKey = {
      ...checkinBody(token),
      sshHostKeys: ['ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA== x'],
    }
    const r2 = await post(JSON.stringify(badKey))
    expect(r2.status).toBe(400)
    expect(((await r2.json()) as { error: string }).error).toMatch(/^sshHostKeys\.0: /)
    expect(checkinsOnDisk()).toBe(0)
  })

  it('refuses a body over 64 KiB with 413, whether it declares its length or not', async () => {
    const big = JSON.stringify({ ...checkinBody(token), padding: 'x'.repeat(65 * 1024) })
    const declared = await post(big)
    expect(declared.status).toBe(413)

    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${t.listenerUrl}/checkin`,
        { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      for (let i = 0; i < 80; i++) req.write('x'.repeat(1024))
      req.end()
    })
    expect(chunked).toBe(413)
    expect(checkinsOnDisk()).toBe(0)
  })

  it('never writes the token or the root password to its log', async () => {
    // The kickstart first: once the host has checked in it is past its install, and refused.
    await fetch(`${t.listenerUrl}/ks/${token}.cfg`)
    await fetch(`${t.listenerUrl}/c/${token}.sh`)
    await post(JSON.stringify(checkinBody(token)))
    await post(JSON.stringify(checkinBody(`${token}x`)))
    await fetch(`${t.listenerUrl}/ks/${token}.cfg`)
    const log = t.logger.lines.join('\n')
    expect(log).toContain('served /ks/***.cfg')
    expect(log).not.toContain(token)
    expect(log).not.toContain(sampleHost.rootPassword)
  })
})

describe('served files', () => {
  it('serves the kickstart to its token only', async () => {
    const res = await fetch(`${t.listenerUrl}/ks/${token}.cfg`)
    expect(res.status).toBe(200)
    const ks = await res.text()
    expect(ks).toContain('network --bootproto=dhcp --device=00:50:56:b3:b9:89')
    expect(ks).toContain(`MIDWIFE_TOKEN='${token}'`)
    expect(ks).toContain(`MIDWIFE_URL='${t.listenerUrl}'`)
    expect(ks).not.toContain(sampleHost.rootPassword)

    const wrong = await fetch(`${t.listenerUrl}/ks/${'A'.repeat(43)}.cfg`)
    expect(wrong.status).toBe(401)
  })

  it('serves a personal client with the token preset, and the generic one without', async () => {
    const personal = await (await fetch(`${t.listenerUrl}/c/${token}.sh`)).text()
    expect(personal.split('\n').slice(0, 4)).toEqual([
      '#!/bin/sh',
      `MIDWIFE_URL='${t.listenerUrl}'`,
      `MIDWIFE_TOKEN='${token}'`,
      'export MIDWIFE_URL MIDWIFE_TOKEN',
    ])
    const generic = await (await fetch(`${t.listenerUrl}/client/checkin.sh`)).text()
    expect(generic).toContain('esxcli network nic list')
    expect(generic).not.toContain(token)
  })

  it('answers 404 for anything else: the listener offers no operator API', async () => {
    for (const path of ['/api/listHosts', '/events', '/ks/short.cfg']) {
      expect((await fetch(`${t.listenerUrl}${path}`)).status, path).toBe(404)
    }
    const res = await fetch(`${t.listenerUrl}/api/listHosts`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(404)
  })
})
