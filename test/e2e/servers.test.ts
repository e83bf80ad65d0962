// The Servers screen as an operator lives with it, in Chromium against a real
// `midwife serve`: a server that boots a generic line is discovered and
// assigned; a hostile check-in cannot blank the screen; a host is re-armed and
// a stranger dismissed only once confirmed; deleting a definition
// elsewhere updates the open screen; a restarted Midwife says so.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { checkinBody } from '../fixtures/esxi-outputs'
import { freePort, sampleHost, tempDir } from '../support/app'
import { axe } from '../support/axe'
import { openBrowser, shotsDir, type Browser } from '../support/browser'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { clientScript } from '../support/flow'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
let esx: SimHost
let uiPort: number
let enrollmentKey: string
const data = tempDir('e2e-servers')

beforeAll(async () => {
  uiPort = await freePort()
  serve = await startServeProcess(data.path, ['--port', String(uiPort)])
  esx = await createSimHost()
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  const material = await serve.api.getDiscoveryMaterial()
  enrollmentKey = /PBKEY=(\S+)/.exec(material.bootOptions)?.[1] as string
  esx.update(
    (s) => (s.bootCmdLine = `runweasel ${material.bootOptions} BOOTIF=01-00-50-56-aa-bb-01`),
  )
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  await esx?.close()
  data.remove()
})

const secrets = () => [enrollmentKey, serve.token, sampleHost.rootPassword]

/** Opens a server's drawer from its row in the table; returns its card. */
async function openServer(name: string | RegExp) {
  const row = page.getByRole('table', { name: 'Servers' }).getByRole('button', { name })
  await expect.poll(() => row.count()).toBe(1)
  await row.click()
  return page.getByRole('dialog').getByRole('article', { name })
}

describe('the Servers screen', () => {
  it('shows a server that booted the generic line as discovered, and assigns it to its host', async () => {
    const def = await serve.api.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' })
    await page.goto(serve.url)
    await page.getByRole('button', { name: /Servers/ }).click()
    const waiting = page.getByRole('row', { name: /esx01\.lab\.local/ })
    await expect.poll(() => waiting.getByTestId('host-state').innerText()).toBe('Defined')

    expect((await esx.sh([clientScript], {})).code).toBe(0)
    const card = await openServer(/^Unknown server/)
    await expect.poll(() => card.count()).toBe(1)
    expect(await card.getByTestId('host-state').innerText()).toBe('Discovered')
    expect(await card.innerText()).toContain('No host definition claims this server')
    await browser.screenshot('servers-1-discovered', secrets())

    await card.getByRole('button', { name: 'Assign to esx01.lab.local' }).click()
    const assigned = page.getByRole('article', { name: 'esx01.lab.local' })
    await expect.poll(() => assigned.count()).toBe(1)
    await expect.poll(() => page.getByRole('article', { name: /^Unknown server/ }).count()).toBe(0)
    expect(await assigned.getByTestId('host-state').innerText()).toBe('Checked in')
    expect(await assigned.getByRole('button', { name: 'Approve', exact: true }).isEnabled()).toBe(
      true,
    )
    expect((await serve.api.getHost(def.id)).identity?.how).toBe('assigned')
    await browser.screenshot('servers-2-assigned', secrets())
  })

  it('names the SSH target with the address the server checked in from', async () => {
    const esx01 = (await serve.api.listHosts()).find((h) => h.name === 'esx01.lab.local')
    const address = esx01?.identity?.managementIp as string
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    const steps = page.getByRole('navigation', { name: 'Steps' })
    await page.keyboard.press('Escape')
    await steps.getByRole('button', { name: /Hosts/ }).click()
    const row = page.getByRole('row', { name: /esx01\.lab\.local/ })
    await expect.poll(() => row.getByTestId('ssh-target').innerText()).toBe(`root@${address}:22`)
    // One not checked in yet says where the address will come from, not `root@:22`.
    const waiting = await serve.api.saveHost({
      ...sampleHost,
      hostname: 'esx08',
      mac: '00:50:56:aa:bb:08',
    })
    const other = page.getByRole('row', { name: /esx08\.lab\.local/ })
    await expect
      .poll(() => other.getByTestId('ssh-target').innerText())
      .toBe('root@(address from its check-in):22')
    await serve.api.deleteHost(waiting.id)

    await page.getByRole('button', { name: 'Edit esx01.lab.local' }).click()
    await page
      .getByRole('form', { name: 'Edit host' })
      .getByRole('button', { name: 'Review host' })
      .click()
    const review = page.getByRole('region', { name: 'Review esx01.lab.local' })
    expect(await review.getByTestId('ssh-target').innerText()).toBe(`root@${address}:22`)
    await review.getByRole('button', { name: 'Keep editing' }).click()
    await page
      .getByRole('form', { name: 'Edit host' })
      .getByRole('button', { name: 'Cancel' })
      .click()

    await steps.getByRole('button', { name: /Servers/ }).click()
    expect(await (await openServer('esx01.lab.local')).count()).toBe(1)
  })

  it('shows a conflicting check-in side by side, and trusts it only when confirmed', async () => {
    const [esx01] = await serve.api.listHosts()
    const material = await serve.api.getBootMaterial(esx01?.id as number)
    const token = /\/ks\/([^/]+)\.cfg$/.exec(material.kickstartUrl)?.[1] as string
    // Reinstalled: the same machine, new host keys.
    const { rmSync } = await import('node:fs')
    const { generateHostKeys } = await import('../esxi-sim/shims')
    rmSync(esx.keyDir, { recursive: true })
    generateHostKeys(esx.keyDir)
    const { listener } = await serve.api.getStatus()
    const run = await esx.sh([clientScript], {
      MIDWIFE_URL: listener.advertisedUrl,
      MIDWIFE_TOKEN: token,
    })
    expect(run.code).toBe(0)
    const card = page.getByRole('article', { name: 'esx01.lab.local' })
    await expect.poll(() => card.getByTestId('host-state').innerText()).toBe('Needs attention')
    expect(await card.getByRole('button', { name: /Approve/ }).isDisabled()).toBe(true)
    const table = card.getByRole('region', { name: 'Needs attention' })
    expect(await table.innerText()).toContain('SSH host keys')
    await browser.screenshot('servers-2b-needs-attention', [...secrets(), token])

    page.once('dialog', (d) => void d.dismiss())
    await card.getByRole('button', { name: /This server was reinstalled/ }).click()
    expect(await card.getByTestId('host-state').innerText()).toBe('Needs attention')
    page.once('dialog', (d) => void d.accept())
    await card.getByRole('button', { name: /This server was reinstalled/ }).click()
    await expect.poll(() => card.getByTestId('host-state').innerText()).toBe('Checked in')
    // The state can show before the card's own request settles and frees its buttons.
    await expect
      .poll(() => card.getByRole('button', { name: 'Approve', exact: true }).isEnabled())
      .toBe(true)
  })

  it('survives a check-in that lists one NIC name and one host key twice', async () => {
    const body = checkinBody(enrollmentKey) as Record<string, unknown> & {
      outputs: Record<string, string>
      sshHostKeys: string[]
    }
    const { token: _t, ...rest } = body
    const line = body.outputs.nicList?.split('\n')[2] ?? ''
    // Another machine than the simulated one: its own serial and UUID.
    const platform = (body.outputs.platform ?? '')
      .replace('0xff 0x0 0x33', '0xee 0x0 0x33')
      .replace('VMware-42 33 00 ff', 'VMware-42 33 00 ee')
    const twice = {
      ...rest,
      enrollment: enrollmentKey,
      outputs: {
        ...body.outputs,
        platform,
        nicList: `${body.outputs.nicList}\n${line}\n${line}`,
      },
      sshHostKeys: [body.sshHostKeys[0], body.sshHostKeys[0]],
    }
    const { listener } = await serve.api.getStatus()
    const res = await fetch(`${listener.advertisedUrl}/checkin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(twice),
    })
    expect(res.status).toBe(201)
    const card = await openServer(/^Unknown server/)
    await expect.poll(() => card.count()).toBe(1)
    const text = await card.innerText()
    expect(text.match(/vmnic0 00:50:56:b3:b9:89/g)).toHaveLength(1)
    // The rest of the screen is still there.
    expect(await page.getByRole('button', { name: 'esx01.lab.local' }).count()).toBe(1)
    expect(await page.getByRole('heading', { name: 'Servers' }).count()).toBe(1)
  })

  it('re-arms a host and dismisses a discovered server, each only once confirmed', async () => {
    const esx01 = (await serve.api.listHosts()).find((h) => h.name === 'esx01.lab.local')
    const before = (await serve.api.getBootMaterial(esx01?.id as number)).kickstartUrl
    const card = await openServer('esx01.lab.local')
    page.once('dialog', (d) => void d.dismiss())
    await card.getByRole('button', { name: 'Reinstall…' }).click()
    expect(await card.getByTestId('host-state').innerText()).toBe('Checked in')
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (d) => {
        resolve(d.message())
        void d.accept()
      }),
    )
    await card.getByRole('button', { name: 'Reinstall…' }).click()
    // It says what the next network boot does to the server's disk, in the profile's words.
    expect(await asked).toBe(
      'Re-arm esx01.lab.local for a new install? The next time it boots from the network, ESXi is installed again: The install ERASES the first local disk; it stops if that disk holds a VMFS datastore (overwrite is off). Its token changes; the old one stops working.',
    )
    await expect.poll(() => card.getByTestId('host-state').innerText()).toBe('Defined')
    expect((await serve.api.getHost(esx01?.id as number)).state).toBe('defined')
    expect((await serve.api.getBootMaterial(esx01?.id as number)).kickstartUrl).not.toBe(before)

    const stranger = await openServer(/^Unknown server/)
    page.once('dialog', (d) => void d.dismiss())
    await stranger.getByRole('button', { name: 'Dismiss…' }).click()
    expect(await stranger.getByTestId('host-state').innerText()).toBe('Discovered')
    page.once('dialog', (d) => void d.accept())
    await stranger.getByRole('button', { name: 'Dismiss…' }).click()
    await expect.poll(() => stranger.getByTestId('host-state').innerText()).toBe('Retired')
    expect(await stranger.innerText()).toContain('Dismissed: nothing runs on it.')
    expect(await stranger.innerText()).not.toContain('assign it to one')
  })

  it('drops a deleted definition from the open screen without a reload', async () => {
    const doomed = await serve.api.saveHost({
      ...sampleHost,
      hostname: 'esx09',
      mac: '00:50:56:aa:bb:09',
    })
    await expect.poll(() => page.getByText('esx09.lab.local').count()).toBe(1)
    const before = await page.evaluate('performance.getEntriesByType("navigation").length')
    await serve.api.deleteHost(doomed.id)
    await expect.poll(() => page.getByText('esx09.lab.local').count()).toBe(0)
    const all = await serve.api.listHosts()
    const esx01 = all.find((h) => h.name === 'esx01.lab.local')
    await serve.api.deleteHost(esx01?.id as number)
    await expect.poll(() => page.getByRole('button', { name: 'esx01.lab.local' }).count()).toBe(0)
    expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(before)
  })

  it('drops a suggestion whose definition was deleted elsewhere, and defines a host from what it reported', async () => {
    // esx01 is gone: the server checks in with the enrollment key again, and
    // a new definition with its MAC is suggested.
    const esx05 = await serve.api.saveHost({
      ...sampleHost,
      hostname: 'esx05',
      mac: '00:50:56:aa:bb:01',
    })
    expect((await esx.sh([clientScript], {})).code).toBe(0)
    const found = (await serve.api.listHosts()).find(
      (h) => h.state === 'discovered' && h.suggestions.some((s) => s.hostId === esx05.id),
    )
    expect(found).toBeDefined()
    const card = await openServer(found?.name as string)
    const assign = card.getByRole('button', { name: 'Assign to esx05.lab.local' })
    await expect.poll(() => assign.count()).toBe(1)
    const before = await page.evaluate('performance.getEntriesByType("navigation").length')

    await serve.api.deleteHost(esx05.id)
    await expect.poll(() => assign.count()).toBe(0)
    expect(await card.innerText()).toContain('No unassigned host definition has one of its MACs')
    expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(before)
    // A click that raced the delete is told what happened, not an internal id.
    await expect(
      serve.api.assignDiscovered(found?.id as number, esx05.id, { confirmMacMismatch: false }),
    ).rejects.toThrow(
      'that host definition was deleted; choose another, or define a host from this server',
    )
    // A definition with its MAC made elsewhere is offered at once, without a reload.
    const esx06 = await serve.api.saveHost({
      ...sampleHost,
      hostname: 'esx06',
      mac: '00:50:56:aa:bb:01',
    })
    const assign06 = card.getByRole('button', { name: 'Assign to esx06.lab.local' })
    await expect.poll(() => assign06.count()).toBe(1)
    expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(before)
    await serve.api.deleteHost(esx06.id)
    await expect.poll(() => assign06.count()).toBe(0)

    // Defining a host from it starts from its reported serial; its `localhost`
    // is no name, so Hostname is left for the operator.
    const serial = esx.state().platform.serialNumber
    expect(found?.identity?.serial).toBe(serial)
    expect(esx.state().hostname).toBe('localhost')
    await card.getByRole('button', { name: 'Define a host from it' }).click()
    await expect.poll(() => card.getByLabel('Serial number').inputValue()).toBe(serial)
    expect(await card.getByLabel('Hostname').inputValue()).toBe('')
    expect(await card.getByLabel('MAC address').inputValue()).toBe('00:50:56:aa:bb:01')
    await card.getByRole('button', { name: 'Define a host from it' }).click()
    await page.keyboard.press('Escape')
  })

  it('shows a check-in refused for a wrong enrollment key, which no row would', async () => {
    const { listener } = await serve.api.getStatus()
    const { token: _t, ...rest } = checkinBody(enrollmentKey)
    const wrong = 'W'.repeat(43)
    const res = await fetch(`${listener.advertisedUrl}/checkin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...rest, enrollment: wrong }),
    })
    expect(res.status).toBe(401)
    // A fresh page: no drawer left open by an earlier test covers the notice.
    await page.goto(serve.url)
    await page.getByRole('button', { name: /Servers/ }).click()
    const notice = page.getByRole('region', { name: 'Refused requests' })
    await expect.poll(() => notice.count(), { timeout: 10_000 }).toBe(1)
    const text = await notice.innerText()
    expect(text).toMatch(/\d+ requests? from servers refused since Midwife started\./)
    expect(text).toMatch(/from 127\.0\.0\.1: check-in refused \(401\): wrong enrollment key/)
    expect(text).not.toContain(wrong)
    await browser.screenshot('servers-4-refused', [...secrets(), wrong])
  })

  it('says so when Midwife restarts, instead of reconnecting forever', async () => {
    serve.child.kill('SIGTERM')
    await serve.exited
    serve = await startServeProcess(data.path, ['--port', String(uiPort)])
    const banner = page.getByRole('alert').filter({ hasText: 'Midwife restarted' })
    await expect.poll(() => banner.count(), { timeout: 30_000 }).toBe(1)
    expect(await banner.innerText()).toContain('Open the new URL it printed')
    // In view over the open drawer, and the sidebar no longer vouches for a listener it cannot see.
    // What is seen at the banner's centre is the banner, drawer open or not.
    const seen = await page.evaluate<boolean>(`(() => {
      const el = document.querySelector('.banner.session')
      const r = el.getBoundingClientRect()
      return el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2))
    })()`)
    expect(seen).toBe(true)
    expect(await page.locator('aside footer').innerText()).toContain('Not connected')
    await browser.screenshot('servers-3-restarted', secrets())
  })

  it('keeps the session token out of cookies; a tab without it says which URL to open', async () => {
    await page.goto(serve.url)
    await page.getByTestId('advertised-url').waitFor()
    expect(new URL(page.url()).search).toBe('')
    // A cookie for 127.0.0.1 would go to every other port of 127.0.0.1 too.
    expect(await page.context().cookies()).toEqual([])
    // Another tab at the bare address: this origin's storage has the token.
    const tab = await page.context().newPage()
    try {
      await tab.goto(new URL(serve.url).origin)
      await tab.getByTestId('advertised-url').waitFor()
      // Without it (another browser, cleared storage): what to open, not an error.
      await tab.evaluate('localStorage.clear()')
      await tab.reload()
      const banner = tab.getByRole('alert').filter({ hasText: 'needs Midwife’s session token' })
      await expect.poll(() => banner.count()).toBe(1)
      expect(await banner.innerText()).toContain('Open the URL it printed in its terminal')
      expect(await axe(tab, 'no session')).toEqual([])
      await tab.screenshot({ path: join(shotsDir, 'servers-5-no-session.png'), fullPage: true })
    } finally {
      await tab.close()
    }
  })

  it('says it restarted even after it was away long enough to be "not answering"', async () => {
    serve.child.kill('SIGTERM')
    await serve.exited
    const away = page.getByRole('alert').filter({ hasText: 'Midwife is not answering' })
    await expect.poll(() => away.count(), { timeout: 30_000 }).toBe(1)
    serve = await startServeProcess(data.path, ['--port', String(uiPort)])
    const banner = page.getByRole('alert').filter({ hasText: 'Midwife restarted' })
    await expect.poll(() => banner.count(), { timeout: 20_000 }).toBe(1)
    expect(await away.count()).toBe(0)
  })
})
