// A rack at once, in Chromium against a real `midwife serve`: 24 hosts defined
// by a CSV import, 24 simulated servers (each with its own sshd) check in, the
// operator selects them all, reads the plan summary, approves, watches the
// batch finish, then opens one host's drawer for its run history and exports
// its report.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { postCheckin, tokenOf, type Fleet } from '../../bench/fanout/fleet'
import { tempDir } from '../support/app'
import type { Browser } from '../support/browser'
import { editSim, startFleetUi, stopFleetUi, type FleetUi } from '../support/fleet-ui'
import type { ServeProcess } from '../support/serve-process'

const PASSWORD = 'Rack-pw-"24"-$HOME!'
const COUNT = 24
const pad = (n: number) => String(n).padStart(2, '0')

let ui: FleetUi | undefined
let serve: ServeProcess
let browser: Browser
let page: Page
let fleet: Fleet
const data = tempDir('e2e-rack')
const secrets = () => [serve.token, PASSWORD]

beforeAll(async () => {
  ui = await startFleetUi(data.path, COUNT, PASSWORD)
  ;({ serve, browser, page, fleet } = ui)
}, 120_000)

afterAll(() => stopFleetUi(ui, data))

describe('a rack of 24', () => {
  it('imports 24 hosts from a CSV, and all 24 servers check in', async () => {
    const rows = fleet.hosts.map(
      (h, i) =>
        `esx${pad(i + 1)},rack.local,${h.mac},SN-RACK-${pad(i + 1)},${h.port},10.0.0.2;10.0.0.3`,
    )
    const text = `hostname,domain,mac,serial,ssh_port,dns_servers\n${rows.join('\n')}\n`
    const preview = await serve.api.previewCsvImport(text, { rootPassword: PASSWORD })
    expect(preview.problems).toEqual([])
    expect(preview.counts.create).toBe(COUNT)
    const imported = await serve.api.importCsv(text, { confirm: true, rootPassword: PASSWORD })
    expect(imported.created).toHaveLength(COUNT)

    await page.goto(serve.url)
    await page.getByRole('button', { name: /Servers/ }).click()
    const table = page.getByRole('table', { name: 'Servers' })
    await expect.poll(() => table.getByRole('button', { name: 'esx01.rack.local' }).count()).toBe(1)
    await browser.screenshot('rack-1-defined', secrets())

    const { listener } = await serve.api.getStatus()
    const hosts = await serve.api.listHosts()
    await Promise.all(
      fleet.hosts.map(async (h) => {
        const host = hosts.find((x) => x.definition?.mac === h.mac)
        const material = await serve.api.getBootMaterial(host?.id as number)
        await postCheckin(listener.advertisedUrl, tokenOf(material.kickstartUrl), h)
      }),
    )
    const checkedIn = page.getByRole('button', { name: /^Checked in \d+$/ })
    await expect.poll(() => checkedIn.innerText(), { timeout: 20_000 }).toBe(`Checked in ${COUNT}`)
    expect(await page.title()).toMatch(new RegExp(`^\\(${COUNT}\\) `))
    await browser.screenshot('rack-2-checked-in', secrets())
  })

  it('selects all, reads the plan summary, approves, and watches the batch finish', async () => {
    await page.getByRole('checkbox', { name: `Select all ${COUNT} shown` }).check()
    await expect.poll(() => page.getByText(`${COUNT} selected`).count()).toBe(1)
    await page.getByRole('button', { name: 'Approve selected…' }).click()

    const dialog = page.getByRole('dialog', { name: `Approve ${COUNT} servers` })
    const totals = dialog.getByTestId('plan-totals')
    await expect.poll(() => totals.count(), { timeout: 60_000 }).toBe(1)
    expect(await totals.innerText()).toBe(
      `${COUNT} servers with changes · 0 with nothing to change · 0 cannot be approved`,
    )
    const perSetting = dialog.getByRole('region', { name: 'Plan per setting' })
    expect(await perSetting.getByRole('row', { name: /Hostname and domain/ }).innerText()).toMatch(
      new RegExp(`Hostname and domain\\s+${COUNT}\\s+0\\s+0`),
    )
    const esx07 = dialog.getByRole('row', { name: /esx07\.rack\.local/ })
    expect(await esx07.innerText()).toMatch(/\d+ changes \(\d+ commands: Hostname and domain/)
    await browser.screenshot('rack-3-plan-summary', secrets())

    await dialog.getByRole('button', { name: `Approve ${COUNT} servers` }).click()
    await expect.poll(() => dialog.count()).toBe(0)
    const progress = page.getByTestId('batch-progress')
    await expect.poll(() => progress.count()).toBe(1)
    await browser.screenshot('rack-4-batch-running', secrets())
    await expect
      .poll(() => page.getByTestId('batch-counts').innerText(), { timeout: 120_000 })
      .toBe(`${COUNT} done · 0 failed · 0 running · 0 queued · of ${COUNT}`)
    expect(await progress.innerText()).toContain('Batch finished')
    await expect
      .poll(() => page.getByRole('button', { name: /^Configured \d+$/ }).innerText())
      .toBe(`Configured ${COUNT}`)
    await browser.screenshot('rack-5-batch-done', secrets())
    // A finished run's bar is in the colour of the word beside it, not the running blue.
    const colours = await page.evaluate<string[]>(`(() => {
      const bar = document.querySelector('[data-testid="servers-table"] progress.done')
      const word = document.querySelector('[data-testid="servers-table"] .run-state.done')
      return [getComputedStyle(bar).accentColor, getComputedStyle(word).color]
    })()`)
    expect(colours[0]).toBe(colours[1])
    expect(await page.title()).not.toMatch(/^\(/)
  })

  it("opens one host's drawer: its run history, and its report exported", async () => {
    await page.getByRole('searchbox', { name: 'Search' }).fill('SN-RACK-05')
    const row = page.getByRole('button', { name: 'esx05.rack.local' })
    await expect.poll(() => page.locator('[data-host-row]').count()).toBe(1)
    await row.click()
    const drawer = page.getByRole('dialog', { name: 'esx05.rack.local' })
    await expect.poll(() => drawer.count()).toBe(1)
    const runs = drawer.getByRole('region', { name: 'Runs of esx05.rack.local' })
    await expect.poll(() => runs.locator('[data-run]').count()).toBe(1)
    expect(await runs.locator('[data-run]').innerText()).toMatch(/done/)
    await expect.poll(() => drawer.getByTestId('run-state').innerText()).toBe('done')
    const steps = drawer.locator('[data-step]')
    expect(await steps.count()).toBeGreaterThan(2)
    // Each step says when it ran and how long it took.
    expect(await steps.first().innerText()).toMatch(/\d+(\.\d)? (ms|s)/)
    const audit = drawer.getByRole('region', { name: 'Audit trail' })
    await expect.poll(() => audit.locator('li').count()).toBeGreaterThan(2)
    await browser.screenshot('rack-6-drawer', secrets())

    // The plan the run was approved with, folded away until asked for.
    const runId = await runs.locator('[data-run]').getAttribute('data-run')
    const planName = `Plan approved for run ${runId}`
    const toggle = drawer.getByRole('button', { name: /The plan approved for this run/ })
    expect(await toggle.getAttribute('aria-expanded')).toBe('false')
    expect(await drawer.getByRole('region', { name: planName }).count()).toBe(0)
    await toggle.click()
    const plan = drawer.getByRole('region', { name: planName })
    await expect.poll(() => plan.count()).toBe(1)
    expect(await plan.locator('[data-plan="hostname"]').innerText()).toContain(
      'esxcli system hostname set --host=esx05 --domain=rack.local',
    )
    await plan.scrollIntoViewIfNeeded()
    await browser.screenshot('rack-6b-drawer-plan', secrets())

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      drawer.getByRole('button', { name: 'Export report (JSON)' }).click(),
    ])
    const path = await download.path()
    const report = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
    const text = JSON.stringify(report)
    expect(text).toContain('esx05.rack.local')
    expect(text).toContain('esxcli system hostname set --host=esx05 --domain=rack.local')
    expect(text).not.toContain(PASSWORD)
    expect(download.suggestedFilename()).toMatch(/esx05.*\.json$/)

    const [html] = await Promise.all([
      page.waitForEvent('download'),
      drawer.getByRole('button', { name: 'Export report (HTML)' }).click(),
    ])
    const page2 = readFileSync(await html.path(), 'utf8')
    expect(page2).toMatch(/^<!doctype html>/i)
    expect(page2).toContain('esx05.rack.local')

    // Approved again on a slow host: the running step's duration grows on screen.
    await editSim(fleet, 4, (st) => {
      st.faults.unshift({ match: 'esxcli system hostname get', delayMs: 10_000, slowOnly: true })
    })
    const hostId = Number(await drawer.getByRole('article').getAttribute('data-host'))
    const again = await serve.api.planHost(hostId)
    const rerun = await serve.api.approveHost(hostId, again.id)
    const took = drawer.locator('[data-step="hostname"] .took')
    await expect
      .poll(() => drawer.locator('[data-step="hostname"]').innerText(), { timeout: 20_000 })
      .toMatch(/^running/)
    const first = await took.innerText()
    await expect.poll(() => took.innerText(), { timeout: 5_000 }).not.toBe(first)
    const tookCell = runs.locator(`[data-run="${rerun.id}"] td`).last()
    const cellFirst = await tookCell.innerText()
    await expect.poll(() => tookCell.innerText(), { timeout: 5_000 }).not.toBe(cellFirst)
    await expect
      .poll(() => drawer.getByTestId('run-state').innerText(), { timeout: 30_000 })
      .toBe('done')
    // Its plan, folded again for this run: nothing to change, and those settings folded too.
    await toggle.click()
    const replan = drawer.getByRole('region', { name: `Plan approved for run ${rerun.id}` })
    await expect.poll(() => replan.count()).toBe(1)
    expect(await replan.innerText()).toContain('Nothing to change')
    const same = replan.getByRole('button', { name: /settings with nothing to change/ })
    expect(await same.getAttribute('aria-expanded')).toBe('false')

    // Escape closes the drawer and puts focus back on the row it came from.
    await page.keyboard.press('Escape')
    await expect.poll(() => drawer.count()).toBe(0)
    await expect
      .poll(() => page.evaluate('document.activeElement?.textContent'))
      .toBe('esx05.rack.local')
  })

  it('retries a failed run from the selection, and says it resumed (not that it stops)', async () => {
    const fault = (on: boolean) =>
      editSim(fleet, 5, (st) => {
        st.faults = on ? [{ match: 'esxcli system hostname get', stdout: 'busy', code: 1 }] : []
      })
    const host = (await serve.api.listHosts()).find((h) => h.name === 'esx06.rack.local')
    const ok = await serve.api.planHost(host?.id as number)
    // Approved, then the host fails its first read: the run fails.
    await fault(true)
    const run = await serve.api.approveHost(host?.id as number, ok.id)
    await expect
      .poll(async () => (await serve.api.getRun(run.id)).state, { timeout: 30_000 })
      .toBe('failed')
    await fault(false)

    // Only the rows in view are in the page: search brings esx06 into it.
    const clear = page.getByRole('button', { name: 'Clear selection' })
    if ((await clear.count()) > 0) await clear.click()
    await page.getByLabel('Search').fill('esx06')
    await page.getByRole('checkbox', { name: 'Select esx06.rack.local' }).check()
    await page.getByRole('button', { name: /^Retry \/ resume 1/ }).click()
    const said = page.locator('.bulk-outcome')
    await expect.poll(() => said.innerText()).toMatch(/^Resumed 1 run\./)
    expect(await said.innerText()).not.toContain('stops at the next command')
    await expect
      .poll(async () => (await serve.api.getRun(run.id)).state, { timeout: 30_000 })
      .toBe('done')
  })

  it('cancels a slow run only once confirmed, and shows it cancelling until its command ends', async () => {
    await editSim(fleet, 6, (st) => {
      // Renamed by hand, so the run writes the hostname: the plan reads fast, and the run
      // waits in that write.
      st.hostname = 'localhost'
      st.faults = [{ match: 'esxcli system hostname set', delayMs: 6_000, slowOnly: true }]
    })
    const host = (await serve.api.listHosts()).find((h) => h.name === 'esx07.rack.local')
    const run = await serve.api.approveHost(
      host?.id as number,
      (await serve.api.planHost(host?.id as number)).id,
    )
    // Running (in its slow read), so a cancel waits for the command to end.
    await expect
      .poll(async () => (await serve.api.getRun(run.id)).state, { timeout: 20_000 })
      .toBe('running')
    await page.getByLabel('Search').fill('esx07')
    await page.getByRole('checkbox', { name: 'Select esx07.rack.local' }).check()
    const cancel = page.getByRole('button', { name: /^Cancel runs/ })
    await expect.poll(() => cancel.innerText(), { timeout: 20_000 }).toBe('Cancel runs 1')
    // Dismissed: nothing is cancelled.
    page.once('dialog', (d) => void d.dismiss())
    await cancel.click()
    expect((await serve.api.getRun(run.id)).state).toBe('running')
    page.once('dialog', (d) => void d.accept())
    await cancel.click()
    await expect.poll(() => page.locator('.bulk-outcome').innerText()).toMatch(/^Cancelled 1 run/)
    // Asked once: the button does not offer it again while the command runs out.
    expect(await cancel.innerText()).toBe('Cancel runs')
    await page.getByRole('button', { name: 'esx07.rack.local', exact: true }).click()
    const drawer = page.getByRole('dialog', { name: 'esx07.rack.local' })
    await expect.poll(() => drawer.getByTestId('cancelling').count()).toBe(1)
    await expect
      .poll(() => drawer.getByTestId('run-state').innerText(), { timeout: 30_000 })
      .toBe('cancelled')
    expect(await drawer.getByTestId('cancelling').count()).toBe(0)
    await page.keyboard.press('Escape')
  })
})
