// Approving a rack at once: every selected host planned and summed up, the
// plans approved as one batch, hosts that cannot run named with the reason,
// and notices for check-ins, a failed run and the batch done.
import { afterEach, describe, expect, it } from 'vitest'
import type { EventName } from '../../main/contract/api'
import type { App } from '../../main/core/app'
import type { Notice } from '../../main/contract/schemas'
import { sampleHost, startTestApp } from '../support/app'
import { oneNicMachine } from '../esxi-sim/state'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { checkIn } from '../support/flow'

const cleanup: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** A simulated server with its sshd, and its host defined; not checked in yet. */
async function machine(a: App, n: number) {
  const mac = `00:50:56:ab:0${n}:01`
  const esx = await createSimHost(oneNicMachine(mac, `0x26 0x${n}`, `VMware-bulk-${n}`))
  cleanup.push(() => esx.close())
  const ssh = await esx.startSsh(sampleHost.rootPassword)
  const host = a.saveHost({ ...sampleHost, hostname: `esx0${n}`, mac, sshPort: ssh.port })
  return { esx, host }
}

async function server(a: App, n: number): Promise<{ esx: SimHost; hostId: number }> {
  const { esx, host } = await machine(a, n)
  await checkIn(a, esx, host)
  return { esx, hostId: host.id }
}

describe('bulk approval', () => {
  it('plans a selection, approves it as a batch and says when the batch is done', async () => {
    const t = await startTestApp()
    cleanup.push(() => t.close())
    const notices: Notice[] = []
    t.app.events.subscribe((event: EventName, payload) => {
      if (event === 'notice') notices.push(payload as Notice)
    })
    const a = await server(t.app, 1)
    const b = await server(t.app, 2)
    const waiting = t.app.saveHost({ ...sampleHost, hostname: 'esx09', mac: '00:50:56:ab:09:01' })
    expect(t.app.needsOperator()).toBe(2)

    const summary = await t.app.planHosts([a.hostId, b.hostId, waiting.id])
    expect(summary.hosts.map((h) => [h.name, h.planId !== null, h.problem])).toEqual([
      ['esx01.lab.local', true, null],
      ['esx02.lab.local', true, null],
      ['esx09.lab.local', false, 'Waiting for the server to check in.'],
    ])
    expect(summary.hosts[0]?.changes).toBeGreaterThan(0)
    expect(summary.hosts[0]?.changing).toContain('Hostname and domain')
    expect(summary.totals).toEqual({ changes: 2, nothing: 0, cannot: 1 })
    const hostname = summary.settings.find((s) => s.title === 'Hostname and domain')
    expect(hostname).toMatchObject({ change: 2, same: 0 })

    const approval = await t.app.approveHosts(
      summary.hosts
        .filter((h) => h.planId !== null)
        .map((h) => ({ hostId: h.hostId, planId: h.planId as string })),
    )
    expect(approval.refused).toEqual([])
    expect(approval.runs).toHaveLength(2)
    expect(approval.runs.every((r) => r.batchId === approval.batchId)).toBe(true)
    await t.app.idle()

    const page = t.app.listRuns({ batchId: approval.batchId as string, limit: 10 })
    expect(page.runs.map((r) => [r.state, r.stepsDone === r.stepsTotal])).toEqual([
      ['done', true],
      ['done', true],
    ])
    expect(t.app.latestRuns().map((r) => r.hostId)).toEqual([a.hostId, b.hostId])
    expect(notices.filter((n) => n.kind === 'batch_done')).toEqual([
      {
        kind: 'batch_done',
        title: 'Batch finished: 2 of 2 configured',
        body: 'Every run is done.',
        hostId: null,
      },
    ])
    expect(t.app.needsOperator()).toBe(0)

    // An approved plan cannot be approved twice: refused by name, not fatal.
    const again = await t.app.approveHosts([
      { hostId: a.hostId, planId: summary.hosts[0]?.planId as string },
    ])
    expect(again.batchId).toBeNull()
    expect(again.refused[0]?.name).toBe('esx01.lab.local')
  })

  it('gathers check-ins into one notice and tells of a failed run', async () => {
    const t = await startTestApp()
    cleanup.push(() => t.close())
    const notices: Notice[] = []
    t.app.events.subscribe((event: EventName, payload) => {
      if (event === 'notice') notices.push(payload as Notice)
    })
    // Both machines ready first, then both check in at once: within one 1.5 s notice window
    // however slow the machine is at starting simulated hosts.
    const three = await machine(t.app, 3)
    const four = await machine(t.app, 4)
    await Promise.all([checkIn(t.app, three.esx, three.host), checkIn(t.app, four.esx, four.host)])
    const a = { esx: three.esx, hostId: three.host.id }
    await new Promise((r) => setTimeout(r, 1_700))
    expect(notices).toEqual([
      expect.objectContaining({ kind: 'checkin', title: '2 servers checked in' }),
    ])
    // In the order they arrived, which two check-ins at once do not fix.
    expect(notices[0]?.body).toMatch(
      /^(esx03\.lab\.local, esx04\.lab\.local|esx04\.lab\.local, esx03\.lab\.local): /,
    )

    const plan = await t.app.planHost(a.hostId)
    a.esx.update((s) => s.faults.push({ match: 'esxcli network ip dns server add', code: 1 }))
    const run = t.app.approveHost(a.hostId, plan.id)
    await t.app.idle()
    expect(t.app.getRun(run.id).state).toBe('failed')
    expect(notices.at(-1)).toMatchObject({
      kind: 'run_failed',
      title: `Run ${run.id} failed on esx03.lab.local`,
      hostId: a.hostId,
    })
  })
})
