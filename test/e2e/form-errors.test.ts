// What an operator sees when a value is wrong, in Debian's Chromium against
// the real `midwife serve`: each problem once, in words, in red, beside the
// field it is about (which says it is invalid and points at it), on the Site
// step's settings and network boot, the site profile and the host form.
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../support/app'
import { openBrowser, type Browser } from '../support/browser'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
const data = tempDir('e2e-form-errors')
const RED = 'rgb(207, 34, 46)'

beforeAll(async () => {
  serve = await startServeProcess(data.path)
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  await page.goto(serve.url)
  await page.getByTestId('advertised-url').waitFor()
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  data.remove()
})

const sidebar = (step: RegExp) =>
  page.getByRole('navigation', { name: 'Steps' }).getByRole('button', { name: step })

/** The text an input's aria-describedby points at, and that text's colour. */
async function describedBy(input: Locator): Promise<{ text: string; color: string }> {
  const id = (await input.getAttribute('aria-describedby'))?.split(' ')[0]
  expect(id, 'the field points at its problem').toBeTruthy()
  const note = page.locator(`[id="${id}"]`)
  return {
    text: await note.innerText(),
    color: String(await page.evaluate(`getComputedStyle(document.getElementById('${id}')).color`)),
  }
}

describe('problems beside their fields', () => {
  it('refuses an advertised address that is no address, beside its field', async () => {
    const advertised = page.locator('input[name="advertisedAddress"]')
    await advertised.fill('10.0.0.300:0')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await expect.poll(() => advertised.getAttribute('aria-invalid')).toBe('true')
    expect(await describedBy(advertised)).toEqual({
      text: 'must be host or host:port, like 10.0.0.5 or 10.0.0.5:8080 (no http://)',
      color: RED,
    })
    // Nothing was saved: servers are still told the listener's own address.
    expect(await page.getByTestId('advertised-url').innerText()).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+$/,
    )
    await advertised.fill('')
  })

  it('shows network boot problems in red beside DNS servers, range and lease, in words', async () => {
    const form = page.getByRole('form', { name: 'Network boot' })
    await form.getByLabel('Provisioning subnet').fill('10.0.0.0/24')
    await form.getByLabel('Range start').fill('10.1.0.100')
    const dns = form.getByLabel('DNS servers')
    await dns.fill('10.0.0.2, dns.lab.local')
    const lease = form.getByLabel('Lease (seconds)')
    await lease.fill('5')
    await form.getByRole('button', { name: 'Save network boot' }).click()

    await expect.poll(() => dns.getAttribute('aria-invalid')).toBe('true')
    expect(await describedBy(dns)).toEqual({
      text: 'dns.lab.local is not an IPv4 address like 10.0.0.2',
      color: RED,
    })
    expect(await describedBy(form.getByLabel('Range start'))).toEqual({
      text: '10.1.0.100 is not a host address in the provisioning subnet 10.0.0.0/24',
      color: RED,
    })
    expect(await describedBy(lease)).toEqual({
      text: 'a lease is a whole number of seconds from 60 to 604800 (a week)',
      color: RED,
    })
    // No banner with the internal path of a field.
    expect(await form.getByRole('alert').count()).toBe(0)
    expect(await form.innerText()).not.toContain('boot.dhcp')
    await browser.screenshot('form-errors-network-boot', [serve.token])
  })

  it('does not move on from the profile past a value it refuses, nor drop the value', async () => {
    await sidebar(/Profile/).click()
    const vlan = page.getByLabel('Management VLAN', { exact: true })
    await vlan.fill('4096')
    // The only value typed is one the profile refuses: Next shows why instead of leaving it.
    await page.getByRole('button', { name: /^(Next: Hosts|Review and save) →$/ }).click()
    await expect.poll(() => vlan.getAttribute('aria-invalid')).toBe('true')
    expect(await page.getByRole('heading', { name: 'Site profile' }).count()).toBe(1)
    expect(await vlan.inputValue()).toBe('4096')
    expect(await page.getByRole('alert').allInnerTexts()).toContain(
      'Some values need fixing: see the fields in red.',
    )
  })

  it('says a profile setting’s problem once, beside its field', async () => {
    const vlan = page.getByLabel('Management VLAN', { exact: true })
    const message = 'a VLAN ID is a whole number from 0 to 4095 (4095 passes every VLAN to guests)'
    expect(await describedBy(vlan)).toEqual({ text: message, color: RED })
    const said = await page.locator('[data-setting="mgmtVlan"]').innerText()
    expect(said.split(message).length - 1, said).toBe(1)
    await browser.screenshot('form-errors-profile-vlan', [serve.token])
    await vlan.fill('')
  })

  it('says what an SSH port is on the host form', async () => {
    await sidebar(/Hosts/).click()
    const form = page.getByRole('form', { name: 'Add host' })
    await form.getByLabel('Hostname').fill('esx01')
    await form.getByLabel('Domain', { exact: true }).fill('lab.local')
    await form.getByLabel('MAC address').fill('00:50:56:aa:bb:01')
    await form.getByLabel('Root password at install').fill('Rack-pw-2026!')
    const port = form.getByLabel('SSH port')
    await port.fill('70000')
    await form.getByRole('button', { name: 'Review host' }).click()
    await expect.poll(() => port.getAttribute('aria-invalid')).toBe('true')
    expect(await describedBy(port)).toEqual({
      text: 'an SSH port is a whole number from 1 to 65535',
      color: RED,
    })
  })

  it('says what SSH and the ESXi Shell become when nothing sets them, and when one is chosen', async () => {
    const form = page.getByRole('form', { name: 'Add host' })
    const services = form.locator('[data-setting="services"]')
    const shown = (label: string): Promise<string> =>
      services.getByLabel(label, { exact: true }).evaluate((el: unknown) => {
        const select = el as { options: Array<{ text: string }>; selectedIndex: number }
        return select.options[select.selectedIndex]?.text ?? ''
      })
    expect(await shown('SSH')).toBe('Not set: left as it is on the host')
    expect(await shown('ESXi Shell')).toBe('Not set: left as it is on the host')
    expect(await services.innerText()).toContain(
      'Both not set: Midwife leaves SSH and the ESXi Shell as they are on the host. Choosing the ESXi Shell sets SSH on too (now and with the host).',
    )
    // Choosing the ESXi Shell sets the pair: SSH's empty choice now means on.
    await services.getByLabel('ESXi Shell', { exact: true }).selectOption('off')
    expect(await shown('SSH')).toBe('Default: On (now and with the host)')
    await services.getByLabel('ESXi Shell', { exact: true }).selectOption('')
    expect(await shown('SSH')).toBe('Not set: left as it is on the host')
  })

  it('takes an empty SSH user and port as root and 22, the placeholders they show', async () => {
    const form = page.getByRole('form', { name: 'Add host' })
    const port = form.getByLabel('SSH port')
    const user = form.getByLabel('SSH user')
    await port.fill('')
    expect(await user.inputValue()).toBe('')
    expect(await user.getAttribute('placeholder')).toBe('root')
    expect(await port.getAttribute('placeholder')).toBe('22')
    await form.getByRole('button', { name: 'Review host' }).click()
    const review = page.getByRole('region', { name: 'Review esx01.lab.local' })
    await review.waitFor()
    expect(await port.getAttribute('aria-invalid')).not.toBe('true')
    expect(await review.getByTestId('ssh-target').innerText()).toBe(
      'root@(address from its check-in):22',
    )
    await review.getByRole('button', { name: 'Add host' }).click()
    await expect.poll(async () => (await serve.api.listHosts()).length).toBe(1)
    const [host] = await serve.api.listHosts()
    expect(host?.definition).toMatchObject({ sshUser: 'root', sshPort: 22 })
  })

  it('keeps what is typed on the Site step: saving one form keeps the other, and Next saves first', async () => {
    await sidebar(/Site/).click()
    const advertised = page.locator('input[name="advertisedAddress"]')
    const tftp = page.getByRole('form', { name: 'Network boot' }).getByLabel('TFTP folder')
    await tftp.fill('esxi-lab')
    await advertised.fill('10.0.0.5')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await expect
      .poll(async () => (await serve.api.getSettings()).advertisedAddress)
      .toBe('10.0.0.5')
    // The network boot form was not saved, and still holds what was typed.
    expect(await tftp.inputValue()).toBe('esxi-lab')
    await advertised.fill('10.0.0.6')
    const wizard = page.getByRole('group', { name: 'Wizard' })
    expect(await wizard.innerText()).toContain('Unsaved changes.')
    await wizard.getByRole('button', { name: 'Save and go to Profile →' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Site profile' }).count()).toBe(1)
    const settings = await serve.api.getSettings()
    expect(settings.advertisedAddress).toBe('10.0.0.6')
    expect(settings.boot.tftpBootDir).toBe('esxi-lab')
  })

  it('says a setting whose checkbox shows its default is not set until its values are given', async () => {
    await sidebar(/Profile/).click()
    const ntp = page.locator('[data-setting="ntp"]')
    const note = ntp.getByTestId('unset-note')
    expect(await ntp.getByRole('checkbox').isChecked()).toBe(true)
    expect(await note.innerText()).toBe(
      'Not set: NTP is left as it is on the host (“Run the NTP service” applies once it is set).',
    )
    await ntp.getByLabel('NTP servers').fill('10.0.0.5')
    await expect.poll(() => note.count()).toBe(0)
    await ntp.getByLabel('NTP servers').fill('')
    await expect.poll(() => note.count()).toBe(1)
  })
})
