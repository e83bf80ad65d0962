// A run's drawer fetches the run when it opens, and that fetch races the event stream: the run is
// read while a step runs, the step ends (its event reaches the page at once), and only then does
// the fetched run land. Held back here on purpose, in Debian's Chromium against the real
// `midwife serve` and a simulated server: the drawer must end up showing the step as it is now,
// not as the late answer had it, without a reload. The same for a run shown from Approve's answer.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Fleet } from '../../bench/fanout/fleet'
import type { Host } from '../../main/contract/schemas'
import { sampleHost, tempDir } from '../support/app'
import { watchEventFrames, type EventFrames } from '../support/event-frames'
import { holdAnswer } from '../support/hold-answer'
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
let page: Page
let fleet: Fleet
let host: Host
const data = tempDir('e2e-run-fetch-race')

beforeAll(async () => {
  ui = await startFleetUi(data.path, 1, PASSWORD, async (s, f) => {
    host = await defineCheckedIn({ serve: s, fleet: f }, 0, {
      hostname: 'esx01',
      domain: sampleHost.domain,
      rootPassword: PASSWORD,
    })
  })
  ;({ serve, page, fleet } = ui)
}, 120_000)

afterAll(() => stopFleetUi(ui, data))

let frames: EventFrames

it('shows a step as it is now when it ends while its run is being fetched', async () => {
  // The server's hostname write takes 4 s: the run sits in that step.
  await editSim(fleet, 0, (st) => {
    st.hostname = 'localhost'
    st.faults = [{ match: 'esxcli system hostname set', delayMs: 4_000, slowOnly: true }]
  })
  frames = watchEventFrames(page)
  await page.goto(serve.url)
  await page.getByRole('button', { name: /Servers/ }).click()
  const plan = await serve.api.planHost(host.id)
  const run = await serve.api.approveHost(host.id, plan.id)
  const hostnameStep = async () =>
    (await serve.api.getRun(run.id)).steps.find((s) => s.key === 'hostname')?.state
  await expect.poll(hostnameStep, { timeout: 30_000 }).toBe('running')

  // The drawer's fetch of the run is read now, and answered only once the step has ended.
  const answer = await holdAnswer(page, 'getRun')
  const stepEnded = frames.seen('run.step', '"key":"hostname"', '"state":"done"')
  await page.getByRole('button', { name: 'esx01.lab.local', exact: true }).click()
  await answer.read
  await stepEnded
  await answer.release()

  const drawer = page.getByRole('dialog', { name: 'esx01.lab.local' })
  await expect
    .poll(() => drawer.getByTestId('run-state').innerText(), { timeout: 30_000 })
    .toBe('done')
  expect(await drawer.locator('li[data-step="hostname"] .pill').innerText()).toBe('done')
  expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1)
})

it('shows a run approved in its drawer as it is now when it ends before Approve’s answer lands', async () => {
  await editSim(fleet, 0, (st) => {
    st.hostname = 'localhost'
    st.faults = []
  })
  const drawer = page.getByRole('dialog', { name: 'esx01.lab.local' })
  await drawer.getByRole('button', { name: 'Approve again' }).click()
  const approve = drawer.getByRole('button', { name: 'Approve this plan' })
  await expect.poll(() => approve.count(), { timeout: 30_000 }).toBe(1)

  // The answer (the run, queued) is held until the run's end has reached the page.
  const answer = await holdAnswer(page, 'approveHost')
  const runEnded = frames.seen('run.changed', '"id":2,', '"state":"done"')
  await approve.click()
  await answer.read
  await runEnded
  await answer.release()

  await expect
    .poll(() => drawer.locator('[data-run="2"] .state').innerText(), { timeout: 30_000 })
    .toBe('done')
  const shown = async () =>
    `${await drawer.getByTestId('run-state').innerText()} ${await drawer.locator('li[data-step="hostname"] .pill').innerText()}`
  await expect.poll(shown, { timeout: 10_000 }).toBe('done done')
})
