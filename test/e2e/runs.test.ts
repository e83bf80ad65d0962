// A run's end as the operator sees it, in Chromium against a real `midwife
// serve` and three simulated servers: cancelling one run asks first (as
// cancelling a selection does) and the audit trail says it once; the batch bar
// counts a cancelled or interrupted run as such, never as failed; a run queued
// when Midwife was killed says Midwife stopped before it started; and a
// reinstall marks the runs in an open drawer "before reinstall" at once; a
// run's steps show their times in one column at 900 and 1280 px.
import type { Dialog, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Fleet } from '../../bench/fanout/fleet'
import type { Host } from '../../main/contract/schemas'
import { freePort, sampleHost, tempDir } from '../support/app'
import type { Browser } from '../support/browser'
import {
  defineCheckedIn,
  editSim,
  startFleetUi,
  stopFleetUi,
  type FleetUi,
} from '../support/fleet-ui'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

const PASSWORD = sampleHost.rootPassword
let ui: FleetUi | undefined
let serve: ServeProcess
let browser: Browser
let page: Page
let fleet: Fleet
const hosts: Host[] = []
const data = tempDir('e2e-runs')
const secrets = () => [serve.token, PASSWORD]

/** Server n's next hostname write (its name put back to localhost first) waits `ms`. */
function slowRename(n: number, ms: number) {
  return editSim(fleet, n, (st) => {
    st.hostname = 'localhost'
    st.faults = [{ match: 'esxcli system hostname set', delayMs: ms, slowOnly: true }]
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
  ui = await startFleetUi(data.path, 3, PASSWORD, async (s, f) => {
    for (const i of f.hosts.keys()) {
      hosts.push(
        await defineCheckedIn({ serve: s, fleet: f }, i, {
          hostname: `esx0${i + 1}`,
          domain: sampleHost.domain,
          rootPassword: PASSWORD,
        }),
      )
    }
  })
  ;({ serve, browser, page, fleet } = ui)
}, 120_000)

afterAll(() => stopFleetUi(ui, data))

describe('the end of a run', () => {
  it('cancels one run only once confirmed, and the batch counts it cancelled, not failed', async () => {
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

    const counts = page.getByTestId('batch-counts')
    await expect
      .poll(() => counts.innerText(), { timeout: 30_000 })
      .toBe('2 done · 0 failed · 1 cancelled · 0 running · 0 queued · of 3')
    expect(await page.getByTestId('batch-progress').innerText()).toContain('Batch finished')
    expect(
      await page
        .getByRole('progressbar', { name: 'Runs of the batch finished' })
        .getAttribute('aria-valuetext'),
    ).toBe('2 done, 0 failed, 1 cancelled, 0 running, 0 queued')
    await browser.screenshot('runs-2-batch-cancelled', secrets())
  })

  it("lines up the steps' times in one column at 900 and 1280 px, whatever the titles' length", async () => {
    const drawer = await openDrawer('esx02.lab.local')
    const steps = drawer.getByRole('region', { name: /^Run \d+$/ }).locator('li[data-step]')
    await expect.poll(() => steps.count()).toBeGreaterThan(1)
    for (const width of [900, 1280]) {
      await page.setViewportSize({ width, height: 860 })
      // Where each title's text ends (not its box: a grid cell is as wide as its column),
      // and where its times start.
      const starts = await page.evaluate<Array<{ titleRight: number; timeLeft: number }>>(
        `[...document.querySelectorAll('[role="dialog"] li[data-step]')].map((li) => {
          const range = document.createRange()
          range.selectNodeContents(li.querySelector('.step > span:not(.pill)'))
          return {
            titleRight: Math.round(range.getBoundingClientRect().right),
            timeLeft: Math.round(li.querySelector('.times').getBoundingClientRect().left),
          }
        })`,
      )
      // The titles end at different places (otherwise the test says nothing).
      expect(new Set(starts.map((s) => s.titleRight)).size, `at ${width} px`).toBeGreaterThan(1)
      expect(new Set(starts.map((s) => s.timeLeft)).size, `at ${width} px`).toBe(1)
      await browser.screenshot(`runs-steps-${width}`, secrets())
    }
    await page.setViewportSize({ width: 1280, height: 860 })
    await page.keyboard.press('Escape')
  })

  it('marks the runs of a host re-armed for a reinstall in its open drawer, without a reload', async () => {
    const drawer = await openDrawer('esx01.lab.local')
    const runs = drawer.getByRole('region', { name: 'Runs of esx01.lab.local' })
    await expect.poll(() => runs.locator('[data-run]').count()).toBe(1)
    expect(await runs.innerText()).not.toContain('before reinstall')
    const navigations = await page.evaluate('performance.getEntriesByType("navigation").length')
    page.once('dialog', (d) => void d.accept())
    await drawer.getByRole('button', { name: 'Reinstall…' }).click()
    await expect.poll(() => drawer.getByTestId('host-state').innerText()).toBe('Defined')
    await expect.poll(() => runs.locator('[data-run]').innerText()).toMatch(/before reinstall/)
    expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(
      navigations,
    )
    await browser.screenshot('runs-3-before-reinstall', secrets())
    await page.keyboard.press('Escape')
  })

  it('counts runs Midwife was killed in as interrupted, and a queued one says it never started', async () => {
    await serve.api.saveSettings({ ...(await serve.api.getSettings()), runConcurrency: 1 })
    await slowRename(1, 60_000)
    await slowRename(2, 60_000)
    const ids = await approveBatch([hosts[1] as Host, hosts[2] as Host])
    await expect
      .poll(async () => (await Promise.all(ids.map(runState))).sort(), { timeout: 30_000 })
      .toEqual(['queued', 'running'])
    // In the slow write of the one running.
    const running = async () => {
      const runs = await Promise.all(ids.map((id) => serve.api.getRun(id)))
      return runs.find((r) => r.state === 'running')?.steps.find((s) => s.state === 'running')?.key
    }
    await expect.poll(running, { timeout: 30_000 }).toBe('hostname')

    serve.child.kill('SIGKILL')
    await serve.exited
    serve = await startServeProcess(data.path, ['--port', String(await freePort())])
    if (ui) ui.serve = serve // stopped after the tests, as the first one would have been
    const after = await Promise.all(ids.map((id) => serve.api.getRun(id)))
    const errors = after.map((r) => r.error ?? '').sort()
    expect(errors).toEqual([
      expect.stringMatching(
        /^Midwife stopped before this run started \(last heard from at [\d:]+\)$/,
      ),
      expect.stringMatching(
        /^Midwife stopped during this run \(last heard from at [\d:]+, in step "Hostname and domain"\)$/,
      ),
    ])
    const queued = after.find((r) => r.error?.startsWith('Midwife stopped before this run started'))
    const host = await serve.api.getHost(queued?.hostId as number)
    expect(host.stateReason).toMatch(
      new RegExp(
        `^Midwife stopped before run ${queued?.id} started \\(last heard from at [\\d:]+\\)$`,
      ),
    )

    await page.goto(serve.url)
    await page.getByRole('button', { name: /Servers/ }).click()
    const counts = page.getByTestId('batch-counts')
    await expect
      .poll(() => counts.innerText(), { timeout: 20_000 })
      .toBe('0 done · 0 failed · 2 interrupted · 0 running · 0 queued · of 2')
    expect(await page.getByTestId('batch-progress').innerText()).toContain('Batch finished')
    await browser.screenshot('runs-4-batch-interrupted', secrets())

    const drawer = await openDrawer(queued?.hostName as string)
    const audit = drawer.getByRole('region', { name: 'Audit trail' })
    await expect.poll(() => audit.innerText()).toContain('Midwife stopped before the run started')
  })
})
