// The audit trail of one host and the report an operator attaches to a change
// ticket, after a real run over SSH against the simulator: who approved what,
// the plan, every command and what was verified, the chain's state. What the
// host printed is escaped (its hostname here is a script), and no secret is
// in it, even one planted in the stored output behind Midwife's back.
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, dispatch, type Api } from '../../main/contract/api'
import type { AuditEntry } from '../../main/contract/schemas'
import type { HostReport } from '../../main/core/audit/report'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn } from '../support/flow'

let t: TestApp | undefined
let esx: SimHost | undefined
afterEach(async () => {
  await t?.close()
  await esx?.close()
  t = esx = undefined
})

const HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
const LICENCE = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Every form a secret could take in a file: as typed, HTML-escaped, JSON-escaped. */
function forms(secret: string): string[] {
  const html = secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
  return [secret, html, JSON.stringify(secret).slice(1, -1)]
}

async function configuredHost(): Promise<{ api: Api; hostId: number }> {
  t = await startTestApp()
  const app = t.app
  const api = createClient((name, args) => dispatch(app, name, args))
  esx = await createSimHost({})
  // What the host says its name is before Midwife sets it: shown in the run's output.
  esx.update((s) => (s.hostname = HOSTILE))
  const ssh = await esx.startSsh(sampleHost.rootPassword)
  const host = app.saveHost({
    ...sampleHost,
    spec: { ...sampleHost.spec, licence: LICENCE },
    mac: esx.state().nics[0]?.mac as string,
    sshPort: ssh.port,
  })
  await checkIn(app, esx, host)
  const run = await approveAndWait(app, host.id)
  expect(run.state).toBe('done')
  return { api, hostId: host.id }
}

describe('a host’s audit trail', () => {
  it('holds its entries and its runs’, in order, in words, each with its hash', async () => {
    const { api, hostId } = await configuredHost()
    const entries = await api.hostAudit(hostId)
    const types = entries.map((e) => e.type)
    expect(types.slice(0, 2)).toEqual(['host.created', 'host.state'])
    expect(types).toEqual(expect.arrayContaining(['host.planned', 'run.started', 'run.done']))
    expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => a - b))
    const approval = entries.find(
      (e) => e.type === 'host.state' && (e.data as { to?: string }).to === 'approved',
    ) as AuditEntry
    expect(approval.summary).toBe('Checked in → Approved: approved by the operator (run 1)')
    expect(entries.find((e) => e.type === 'run.done')?.summary).toBe(
      'the run finished: every setting applied and verified',
    )
    for (const e of entries) {
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/)
      expect(e.at).toMatch(ISO)
    }
    expect(await api.verifyAudit()).toMatchObject({ ok: true, firstBroken: null })
    await expect(api.hostAudit(99)).rejects.toThrow('host 99 does not exist')
  })
})

describe('the per-host report', () => {
  it('tells who approved what, the plan, every command and result, in ISO times, as JSON', async () => {
    const { api, hostId } = await configuredHost()
    const file = await api.hostReport(hostId, 'json')
    expect(file).toMatchObject({
      filename: expect.stringMatching(
        /^midwife-report-esx01\.lab\.local-\d{4}-\d{2}-\d{2}\.json$/,
      ) as unknown,
      contentType: 'application/json',
    })
    const report = JSON.parse(file.content) as HostReport
    expect(report.host).toMatchObject({ name: 'esx01.lab.local', state: 'configured' })
    expect(report.approvals).toEqual([
      {
        at: expect.stringMatching(ISO) as unknown,
        by: 'the operator',
        runId: 1,
        planId: expect.any(String) as unknown,
        auditEntry: expect.any(Number) as unknown,
      },
    ])
    const [run] = report.runs
    expect(run).toMatchObject({ id: 1, state: 'done', approvedBy: 'the operator' })
    for (const at of [run?.createdAt, run?.startedAt, run?.finishedAt, report.generatedAt]) {
      expect(at).toMatch(ISO)
    }
    expect(run?.plan.find((i) => i.key === 'hostname')?.changes[0]?.commands).toEqual([
      'esxcli system hostname set --host=esx01 --domain=lab.local',
    ])
    // A rename says what it leaves behind: the certificate's old name (esxi.md).
    expect(run?.plan.find((i) => i.key === 'hostname')?.note).toMatch(
      /certificate keeps the old name until \/sbin\/generate-certificates runs/,
    )
    const hostname = run?.steps.find((s) => s.key === 'hostname')
    expect(hostname?.output).toContain(
      '$ esxcli system hostname set --host=esx01 --domain=lab.local',
    )
    expect(hostname?.output).toContain('verified: esx01.lab.local')
    expect(run?.steps.map((s) => s.state).every((s) => s === 'done')).toBe(true)
    expect(report.configuration.find((c) => c.key === 'licence')).toMatchObject({ shown: '(set)' })
    expect(report.audit.chain).toMatchObject({ ok: true })
    expect(report.secretsMasked).toBe(0)
    for (const secret of [sampleHost.rootPassword, LICENCE]) {
      for (const form of forms(secret)) expect(file.content).not.toContain(form)
    }
  })

  it('is one self-contained HTML file that escapes what the host printed and holds no secret', async () => {
    const { api, hostId } = await configuredHost()
    // A secret in stored output, as a redaction bug upstream would leave it.
    const db = new Database(join(t?.dataDir as string, 'midwife.db'))
    db.prepare(
      `INSERT INTO run_output (run_id, step_id, at, text)
       SELECT run_id, id, '2026-01-01T00:00:00.000Z', ? FROM run_steps
       WHERE run_id = 1 AND key = 'hostname'`,
    ).run(`echo ${sampleHost.rootPassword}\n`)
    db.close()

    const { content, contentType, filename } = await api.hostReport(hostId, 'html')
    expect(contentType).toBe('text/html; charset=utf-8')
    expect(filename).toMatch(/\.html$/)
    expect(content).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    )
    expect(content).not.toMatch(/<script|<img|<link|<iframe|<[^>]*\son\w+=|javascript:/i)
    expect(content).toContain(
      '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
    )
    expect(content).toContain('echo ********')
    expect(content).toContain('masked; 1 found in stored text and masked here')
    for (const secret of [sampleHost.rootPassword, LICENCE]) {
      for (const form of forms(secret)) expect(content).not.toContain(form)
    }
    expect(content).toContain('<td>the operator</td>')
    // Where Midwife logs in: the bound address, not a bare port.
    expect(content).toMatch(/<th>SSH<\/th>\s*<td>root@127\.0\.0\.1:\d+<\/td>/)
    expect(content).toContain('$ esxcli system hostname set --host=esx01 --domain=lab.local')
    expect(content).toMatch(/the audit log&#39;s \d+ entries are intact/)
  })

  it('escapes a name a server reported, in the page and in the file name', async () => {
    t = await startTestApp()
    const app = t.app
    const api = createClient((name, args) => dispatch(app, name, args))
    const id = app.store.hosts.insertDiscovered(
      {
        macs: ['00:50:56:aa:bb:09'],
        serial: HOSTILE,
        uuid: null,
        sshHostKeys: [],
        managementIp: '10.0.0.9',
        boundAt: '2026-01-01T00:00:00.000Z',
        how: 'discovered',
        checkinId: null,
      },
      'checked in with the site enrollment key',
    )
    const { content, filename } = await api.hostReport(id, 'html')
    expect(filename).toMatch(
      /^midwife-report-Unknown_server_script_alert_pwned_script_img_src_x_onerror_alert_1_-\d{4}-\d{2}-\d{2}\.html$/,
    )
    expect(content).not.toMatch(/<script|<img/i)
    expect(content).toContain('<title>Midwife report: Unknown server &lt;script&gt;')
    expect(content).toContain('<p class="none">No run yet.</p>')
    expect(await dispatch(app, 'hostReport', [id, 'pdf'])).toEqual({
      ok: false,
      error: { code: 'invalid', message: 'a report is html or json' },
    })
  })
})
