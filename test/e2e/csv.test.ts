// A rack from a spreadsheet, through the Hosts screen in Debian's Chromium
// against the real `midwife serve`: download the template, import a file
// with one bad row (its line and column on screen, nothing stored), fix it,
// read the preview, import 24 hosts, export them and read the export back
// as "unchanged". Then a clone, a generated batch, and an edit that opens
// at its row and closes with Escape.
import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../support/app'
import { openBrowser, type Browser } from '../support/browser'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
const data = tempDir('e2e-csv')
const PASSWORD = 'Rack-pw-2026!'
const secrets = () => [serve.token, PASSWORD]

beforeAll(async () => {
  serve = await startServeProcess(data.path)
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  await page.goto(serve.url)
  await page.getByTestId('advertised-url').waitFor()
  await page
    .getByRole('navigation', { name: 'Steps' })
    .getByRole('button', { name: /Hosts/ })
    .click()
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  data.remove()
})

const hex = (n: number) => n.toString(16).padStart(2, '0')
/** 24 hosts; `bad` replaces one row's MAC (1-based) with something that is not a MAC. */
function rack(bad?: number): string {
  const rows = Array.from({ length: 24 }, (_, i) => {
    const k = i + 1
    const mac = k === bad ? '00:50:56:zz:00' : `00:50:56:aa:01:${hex(k)}`
    return `esx${String(k).padStart(2, '0')},rack1.lab,${mac},SN-${k},10.0.1.${10 + k}/24,10.0.0.2`
  })
  return ['hostname,domain,mac,serial,mgmt_address,dns_servers', ...rows, ''].join('\n')
}

async function pick(name: string, text: string) {
  await page.getByLabel('CSV file').setInputFiles({
    name,
    mimeType: 'text/csv',
    buffer: Buffer.from(text),
  })
  await page.getByRole('region', { name: 'CSV import preview' }).waitFor()
}

async function download(button: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: button }).click(),
  ])
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), 'utf8') }
}

describe('hosts from a CSV file', () => {
  it('downloads a template whose header comes from the catalogue', async () => {
    const template = await download('Download the CSV template')
    expect(template.name).toBe('midwife-hosts-template.csv')
    const lines = template.text.trimEnd().split('\n')
    expect(lines.at(-1)).toMatch(/^hostname,domain,mac,serial,.*mgmt_address/)
    expect(lines.slice(0, -1).every((l) => l.startsWith('# '))).toBe(true)
  })

  it('shows a bad row by line and column in plain words, and stores nothing', async () => {
    await pick('rack.csv', rack(5))
    const preview = page.getByRole('region', { name: 'CSV import preview' })
    const problems = preview.getByTestId('batch-problems')
    // No root_password column and no password for the import yet: every row says so.
    await expect.poll(() => problems.innerText()).toMatch(/root password/i)
    // Typing it checks the file again by itself: no button, no picking the file again.
    await page.getByLabel('Root password for new hosts without one').fill(PASSWORD)
    // Line 6: the header is line 1, host 5 is line 6. Column C holds the MAC.
    await expect.poll(() => problems.locator('li').count()).toBe(1)
    expect(await problems.innerText()).toMatch(
      /^1 problem: nothing is stored until every one is fixed\.\s+Line 6, column C \(mac\): /,
    )
    expect(await preview.getByRole('button', { name: /^Import/ }).isDisabled()).toBe(true)
    expect(await preview.locator('[data-row="5"] .pill').innerText()).toBe('refused')
    expect(await page.locator('body').innerText()).not.toContain(PASSWORD)
    await browser.screenshot('csv-1-bad-row', secrets())
    expect(await serve.api.listHosts()).toEqual([])
  })

  it('previews the fixed file and imports 24 hosts, all at once', async () => {
    await pick('rack.csv', rack())
    const preview = page.getByRole('region', { name: 'CSV import preview' })
    await expect
      .poll(() => preview.getByTestId('batch-summary').innerText())
      .toBe('24 rows: 24 to create, 0 to update.')
    expect(await preview.getByTestId('batch-problems').count()).toBe(0)
    const first = await preview.locator('[data-row="1"]').innerText()
    expect(first).toContain('esx01.rack1.lab')
    expect(first).toContain('00:50:56:aa:01:01')
    expect(first).toContain('the import’s')
    expect(first).toMatch(/Management address: 10\.0\.1\.11\/24/)
    expect(await page.locator('body').innerText()).not.toContain(PASSWORD)
    await browser.screenshot('csv-2-preview', secrets())
    expect(await serve.api.listHosts()).toEqual([])

    await preview.getByRole('button', { name: 'Import 24 hosts' }).click()
    await expect
      .poll(() => page.getByRole('status').innerText())
      .toContain('Imported rack.csv: 24 created.')
    // The password is not kept on the page after the import.
    expect(await page.getByLabel('Root password for new hosts without one').inputValue()).toBe('')
    const table = page.getByRole('region', { name: 'Defined hosts' })
    await expect.poll(() => table.locator('[data-host-row]').count()).toBe(24)
    expect(
      await table.locator('[data-host-row] [data-testid="host-state"]').first().innerText(),
    ).toBe('Defined')
    expect(await table.locator('[data-host-row] .state time').first().innerText()).toBe('just now')
    const hosts = await serve.api.listHosts()
    expect(hosts).toHaveLength(24)
    expect(hosts.every((h) => h.definition?.hasPassword)).toBe(true)
    await browser.screenshot('csv-3-imported', secrets())
  })

  it('exports what it imported, and the export reads back as unchanged', async () => {
    const exported = await download('Export hosts as CSV')
    expect(exported.name).toMatch(/\.csv$/)
    expect(exported.text).toContain('esx24,rack1.lab,00:50:56:aa:01:18,SN-24')
    expect(exported.text).not.toContain(PASSWORD)
    await pick(exported.name, exported.text)
    const preview = page.getByRole('region', { name: 'CSV import preview' })
    expect(await preview.getByTestId('batch-summary').innerText()).toBe(
      '24 rows: 0 to create, 0 to update, 24 unchanged.',
    )
    expect(await preview.getByRole('button', { name: 'Import 0 hosts' }).isDisabled()).toBe(true)
    await preview.getByRole('button', { name: 'Cancel' }).click()
    expect(await serve.api.listHosts()).toHaveLength(24)
  })

  it('clones a host with a new name and MAC', async () => {
    await page.getByRole('button', { name: 'Clone esx01.rack1.lab' }).click()
    const form = page.getByRole('form', { name: 'Clone esx01.rack1.lab' })
    await form.getByLabel('New hostname').fill('esx25')
    await form.getByLabel('New MAC address').fill('00:50:56:aa:01:19')
    await form.getByLabel('Management address').fill('10.0.1.35/24')
    await form.getByRole('button', { name: 'Clone host' }).click()
    await expect.poll(() => page.getByRole('status').innerText()).toContain('Saved esx25.rack1.lab')
    const clone = (await serve.api.listHosts()).find((h) => h.name === 'esx25.rack1.lab')
    expect(clone?.definition).toMatchObject({
      mac: '00:50:56:aa:01:19',
      hasPassword: true,
      spec: { dns: ['10.0.0.2'], mgmtAddress: '10.0.1.35/24' },
    })
  })

  it('generates hosts from a pattern: preview, then create', async () => {
    await page.getByRole('button', { name: 'Generate hosts…' }).click()
    const form = page.getByRole('form', { name: 'Generate hosts' })
    await form.getByLabel('Name pattern').fill('esx{26..28}')
    await form.getByLabel('Domain').fill('rack1.lab')
    await form.getByLabel('First MAC').fill('00:50:56:aa:01:1a')
    await form.getByLabel('First management address').fill('10.0.1.35/24')
    // No password and no host to start from: said once, beside the field, not once per host.
    const password = form.getByLabel('Root password')
    await form.getByRole('button', { name: 'Preview' }).click()
    await expect.poll(() => password.getAttribute('aria-invalid')).toBe('true')
    const note = page.locator(`#${(await password.getAttribute('aria-describedby')) ?? 'none'}`)
    expect(await note.innerText()).toBe(
      'every new host needs the root password it is installed with: type it here, or start from a host to use its password',
    )
    await expect
      .poll(() => page.evaluate('document.activeElement?.getAttribute("name")'))
      .toBe('generateRootPassword')
    const preview = page.getByRole('region', { name: 'Generated hosts preview' })
    expect(await preview.count()).toBe(0)
    await password.fill(PASSWORD)
    await form.getByRole('button', { name: 'Preview' }).click()
    await expect.poll(() => preview.getByTestId('batch-summary').count()).toBe(1)
    // 10.0.1.35 is the clone's: the first new host skips it.
    expect(await preview.locator('[data-row="1"]').innerText()).toContain('10.0.1.36/24')
    // The password was typed in the form: there is no file to say it came from.
    expect(await preview.innerText()).toContain('as typed')
    expect(await preview.innerText()).not.toContain('in the file')
    await browser.screenshot('csv-4-generate', secrets())
    await preview.getByRole('button', { name: 'Create 3 hosts' }).click()
    await expect
      .poll(() => page.getByRole('status').innerText())
      .toContain('Created 3 hosts from esx{26..28}.')
    expect(await serve.api.listHosts()).toHaveLength(28)
  })

  it('refuses an import the preview no longer describes, and shows the new preview', async () => {
    const text = [
      'hostname,domain,mac,dns_servers',
      'esx40,rack1.lab,00:50:56:aa:01:40,10.0.0.2',
      'esx41,rack1.lab,00:50:56:aa:01:41,10.0.0.2',
      '',
    ].join('\n')
    await pick('two.csv', text)
    await page.getByLabel('Root password for new hosts without one').fill(PASSWORD)
    const preview = page.getByRole('region', { name: 'CSV import preview' })
    const summary = preview.getByTestId('batch-summary')
    await expect.poll(() => summary.innerText()).toBe('2 rows: 2 to create, 0 to update.')
    // Meanwhile, another tab saves esx41 by hand with its own DNS server.
    const mine = await serve.api.saveHost({
      hostname: 'esx41',
      domain: 'rack1.lab',
      mac: '00:50:56:aa:01:41',
      rootPassword: PASSWORD,
      spec: { dns: ['10.0.0.99'] },
    })
    await preview.getByRole('button', { name: 'Import 2 hosts' }).click()
    await expect
      .poll(() => page.getByRole('alert').allInnerTexts())
      .toContainEqual(
        expect.stringContaining(
          'nothing was stored: the hosts or the site profile changed since this preview',
        ),
      )
    await expect.poll(() => summary.innerText()).toBe('2 rows: 1 to create, 1 to update.')
    expect((await serve.api.getHost(mine.id)).definition?.spec.dns).toEqual(['10.0.0.99'])
    // Confirmed again, as it now stands.
    await preview.getByRole('button', { name: 'Import 2 hosts' }).click()
    await expect
      .poll(() => page.getByRole('status').innerText())
      .toContain('Imported two.csv: 1 created, 1 updated.')
    expect((await serve.api.getHost(mine.id)).definition?.spec.dns).toEqual(['10.0.0.2'])
  })

  it('opens the edit form at its row, and Escape closes it', async () => {
    const row = page.locator('[data-host-row]').filter({ hasText: 'esx12.rack1.lab' })
    await row.getByRole('button', { name: 'Edit esx12.rack1.lab' }).click()
    const form = page.getByRole('form', { name: 'Edit host' })
    await form.waitFor()
    // The form is the table row right under the host's, not at the foot of the page.
    const [rowBox, formBox] = [await row.boundingBox(), await form.boundingBox()]
    expect((formBox?.y ?? 0) - ((rowBox?.y ?? 0) + (rowBox?.height ?? 0))).toBeLessThan(40)
    expect(await form.getByLabel('Hostname').inputValue()).toBe('esx12')
    await browser.screenshot('csv-5-edit-inline', secrets())
    await page.keyboard.press('Escape')
    await expect.poll(() => form.count()).toBe(0)
    await expect
      .poll(() => page.evaluate('document.activeElement?.getAttribute("aria-label")'))
      .toBe('Edit esx12.rack1.lab')
  })

  it('asks before Escape drops an edit with something typed, and keeps it when told to', async () => {
    const row = page.locator('[data-host-row]').filter({ hasText: 'esx12.rack1.lab' })
    await row.getByRole('button', { name: 'Edit esx12.rack1.lab' }).click()
    const form = page.getByRole('form', { name: 'Edit host' })
    await form.waitFor()
    await form.getByLabel('NTP servers').fill('ntp9.rack1.lab')
    // Escape also dismisses the browser's suggestions under a field: it must not lose the edit.
    const asked: string[] = []
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()))
    await page.keyboard.press('Escape')
    await expect.poll(() => asked).toEqual(['Discard your changes to esx12.rack1.lab?'])
    expect(await form.count()).toBe(1)
    expect(await form.getByLabel('NTP servers').inputValue()).toBe('ntp9.rack1.lab')
    page.once('dialog', (d) => void d.accept())
    await page.keyboard.press('Escape')
    await expect.poll(() => form.count()).toBe(0)
    expect(
      (await serve.api.listHosts()).find((h) => h.name === 'esx12.rack1.lab')?.definition?.spec.ntp,
    ).toBeUndefined()
  })

  it('asks before Escape drops a clone with something typed', async () => {
    await page.getByRole('button', { name: 'Clone esx12.rack1.lab' }).click()
    const form = page.getByRole('form', { name: 'Clone esx12.rack1.lab' })
    await form.getByLabel('New hostname').fill('esx26')
    const asked: string[] = []
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()))
    await page.keyboard.press('Escape')
    await expect.poll(() => asked).toEqual(['Discard the clone of esx12.rack1.lab?'])
    expect(await form.getByLabel('New hostname').inputValue()).toBe('esx26')
    page.once('dialog', (d) => void d.accept())
    await page.keyboard.press('Escape')
    await expect.poll(() => form.count()).toBe(0)
  })

  it("says at Review, beside the field, that a MAC or a name is another host's", async () => {
    const row = page.locator('[data-host-row]').filter({ hasText: 'esx12.rack1.lab' })
    await row.getByRole('button', { name: 'Edit esx12.rack1.lab' }).click()
    const form = page.getByRole('form', { name: 'Edit host' })
    await form.waitFor()
    // esx13's MAC, typed in capitals: still the same NIC.
    const mac = form.getByLabel('MAC address')
    await mac.fill(`00:50:56:AA:01:${hex(13).toUpperCase()}`)
    await form.getByLabel('Hostname').fill('esx14')
    await form.getByRole('button', { name: 'Review host' }).click()
    const noteOf = async (field: typeof mac) =>
      page.locator(`#${(await field.getAttribute('aria-describedby')) ?? 'none'}`).innerText()
    await expect.poll(() => mac.getAttribute('aria-invalid')).toBe('true')
    expect(await noteOf(mac)).toBe(
      `MAC 00:50:56:aa:01:${hex(13)} is already used by host esx13.rack1.lab`,
    )
    const name = form.getByLabel('Hostname')
    expect(await name.getAttribute('aria-invalid')).toBe('true')
    expect(await noteOf(name)).toBe('a host named esx14.rack1.lab already exists')
    expect(await page.getByRole('region', { name: /^Review / }).count()).toBe(0)
    // What was typed is dropped, once confirmed.
    page.once('dialog', (d) => void d.accept())
    await page.keyboard.press('Escape')
    await expect.poll(() => form.count()).toBe(0)
  })

  it('sets the ESXi version and Secure Boot of one host in its form', async () => {
    const row = page.locator('[data-host-row]').filter({ hasText: 'esx12.rack1.lab' })
    await row.getByRole('button', { name: 'Edit esx12.rack1.lab' }).click()
    const form = page.getByRole('form', { name: 'Edit host' })
    await form.getByLabel('ESXi version to install').selectOption('9.0')
    await form.getByLabel('UEFI Secure Boot').selectOption('on')
    await form.getByRole('button', { name: 'Review host' }).click()
    await page
      .getByRole('region', { name: 'Review esx12.rack1.lab' })
      .getByRole('button', { name: 'Save host' })
      .click()
    await expect
      .poll(
        async () => {
          const h = (await serve.api.listHosts()).find((x) => x.name === 'esx12.rack1.lab')
          return [h?.definition?.esxiVersion, h?.definition?.secureBoot]
        },
        { timeout: 10_000 },
      )
      .toEqual(['9.0', true])
  })

  it('adds one more host by hand and stays, with its boot material one click away', async () => {
    const form = page.getByRole('form', { name: 'Add host' })
    await form.getByLabel('Hostname').fill('esx99')
    await form.getByLabel('Domain', { exact: true }).fill('rack1.lab')
    // Typed as a switch prints it: the review shows it as it is stored.
    await form.getByLabel('MAC address').fill('00-50-56-AA-01-99')
    await form.getByLabel('Root password at install').fill(PASSWORD)
    await form.getByRole('button', { name: 'Review host' }).click()
    const review = page.getByRole('region', { name: 'Review esx99.rack1.lab' })
    expect(await review.innerText()).toContain('MAC 00:50:56:aa:01:99')
    await review.getByRole('button', { name: 'Add host' }).click()
    const saved = page.getByRole('status').filter({ hasText: 'Saved esx99.rack1.lab.' })
    await expect.poll(() => saved.count()).toBe(1)
    expect(await saved.innerText()).toContain('The form is ready for the next host.')
    expect(await page.getByRole('heading', { name: 'Boot material' }).count()).toBe(0)
    expect(await form.getByLabel('Hostname').inputValue()).toBe('')
    // The operator sees that it was saved, and the keyboard is on it, not lost on the page.
    const boot = saved.getByRole('button', { name: 'Boot material for esx99.rack1.lab' })
    await expect
      .poll(() =>
        page.evaluate(
          'document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.textContent',
        ),
      )
      .toBe('Boot material for esx99.rack1.lab')
    const box = await saved.boundingBox()
    const height = page.viewportSize()?.height ?? 0
    expect(box && box.y >= 0 && box.y + box.height <= height, 'the notice is in view').toBe(true)
    await boot.click()
    await expect.poll(() => page.getByRole('heading', { name: 'Boot material' }).count()).toBe(1)
    await page.getByRole('button', { name: '← Back: Hosts' }).click()
  })

  it('keeps the keyboard in the table when a host is deleted: on the next row', async () => {
    const rows = page.locator('[data-host-row]')
    const names = await rows.locator('td:first-child').allInnerTexts()
    const at = names.indexOf('esx99.rack1.lab')
    expect(at).toBeGreaterThanOrEqual(0)
    const neighbour = names[at + 1] ?? names[at - 1]
    page.once('dialog', (d) => void d.accept())
    await page.getByRole('button', { name: 'Delete esx99.rack1.lab' }).click()
    await expect.poll(() => rows.filter({ hasText: 'esx99.rack1.lab' }).count()).toBe(0)
    await expect
      .poll(() => page.evaluate('document.activeElement?.getAttribute("aria-label")'))
      .toBe(`Edit ${neighbour}`)
  })

  it('links a host to its check-ins and runs: the Servers step, with its drawer open', async () => {
    const row = page.locator('[data-host-row]').filter({ hasText: 'esx12.rack1.lab' })
    await row.getByRole('button', { name: 'Check-ins and runs of esx12.rack1.lab' }).click()
    const drawer = page.getByRole('dialog', { name: 'esx12.rack1.lab' })
    await expect.poll(() => drawer.count(), { timeout: 10_000 }).toBe(1)
    await page.keyboard.press('Escape')
    await expect.poll(() => drawer.count()).toBe(0)
  })
})
