// A run's end as the operator sees it, in Chromium against a real `midwife
// serve` and three simulated servers: cancelling one run asks first (as
// cancelling a selection does) and the audit trail says it once.
import type { Dialog, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postCheckin, startFleet, tokenOf, type Fleet } from '../../bench/fanout/fleet'
import type { Host } from '../../main/contract/schemas'
import { loadState, saveState, withStateLock } from '../esxi-sim/state'
import { freePort, sampleHost, tempDir } from '../support/app'
import { openBrowser, type Browser } from '../support/browser'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

const PASSWORD = sampleHost.rootPassword
let serve: ServeProcess
let browser: Browser
let page: Page
let fleet: Fleet
const hosts: Host[] = []
const data = tempDir('e2e-runs')
const secrets = () => [serve.token, PASSWORD]

/** Server n's next hostname write (its name put back to localhost first) waits `ms`. */
function slowRename(n: number, ms: number) {
  const statePath = fleet.hosts[n]?.statePath as string
  return withStateLock(statePath, () => {
    const st = loadState(statePath)
    st.hostname = 'localhost'
    st.faults = [{ match: 'esxcli system hostname set', delayMs: ms, slowOnly: true }]
    saveState(statePath, st)
  })
}

/** Plans the hosts and approves them as one batch, as Approve selected does; returns the run ids. */
async function approveBatch(which: Host[]): Promise<number[]> {
  const plans = await serve.api.planHosts(which.map((h) => h.id))
  const out = await serve.api.approveHosts(
    plans.hosts.map((p) => ({ hostId: p.hostId, planId: p.planId as string })),
  )
  expect(out.refused).toEqual([])
  return out.runs.map((r) => r.id)
}

async function runState(id: number) {
  return (await serve.api.getRun(id)).state
}

async function openDrawer(name: string) {
  await page.getByRole('button', { name, exact: true }).click()
  const drawer = page.getByRole('dialog', { name })
  await expect.poll(() => drawer.count()).toBe(1)
  return drawer
}

beforeAll(async () => {
  serve = await startServeProcess(data.path, ['--port', String(await freePort())])
  fleet = await startFleet(3, 0, PASSWORD)
  const { listener } = await serve.api.getStatus()
  for (const [i, sim] of fleet.hosts.entries()) {
    const host = await serve.api.saveHost({
      hostname: `esx0${i + 1}`,
      domain: sampleHost.domain,
      mac: sim.mac,
      sshPort: sim.port,
      rootPassword: PASSWORD,
    })
    const material = await serve.api.getBootMaterial(host.id)
    await postCheckin(listener.advertisedUrl, tokenOf(material.kickstartUrl), sim)
    hosts.push(host)
  }
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
}, 120_000)

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  fleet?.stop()
  data.remove()
})

describe('the end of a run', () => {
  it('cancels one run only once confirmed, and its audit trail says so once', async () => {
    await slowRename(2, 5_000)
    const [, , slow] = await approveBatch(hosts)
    await expect.poll(() => runState(slow as number), { timeout: 30_000 }).toBe('running')

    await page.goto(serve.url)
    await page.getByRole('button', { name: /Servers/ }).click()
    const drawer = await openDrawer('esx03.lab.local')
    const cancel = drawer.getByRole('button', { name: 'Cancel run' })
    // Dismissed: nothing is cancelled.
    let asked = ''
    const dismiss = (d: Dialog) => {
      asked = d.message()
      void d.dismiss()
    }
    page.once('dialog', dismiss)
    try {
      await cancel.click()
      await expect.poll(() => asked).not.toBe('')
    } finally {
      page.off('dialog', dismiss)
    }
    expect(asked).toBe(
      `Cancel run ${slow} on esx03.lab.local? It stops at its next command; what already ran on the host stays, and Resume continues later.`,
    )
    expect(await runState(slow as number)).toBe('running')
    expect(await drawer.getByTestId('cancelling').count()).toBe(0)

    page.once('dialog', (d) => void d.accept())
    await cancel.click()
    await expect.poll(() => drawer.getByTestId('cancelling').count()).toBe(1)
    await expect
      .poll(() => drawer.getByTestId('run-state').innerText(), { timeout: 30_000 })
      .toBe('cancelled')
    // Said once in its audit trail, with the step.
    const audit = drawer.getByRole('region', { name: 'Audit trail' })
    await expect
      .poll(async () => (await audit.innerText()).match(/as cancelled/g)?.length ?? 0)
      .toBe(1)
    expect(await audit.innerText()).toContain(
      'the run stopped in step "Hostname and domain", as cancelled',
    )
    await browser.screenshot('runs-1-cancelled', secrets())
    await page.keyboard.press('Escape')
  })
})
