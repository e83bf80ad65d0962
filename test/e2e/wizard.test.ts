// A whole network design, defined the way an operator does it: through the
// wizard, in Debian's Chromium against the real `midwife serve` (own data
// folder and ports). The site profile carries DNS, NTP, vSwitches, port groups
// and advanced settings; the host adds its own VMkernel NIC; the simulated
// ESXi host checks in, the plan is read, Approve runs, and the simulator ends
// up holding the design. A screenshot of every wizard step lands in
// test-results/e2e/, each checked for secrets first.
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { freePort, sampleHost, tempDir } from '../support/app'
import { openBrowser, type Browser } from '../support/browser'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
let esx: SimHost
let ssh: SimSshServer
let enrollmentKey = ''
let hostToken = ''
const data = tempDir('e2e-wizard')

const secrets = () =>
  [serve.token, enrollmentKey, hostToken, sampleHost.rootPassword].filter((s) => s !== '')

beforeAll(async () => {
  serve = await startServeProcess(data.path, ['--port', String(await freePort())])
  esx = await createSimHost()
  ssh = await esx.startSsh(sampleHost.rootPassword)
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  enrollmentKey =
    /PBKEY=(\S+)/.exec((await serve.api.getDiscoveryMaterial()).bootOptions)?.[1] ?? ''
  expect(enrollmentKey).not.toBe('')
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  await ssh?.close()
  await esx?.close()
  data.remove()
})

const sidebar = (step: RegExp) =>
  page.getByRole('navigation', { name: 'Steps' }).getByRole('button', { name: step })
const setting = (key: string) => page.locator(`[data-setting="${key}"]`)

/** Fills one row of a table setting, adding the row first; cells by column title. */
async function fillRow(table: Locator, row: number, cells: Record<string, string>) {
  await table.getByRole('button', { name: '+ Add a row' }).click()
  for (const [column, value] of Object.entries(cells)) {
    await table.getByLabel(`${column}, row ${row}`, { exact: true }).fill(value)
  }
}

async function focusedLabel(): Promise<string | null> {
  return page.evaluate('document.activeElement?.getAttribute("aria-label") ?? null')
}

describe('a network design, defined through the wizard', () => {
  it('starts on the Site step and moves on with Next', async () => {
    await page.goto(serve.url)
    await expect
      .poll(() => page.getByTestId('advertised-url').innerText())
      .toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await browser.screenshot('wizard-1-site', secrets())
    await page.getByRole('button', { name: 'Next: Profile →' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Site profile' }).count()).toBe(1)
  })

  it('defines the site profile, with an error beside its field and focus on it first', async () => {
    await page.getByLabel('DNS servers', { exact: true }).fill('10.0.0.2, 10.0.0.3')
    await page.getByLabel('DNS search domains', { exact: true }).fill('lab.local')
    await page.getByLabel('NTP servers', { exact: true }).fill('0.pool.ntp.org 10.0.0.5')

    const vswitches = setting('vswitches')
    await fillRow(vswitches, 1, { Name: 'vSwitch0', MTU: '1500', 'Active uplinks': 'vmnic0' })
    await fillRow(vswitches, 2, { Name: 'vSwitch1', MTU: '9000', 'Active uplinks': 'vmnic1' })

    const portgroups = setting('portgroups')
    // A VLAN out of range, fixed after the form says so.
    await fillRow(portgroups, 1, { Name: 'vMotion', vSwitch: 'vSwitch1', VLAN: '5000' })
    await fillRow(portgroups, 2, { Name: 'VM Network', vSwitch: 'vSwitch0', VLAN: '30' })

    const advanced = setting('advanced')
    await fillRow(advanced, 1, { Option: 'UserVars.SuppressShellWarning', Value: '1' })
    await fillRow(advanced, 2, { Option: '/Net/TcpipHeapMax', Value: '1536' })

    expect(await page.getByTestId('install-warning').innerText()).toContain(
      'The install ERASES the first local disk',
    )

    await page.getByRole('button', { name: 'Review and save →' }).click()
    const vlan = portgroups.getByLabel('VLAN, row 1', { exact: true })
    expect(await vlan.getAttribute('aria-invalid')).toBe('true')
    expect(await portgroups.innerText()).toContain(
      'a VLAN ID is a whole number from 0 to 4095 (4095 passes every VLAN to guests)',
    )
    await expect.poll(() => focusedLabel()).toBe('VLAN, row 1')
    // Red, next to its field.
    const color = await page.evaluate(
      `getComputedStyle(document.querySelector('[data-setting="portgroups"] small.error-text')).color`,
    )
    expect(color).toBe('rgb(207, 34, 46)')
    expect(await page.getByRole('region', { name: 'Review the site profile' }).count()).toBe(0)
    await browser.screenshot('wizard-2-profile-errors', secrets())

    await vlan.fill('20')
    await page.getByRole('button', { name: 'Review and save →' }).click()
    const review = page.getByRole('region', { name: 'Review the site profile' })
    await expect.poll(() => review.count()).toBe(1)
    const text = await review.innerText()
    expect(text).toContain('vMotion on vSwitch1')
    expect(await review.getByTestId('affected-hosts').innerText()).toContain(
      'no host is defined yet',
    )
    await browser.screenshot('wizard-3-profile-review', secrets())

    await review.getByRole('button', { name: 'Save profile' }).click()
    await expect.poll(() => page.getByText('Site profile saved.').count()).toBe(1)
    const profile = await serve.api.getProfile()
    expect(profile.spec).toMatchObject({
      dns: ['10.0.0.2', '10.0.0.3'],
      dnsSearch: ['lab.local'],
      ntp: { servers: ['0.pool.ntp.org', '10.0.0.5'], enabled: true },
      vswitches: [
        { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'], standby: [] },
        { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic1'], standby: [] },
      ],
      portgroups: [
        { name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 },
        { name: 'VM Network', vswitch: 'vSwitch0', vlan: 30 },
      ],
      advanced: [
        { path: '/UserVars/SuppressShellWarning', value: 1 },
        { path: '/Net/TcpipHeapMax', value: 1536 },
      ],
    })
    await page.getByRole('button', { name: 'Next: Hosts →' }).click()
    await expect
      .poll(() => page.getByRole('heading', { name: 'Hosts', exact: true }).count())
      .toBe(1)
  })

  it('defines a host with its own VMkernel NIC, and reviews the resolved spec first', async () => {
    // A full name typed as the hostname is split into hostname and domain.
    await page.getByLabel('Hostname').fill('esx01.lab.local')
    await page.getByLabel('Hostname').press('Tab')
    expect(await page.getByLabel('Hostname').inputValue()).toBe('esx01')
    expect(await page.getByLabel('Domain', { exact: true }).inputValue()).toBe('lab.local')
    await page.getByLabel('MAC address').fill(esx.state().nics[0]?.mac as string)
    await page.getByLabel('Root password at install').fill(sampleHost.rootPassword)
    await page.getByLabel('SSH port').fill(String(ssh.port))

    // What the host does not set shows the profile's value.
    const dns = page.getByLabel('DNS servers', { exact: true })
    expect(await dns.getAttribute('placeholder')).toBe('10.0.0.2, 10.0.0.3')
    expect(await setting('dns').innerText()).toContain('from site profile')
    expect(await setting('vswitches').innerText()).toContain('vSwitch1 (MTU 9000): vmnic1')

    const vmknics = setting('vmknics')
    await fillRow(vmknics, 1, {
      'Port group': 'vMotion',
      IPv4: '10.0.20.0/24',
      MTU: '9000',
      Services: 'VMotion',
    })
    await page.getByRole('button', { name: 'Review host' }).click()
    expect(await vmknics.innerText()).toContain(
      '10.0.20.0 is the network address of 10.0.20.0/24, not a host address',
    )
    await expect.poll(() => focusedLabel()).toBe('IPv4, row 1')
    await browser.screenshot('wizard-4-hosts-errors', secrets())

    await vmknics.getByLabel('IPv4, row 1', { exact: true }).fill('10.0.20.11/24')
    await page.getByRole('button', { name: 'Review host' }).click()
    const review = page.getByRole('region', { name: 'Review esx01.lab.local' })
    await expect.poll(() => review.count()).toBe(1)
    const row = (key: string) => review.locator(`[data-review="${key}"]`).innerText()
    expect(await row('hostname')).toMatch(/esx01\.lab\.local\s+identity/)
    expect(await row('dns')).toMatch(/10\.0\.0\.2, 10\.0\.0\.3\s+site profile/)
    expect(await row('portgroups')).toContain('site profile')
    expect(await row('vmknics')).toMatch(/vMotion.*10\.0\.20\.11\/24.*this host/s)
    await browser.screenshot('wizard-5-host-review', secrets())

    await review.getByRole('button', { name: 'Add host' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Boot material' }).count()).toBe(1)
    // Saving says so, on the step it leads to.
    expect(
      await page.getByRole('status').filter({ hasText: 'Saved esx01.lab.local.' }).count(),
    ).toBe(1)
    const [host] = await serve.api.listHosts()
    expect(host?.definition?.spec).toEqual({
      vmknics: [{ portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 9000, tags: ['VMotion'] }],
    })
  })

  it('gives the boot material, and Next leads to the servers', async () => {
    await expect.poll(() => page.getByRole('heading', { name: 'ks.cfg' }).count()).toBe(1)
    await page.getByRole('button', { name: 'Copy One-liner for esx01' }).click()
    const oneLiner = String(await page.evaluate('navigator.clipboard.readText()'))
    hostToken = /\/c\/([\w-]+)\.sh/.exec(oneLiner)?.[1] ?? ''
    expect(hostToken).toHaveLength(43)
    await browser.screenshot('wizard-6-boot-material', secrets())

    await page.getByRole('button', { name: 'Next: Servers →' }).click()
    await expect.poll(() => page.getByText('No server has checked in yet').count()).toBe(1)
    const run = await esx.sh(['-c', oneLiner], { MIDWIFE_ATTEMPTS: '2', MIDWIFE_BACKOFF: '1' })
    expect(run.stderr).toContain('checked in')
    expect(run.code).toBe(0)
  })

  it('reads the plan, every setting with its commands, approves it, and the host holds the design', async () => {
    const row = page.getByRole('row', { name: /esx01\.lab\.local/ })
    await expect.poll(() => row.getByTestId('host-state').innerText()).toBe('Checked in')
    await row.getByRole('button', { name: 'esx01.lab.local' }).click()
    const card = page.getByRole('dialog').getByRole('article', { name: 'esx01.lab.local' })
    await card.getByRole('button', { name: 'Approve', exact: true }).click()
    const plan = card.getByRole('region', { name: 'Plan for esx01.lab.local' })
    // One button approves, under the plan; the one that showed it now only reads it again.
    await plan.waitFor()
    expect(await card.getByRole('button', { name: /Approve/ }).allInnerTexts()).toEqual([
      'Approve this plan',
    ])
    expect(await card.getByRole('button', { name: 'Read the plan again' }).count()).toBe(1)
    await expect.poll(() => plan.count(), { timeout: 60_000 }).toBe(1)
    const expected = {
      hostname: 'esxcli system hostname set --host=esx01 --domain=lab.local',
      dns: 'esxcli network ip dns server add --server=10.0.0.2',
      dnsSearch: 'esxcli network ip dns search add --domain=lab.local',
      ntp: 'esxcli system ntp set',
      vswitches: 'esxcli network vswitch standard add -v vSwitch1',
      portgroups: 'esxcli network vswitch standard portgroup add -p vMotion -v vSwitch1',
      vmknics: 'esxcli network ip interface add',
      advanced: 'esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1',
    }
    for (const [key, command] of Object.entries(expected)) {
      const item = plan.locator(`[data-plan="${key}"]`)
      expect(await item.count(), `plan lists ${key}`).toBe(1)
      expect(await item.locator('pre').allInnerTexts(), `${key} shows its commands`).toEqual(
        expect.arrayContaining([expect.stringContaining(command)]),
      )
    }
    await browser.screenshot('wizard-7-plan', secrets())

    await card.getByRole('button', { name: 'Approve this plan' }).click()
    await expect
      .poll(() => card.getByTestId('run-state').innerText(), { timeout: 60_000 })
      .toBe('done')
    const states = await card.locator('[data-step] .pill').allInnerTexts()
    expect(states.length).toBeGreaterThanOrEqual(Object.keys(expected).length + 1)
    for (const state of states) expect(state).toBe('done')
    await expect.poll(() => card.getByTestId('host-state').innerText()).toBe('Configured')
    await browser.screenshot('wizard-8-configured', secrets())

    const sim = esx.state()
    expect(`${sim.hostname}.${sim.domain}`).toBe('esx01.lab.local')
    expect(sim.dns).toEqual({ servers: ['10.0.0.2', '10.0.0.3'], search: ['lab.local'] })
    expect(sim.ntp).toEqual({ enabled: true, servers: ['0.pool.ntp.org', '10.0.0.5'] })
    expect(sim.vswitches.map((v) => [v.name, v.mtu, v.uplinks])).toEqual([
      ['vSwitch0', 1500, ['vmnic0']],
      ['vSwitch1', 9000, ['vmnic1']],
    ])
    expect(sim.portgroups).toEqual(
      expect.arrayContaining([
        { name: 'vMotion', vswitch: 'vSwitch1', vlanId: 20 },
        { name: 'VM Network', vswitch: 'vSwitch0', vlanId: 30 },
      ]),
    )
    const vmk = sim.vmknics.find((v) => v.portgroup === 'vMotion')
    expect(vmk).toMatchObject({
      mtu: 9000,
      tags: ['VMotion'],
      ipv4: { address: '10.0.20.11', netmask: '255.255.255.0', type: 'STATIC' },
    })
    expect(sim.advanced['/UserVars/SuppressShellWarning']).toBe(1)
    expect(sim.advanced['/Net/TcpipHeapMax']).toBe(1536)
  })

  it('shows which hosts a later profile change affects, before saving it', async () => {
    await sidebar(/Profile/).click()
    const ntp = page.getByLabel('NTP servers', { exact: true })
    await ntp.fill('0.pool.ntp.org 10.0.0.5 10.0.0.6')
    // Unsaved edits wait while the operator looks elsewhere.
    await page.getByRole('button', { name: '← Back: Site' }).click()
    await sidebar(/Profile/).click()
    expect(await ntp.inputValue()).toBe('0.pool.ntp.org 10.0.0.5 10.0.0.6')
    await page.getByRole('button', { name: 'Review and save →' }).click()
    const review = page.getByRole('region', { name: 'Review the site profile' })
    await expect.poll(() => review.count()).toBe(1)
    expect(await review.getByTestId('affected-hosts').innerText()).toBe('esx01.lab.local: NTP')
    expect(await review.locator('[data-change="ntp"]').innerText()).toContain('10.0.0.6')
    await browser.screenshot('wizard-9-profile-impact', secrets())
    await review.getByRole('button', { name: 'Save profile' }).click()
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Site profile saved.' }).innerText())
      .toContain(
        '1 configured host needs approving again on the Servers step to apply them: esx01.lab.local (NTP).',
      )

    // The tables say it too, without opening the host: the Hosts table's state...
    await sidebar(/Hosts/).click()
    const hostsRow = page.locator('tr[data-host-row]').first()
    await expect
      .poll(() => hostsRow.getByTestId('host-waiting').innerText())
      .toContain('1 to apply')
    // ...and the Servers table, with a chip that lists only such hosts.
    await sidebar(/Servers/).click()
    const chip = page.getByRole('button', { name: /^Changes to apply 1$/ })
    await expect.poll(() => chip.count()).toBe(1)
    const serversRow = page.locator('[role="row"][data-host-row]').first()
    expect(await serversRow.getByTestId('host-waiting').getAttribute('title')).toBe(
      'Changed since its last run: NTP. Approve it again to apply it.',
    )
    await chip.click()
    expect(await chip.getAttribute('aria-pressed')).toBe('true')
    expect(await page.locator('[role="row"][data-host-row]').count()).toBe(1)
    await browser.screenshot('wizard-10-changes-to-apply', secrets())
  })
})
