// A failed run whose Retry would fail the same way, as the operator sees it, in
// Chromium against a real `midwife serve` and one simulated server: its
// management move was refused (the gateway fell outside the subnet vmk0 is
// in), so Retry, which reuses the values approved with it, is disabled with
// the reason and where to change it written beside it, before it is pressed;
// Retry / resume on a selection leaves it out and says why.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Fleet } from '../../bench/fanout/fleet'
import type { Host } from '../../main/contract/schemas'
import { sampleHost, tempDir } from '../support/app'
import type { Browser } from '../support/browser'
import {
  defineCheckedIn,
  editSim,
  startFleetUi,
  stopFleetUi,
  type FleetUi,
} from '../support/fleet-ui'
import type { ServeProcess } from '../support/serve-process'

const PASSWORD = sampleHost.rootPassword
let ui: FleetUi | undefined
let serve: ServeProcess
let browser: Browser
let page: Page
let fleet: Fleet
let host: Host
const data = tempDir('e2e-retry-refused')
const secrets = () => [serve.token, PASSWORD]

beforeAll(async () => {
  ui = await startFleetUi(data.path, 1, PASSWORD, async (s, f) => {
    // vmk0 is 127.1.0.1/8 with no gateway: a gateway of its own moves the management network.
    host = await defineCheckedIn({ serve: s, fleet: f }, 0, {
      hostname: 'esx01',
      domain: sampleHost.domain,
      rootPassword: PASSWORD,
      spec: { defaultGateway: '127.1.0.254' },
    })
    await editSim(f, 0, (st) => {
      st.reachable = ['127.1.0.254']
    })
  })
  ;({ serve, browser, page, fleet } = ui)
}, 120_000)

afterAll(() => stopFleetUi(ui, data))

describe('a run Retry cannot get past', () => {
  it('disables Retry with the reason beside it, and Retry / resume leaves the run out', async () => {
    const plan = await serve.api.planHost(host.id)
    expect(plan.blocked).toBeNull()
    // Between the plan and the run vmk0's subnet shrinks to 127.1.0.0/30 (a console edit).
    await editSim(fleet, 0, (s) => {
      const vmk0 = s.vmknics.find((v) => v.name === 'vmk0')
      if (vmk0) vmk0.ipv4.netmask = '255.255.255.252'
    })
    const run = await serve.api.approveHost(host.id, plan.id)
    await expect
      .poll(async () => (await serve.api.getRun(run.id)).state, { timeout: 60_000 })
      .toBe('failed')
    const why = (await serve.api.getRun(run.id)).retryRefused
    expect(why).toMatch(/^the new management network is not valid: .*on the Hosts step/)

    await page.goto(serve.url)
    await page.getByRole('button', { name: /Servers/ }).click()
    await page.getByRole('button', { name: 'esx01.lab.local', exact: true }).click()
    const drawer = page.getByRole('dialog', { name: 'esx01.lab.local' })
    const retry = drawer.getByRole('button', { name: /^Retry/ })
    await expect.poll(() => retry.isDisabled()).toBe(true)
    const reason = drawer.getByTestId('retry-refused')
    expect(await reason.innerText()).toBe(
      `Retry would fail the same way: it uses the values approved with this run (${why}).`,
    )
    // The reason is the disabled button's description, for a screen reader too.
    expect(await retry.getAttribute('aria-describedby')).toBe(await reason.getAttribute('id'))
    await browser.screenshot('retry-refused-1-drawer', secrets())
    await page.keyboard.press('Escape')

    await page.getByRole('checkbox', { name: 'Select esx01.lab.local' }).check()
    const bulk = page.getByRole('group', { name: 'Selected servers' })
    await expect
      .poll(() => bulk.getByRole('button', { name: /^Retry \/ resume/ }).isDisabled())
      .toBe(true)
    expect(await page.getByTestId('bulk-unretriable').innerText()).toBe(
      `Retry leaves out 1 selected run: it uses the values approved with it, so it would fail the same way.\n\nesx01.lab.local: ${why}`,
    )
    await browser.screenshot('retry-refused-2-selection', secrets())
    expect((await serve.api.getRun(run.id)).attempts).toBe(1)
  })
})
