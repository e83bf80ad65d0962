// Every screen, as axe-core sees it in real Chromium: light, dark (the system
// setting) and an 800 px window. No serious or critical violation anywhere,
// and at 800 px nothing scrolls sideways. Screenshots of the dark and narrow
// screens land in test-results/e2e/ (each checked for secrets first).
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postCheckin, startFleet, tokenOf, type Fleet } from '../../bench/fanout/fleet'
import { sampleHost, tempDir } from '../support/app'
import { axe, labelInName, type Found } from '../support/axe'
import { openBrowser, type Browser } from '../support/browser'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
let fleet: Fleet
const data = tempDir('e2e-a11y')
const secrets = () => [serve.token, sampleHost.rootPassword]

const CSV = [
  'hostname,domain,mac,mgmt_address',
  'esx02,lab.local,00:50:56:aa:bb:02,10.0.0.12/24',
  'esx03,lab.local,00:50:56:aa:bb:03,10.0.0.12/24',
].join('\n')

beforeAll(async () => {
  serve = await startServeProcess(data.path)
  await serve.api.saveProfile({ spec: { dns: ['10.0.0.2'] } })
  await serve.api.saveHost({
    hostname: sampleHost.hostname,
    domain: sampleHost.domain,
    mac: sampleHost.mac,
    rootPassword: sampleHost.rootPassword,
    spec: { mgmtAddress: '10.0.0.11/24' },
  })
  // A simulated server configured by a run: its row shows the run's state in colour.
  fleet = await startFleet(1, 0, sampleHost.rootPassword)
  const sim = fleet.hosts[0] as Fleet['hosts'][number]
  const esx04 = await serve.api.saveHost({
    hostname: 'esx04',
    domain: sampleHost.domain,
    mac: sim.mac,
    sshPort: sim.port,
    rootPassword: sampleHost.rootPassword,
  })
  const { listener } = await serve.api.getStatus()
  const material = await serve.api.getBootMaterial(esx04.id)
  await postCheckin(listener.advertisedUrl, tokenOf(material.kickstartUrl), sim)
  const run = await serve.api.approveHost(esx04.id, (await serve.api.planHost(esx04.id)).id)
  for (const until = Date.now() + 60_000; (await serve.api.getRun(run.id)).state !== 'done';) {
    if (Date.now() > until) throw new Error(`run ${run.id} did not finish`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  await page.goto(serve.url)
  await page.getByTestId('advertised-url').waitFor()
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  fleet?.stop()
  data.remove()
})

const step = (name: RegExp) =>
  page.getByRole('navigation', { name: 'Steps' }).getByRole('button', { name })

/** Each screen an operator sees, opened as they would open it. */
const screens: Array<[string, () => Promise<void>]> = [
  [
    'site',
    async () => {
      await step(/Site/).click()
      await expect
        .poll(() => page.getByRole('heading', { name: 'Site', exact: true }).count())
        .toBe(1)
    },
  ],
  [
    'profile',
    async () => {
      await step(/Profile/).click()
      await expect.poll(() => page.getByRole('heading', { name: 'Site profile' }).count()).toBe(1)
    },
  ],
  [
    'hosts',
    async () => {
      await step(/Hosts/).click()
      await expect.poll(() => page.getByRole('row', { name: /esx01/ }).count()).toBe(1)
    },
  ],
  [
    'host-form',
    async () => {
      await page.getByRole('row', { name: /esx01/ }).getByRole('button', { name: /^Edit/ }).click()
      await expect.poll(() => page.getByRole('form', { name: 'Edit host' }).count()).toBe(1)
    },
  ],
  [
    'csv-preview',
    async () => {
      await page.keyboard.press('Escape')
      await page.getByLabel('CSV file').setInputFiles({
        name: 'rack.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(CSV),
      })
      await expect
        .poll(() => page.getByRole('region', { name: 'CSV import preview' }).count())
        .toBe(1)
    },
  ],
  [
    'boot',
    async () => {
      await step(/Boot material/).click()
      await expect.poll(() => page.getByRole('heading', { name: 'ks.cfg' }).count()).toBe(1)
    },
  ],
  [
    'servers',
    async () => {
      await step(/Servers/).click()
      await expect.poll(() => page.getByRole('heading', { name: 'Servers' }).count()).toBe(1)
    },
  ],
  [
    // The selection's tint is behind the row's text, the run's state in colour among it.
    'servers-selected',
    async () => {
      await page.getByRole('checkbox', { name: 'Select esx04.lab.local' }).check()
      await expect
        .poll(() => page.locator('[data-host-row][aria-selected="true"] .run-state.done').count())
        .toBe(1)
    },
  ],
  [
    'host-drawer',
    async () => {
      await step(/Servers/).click()
      await page.locator('[data-open]').first().click()
      await expect.poll(() => page.getByRole('dialog').count()).toBe(1)
      await expect.poll(() => page.getByRole('region', { name: 'Audit trail' }).count()).toBe(1)
    },
  ],
]

async function everyScreen(mode: string, shots: boolean, narrow: boolean): Promise<Found[]> {
  const found: Found[] = []
  for (const [name, open] of screens) {
    await open()
    // Let transitions and late data settle before judging colours.
    await page.waitForTimeout(150)
    found.push(...(await axe(page, `${mode}/${name}`)))
    found.push(...(await labelInName(page, `${mode}/${name}`)))
    if (narrow) {
      const overflow = await page.evaluate<[number, number]>(
        '[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]',
      )
      expect(overflow[0], `${name} scrolls sideways at 800 px`).toBeLessThanOrEqual(overflow[1])
    }
    if (shots) await browser.screenshot(`a11y-${mode}-${name}`, secrets())
  }
  return found
}

describe('accessibility on every screen', () => {
  it('light: no serious or critical violation', async () => {
    await page.emulateMedia({ colorScheme: 'light' })
    expect(await everyScreen('light', false, false)).toEqual([])
  })

  it('dark (prefers-color-scheme): no serious or critical violation', async () => {
    await page.emulateMedia({ colorScheme: 'dark' })
    const bg = await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')
    expect(bg).toBe('rgb(13, 17, 23)')
    expect(await everyScreen('dark', true, false)).toEqual([])
  })

  it('800 px wide: the sidebar folds, nothing scrolls sideways, no violation', async () => {
    await page.emulateMedia({ colorScheme: 'light' })
    await page.setViewportSize({ width: 800, height: 900 })
    expect(await everyScreen('narrow', true, true)).toEqual([])
    // The steps sit in one bar above the page instead of a column beside it.
    const nav = await page.getByRole('navigation', { name: 'Steps' }).boundingBox()
    expect(nav?.y ?? 999).toBeLessThan(80)
    // A host's four buttons sit one under another, in one even column, not in a ragged stack.
    await step(/Hosts/).click()
    const buttons = page.locator('[data-host-row]').first().locator('.row-actions button')
    await expect.poll(() => buttons.count()).toBe(4)
    const boxes = await Promise.all((await buttons.all()).map((b) => b.boundingBox()))
    expect(new Set(boxes.map((b) => Math.round(b?.y ?? -1))).size).toBe(4)
    expect(new Set(boxes.map((b) => Math.round(b?.width ?? -1))).size).toBe(1)
  })
})

describe('the Site step says what is wrong where it is', () => {
  it('puts each error under its field in words, focuses the first, then confirms the save', async () => {
    await page.setViewportSize({ width: 1280, height: 860 })
    await step(/Site/).click()
    const site = page.getByRole('form', { name: 'Site settings' })
    const port = site.getByLabel('Listener port')
    const advertised = site.getByLabel('Advertised address')
    const [oldPort, oldAdvertised] = [await port.inputValue(), await advertised.inputValue()]
    await port.fill('80a')
    await advertised.fill('http://10.0.0.5:8080')
    await page.getByRole('button', { name: 'Save settings' }).click()

    const note = async (input: typeof port) =>
      page.locator(`#${await input.getAttribute('aria-describedby')}`).innerText()
    expect(await port.getAttribute('aria-invalid')).toBe('true')
    expect(await note(port)).toBe('must be a port from 1 to 65535')
    expect(await note(advertised)).toBe(
      'must be host or host:port, like 10.0.0.5 or 10.0.0.5:8080 (no http://)',
    )
    await expect
      .poll(() => page.evaluate('document.activeElement?.getAttribute("name")'))
      .toBe('listenerPort')
    // No internal keys, no run-on sentence.
    const text = await page.locator('main').innerText()
    expect(text).not.toMatch(/listenerPort|advertisedAddress|settings\./)
    await browser.screenshot('site-errors', secrets())

    await port.fill(oldPort)
    expect(await port.getAttribute('aria-invalid')).toBe('false')
    await advertised.fill(oldAdvertised)
    await page.getByRole('button', { name: 'Save settings' }).click()
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Site settings saved.' }).count())
      .toBe(1)
  })
})

describe('a control is named by the text shown as its label (WCAG 2.5.3)', () => {
  it('names the NTP checkbox and the Boot material pickers by what they show', async () => {
    await step(/Profile/).click()
    const ntp = page.locator('[data-setting="ntp"]')
    expect(
      await ntp.getByRole('checkbox', { name: 'Run the NTP service', exact: true }).count(),
    ).toBe(1)
    await step(/Boot material/).click()
    await expect.poll(() => page.getByRole('heading', { name: 'ks.cfg' }).count()).toBe(1)
    // Each picker shows "For" before it.
    expect(await page.getByRole('combobox', { name: 'For host', exact: true }).count()).toBe(1)
    expect(await page.getByRole('combobox', { name: 'For DHCP server', exact: true }).count()).toBe(
      1,
    )
  })
})
