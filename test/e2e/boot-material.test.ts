// The boot-material screen as an operator uses it on a real network, in
// Debian's Chromium against the real `midwife serve`: a media library of
// extracted ISOs, one host, the linter's findings read before anything is
// copied, boot kinds chosen, the DHCP configuration and the TFTP bundle
// downloaded, and each download's content checked.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nicList, platform } from '../fixtures/esxi-outputs'
import { freePort, sampleHost, tempDir } from '../support/app'
import { openBrowser, shotsDir, type Browser } from '../support/browser'
import { fakeMediaLibrary, untar, type MediaFolders } from '../support/netboot'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

const MAC = '00:50:56:aa:bb:01'
const MAC_FOLDER = '01-00-50-56-aa-bb-01'

let serve: ServeProcess
let browser: Browser
let page: Page
let media: MediaFolders
let hostToken = ''
const data = tempDir('e2e-boot')

const secrets = () => [serve.token, hostToken, sampleHost.rootPassword].filter((s) => s !== '')
const kind = (label: string) =>
  page.getByRole('region', { name: 'Boot kinds' }).getByRole('checkbox', { name: label })

beforeAll(async () => {
  media = fakeMediaLibrary()
  serve = await startServeProcess(data.path, ['--port', String(await freePort())])
  const host = await serve.api.saveHost({
    hostname: 'esx01',
    domain: 'lab.local',
    mac: MAC,
    rootPassword: sampleHost.rootPassword,
    esxiVersion: '8.0',
  })
  hostToken =
    /\/ks\/([\w-]+)\.cfg/.exec((await serve.api.getBootMaterial(host.id)).kickstartUrl)?.[1] ?? ''
  expect(hostToken).toHaveLength(43)
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  await page.goto(serve.url)
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  media?.remove()
  data.remove()
})

describe('the boot-material screen on a real network', () => {
  it('takes the media library and the DHCP facts under Site, each error beside its field', async () => {
    const form = page.getByRole('form', { name: 'Network boot' })
    await form.getByLabel('ESXi 8.0 media folder').fill(join(media.root, 'nowhere'))
    await form.getByLabel('Provisioning subnet').fill('10.0.0.0/33')
    await form.getByRole('button', { name: 'Save network boot' }).click()
    // The form's values are checked first: the subnet, at its field, with the focus there.
    const subnetError = form.locator('#boot-dhcp-subnet-error')
    await expect.poll(() => subnetError.count(), { timeout: 10_000 }).toBe(1)
    expect(await subnetError.innerText()).toContain('must be a subnet like 10.0.0.0/24')
    expect(await subnetError.innerText()).not.toContain('boot.dhcp')
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('boot-dhcp-subnet')

    // Then the folders, on disk.
    await form.getByLabel('Provisioning subnet').fill('10.0.0.0/24')
    await form.getByRole('button', { name: 'Save network boot' }).click()
    const mediaError = form.locator('#boot-media-8-0-error')
    await expect.poll(() => mediaError.count(), { timeout: 10_000 }).toBe(1)
    expect(await mediaError.innerText()).not.toContain('boot.media')
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('boot-media-8-0')
    expect(await subnetError.count()).toBe(0)
    await browser.screenshot('boot-0-site-netboot-error', secrets())
    expect((await serve.api.getSettings()).boot.media['8.0']).toBe('')

    await form.getByLabel('ESXi 8.0 media folder').fill(media['8.0'])
    await form.getByLabel('ESXi 9.0 media folder').fill(media['9.0'])
    await form.getByLabel('Provisioning subnet').fill('10.0.0.0/24')
    await form.getByLabel('Range start').fill('10.0.0.100')
    await form.getByLabel('Range end').fill('10.0.0.199')
    await form.getByLabel('Router').fill('10.0.0.1')
    await form.getByRole('button', { name: 'Save network boot' }).click()
    await expect
      .poll(() => form.getByRole('status').innerText(), { timeout: 10_000 })
      .toBe('Network boot saved.')
    await expect.poll(() => form.getByTestId('media-status-8.0').count()).toBe(1)
    expect(await form.getByTestId('media-status-8.0').innerText()).toMatch(/^Build \S+; served at /)
    const boot = (await serve.api.getSettings()).boot
    expect(boot.media).toEqual({ '7.0': '', '8.0': media['8.0'], '9.0': media['9.0'] })
    expect(boot.dhcp).toMatchObject({ subnet: '10.0.0.0/24', router: '10.0.0.1' })
    await browser.screenshot('boot-0-site-netboot', secrets())

    await page
      .getByRole('navigation', { name: 'Steps' })
      .getByRole('button', { name: /Boot material/ })
      .click()
    await expect.poll(() => page.getByRole('heading', { name: 'Boot material' }).count()).toBe(1)
  })

  it('says what is wrong before anything is copied: a listener servers cannot reach', async () => {
    const findings = page.getByRole('region', { name: 'Findings' })
    await expect.poll(() => findings.count()).toBe(1)
    const text = await findings.innerText()
    expect(text).toContain('which servers cannot reach')
    expect(await page.getByTestId('install-warning').innerText()).toMatch(
      /ERASES the first local disk/,
    )
    await browser.screenshot('boot-1-findings', secrets())
    // The first screenful, as the README shows it.
    await page.screenshot({ path: join(shotsDir, 'boot-material-top.png') })
  })

  it('does not warn of an erased disk for unknown servers while nothing installs them', async () => {
    const host = page.getByRole('combobox', { name: 'Host' })
    await host.selectOption('discover')
    // No discovery root password: no generic kickstart is served, so nothing here installs.
    await expect
      .poll(() => page.getByTestId('install-warning').innerText())
      .toMatch(/^Nothing here installs ESXi yet: the generic kickstart .* discovery root password/)
    expect(await page.getByTestId('install-warning').innerText()).not.toContain('ERASES')
    await host.selectOption({ label: 'esx01.lab.local' })
    await expect
      .poll(() => page.getByTestId('install-warning').innerText())
      .toMatch(/ERASES the first local disk/)
  })

  it('shows the per-MAC files of the kinds chosen, and drops a kind the operator unticks', async () => {
    await expect
      .poll(() => page.getByRole('heading', { name: /PXELINUX file for esx01/ }).count())
      .toBe(1)
    const uefi = page.getByRole('region', { name: 'UEFI PXE boot.cfg for esx01.lab.local' })
    await expect.poll(() => uefi.count()).toBe(1)
    const cfg = await uefi.locator('pre').innerText()
    // mboot.efi loads the installer over TFTP, from the bundle's copy of the 8.0 media.
    expect(cfg).toMatch(/^prefix=\S*8\.0\S*$/m)
    expect(cfg).not.toContain(hostToken)

    await kind('PXELINUX (BIOS)').uncheck()
    await expect
      .poll(() => page.getByRole('heading', { name: /PXELINUX file for esx01/ }).count())
      .toBe(0)
    expect(await uefi.count()).toBe(1)
    await browser.screenshot('boot-2-kinds', secrets())
  })

  it('gives the dnsmasq configuration, as a file', async () => {
    const dhcp = page.getByRole('region', { name: 'DHCP configuration' })
    await expect.poll(() => dhcp.locator('pre').count()).toBe(1)
    const shown = await dhcp.locator('pre').innerText()
    expect(shown).toContain('dhcp-match=set:efi64,option:client-arch,7')
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      dhcp.getByRole('button', { name: /^Download / }).click(),
    ])
    const saved = readFileSync(await download.path(), 'utf8')
    expect(saved.trim()).toBe(shown.trim())
  })

  it('downloads the TFTP bundle with the per-MAC folder, lower case, next to mboot.efi', async () => {
    const bundle = page.getByRole('region', { name: 'TFTP bundle' })
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      bundle.getByRole('button', { name: 'Download the TFTP bundle' }).click(),
    ])
    expect(download.suggestedFilename()).toMatch(/\.tar\.gz$/)
    const files = await untar(Readable.from(readFileSync(await download.path())))
    const names = [...files.keys()]
    const cfgName = names.find((n) => n.endsWith(`${MAC_FOLDER}/boot.cfg`))
    expect(cfgName, names.join(', ')).toBeDefined()
    expect(names.some((n) => n.endsWith('mboot.efi'))).toBe(true)
    // PXELINUX was unticked: its per-MAC file is not in the bundle.
    expect(names.some((n) => n.includes(`pxelinux.cfg/${MAC_FOLDER}`))).toBe(false)
    const cfg = files.get(cfgName as string)?.toString('utf8') ?? ''
    expect(cfg).toMatch(/^prefix=/m)
    expect(cfg).not.toMatch(/[A-F]{2}-[A-F]{2}/)
    await browser.screenshot('boot-3-bundle', secrets())
  })

  it('wraps long boot lines whole at 900 and 1280 px: between modules, under a hanging indent', async () => {
    const uefi = page.getByRole('region', { name: 'UEFI PXE boot.cfg for esx01.lab.local' })
    const PRE = 'section[aria-label^="UEFI PXE boot.cfg for esx01"] pre'
    for (const width of [900, 1280]) {
      await page.setViewportSize({ width, height: 860 })
      // Neither the page nor the file's box scrolls sideways: long lines wrap in the box.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBe(width)
      const fit = await page.evaluate(`(() => {
        const el = document.querySelector('${PRE}')
        return el.scrollWidth <= el.clientWidth
      })()`)
      expect(fit).toBe(true)
      // Each " --- " between modules stays whole on one row; rows that continue a wrapped line
      // start 4 characters in, under it.
      const rows: { split: number; continued: number; dashes: number } =
        await page.evaluate(`(() => {
        const el = document.querySelector('${PRE}')
        const range = document.createRange()
        range.selectNodeContents(el)
        const lefts = [...range.getClientRects()].map((r) => Math.round(r.left))
        const start = Math.min(...lefts)
        const ch = parseFloat(getComputedStyle(el).fontSize) * 0.6
        const dashes = [...el.querySelectorAll('.dashes')]
        return {
          split: dashes.filter((d) => d.getClientRects().length !== 1).length,
          continued: lefts.filter((l) => Math.abs(l - start - 4 * ch) < ch).length,
          dashes: dashes.length,
        }
      })()`)
      expect(rows.dashes).toBeGreaterThan(10)
      expect(rows.split).toBe(0)
      expect(rows.continued).toBeGreaterThan(0)
      await uefi.scrollIntoViewIfNeeded()
      await browser.screenshot(`boot-4-wrapped-${width}`, secrets())
    }
    await page.setViewportSize({ width: 1280, height: 860 })
  })

  it('lists an unknown server the generic kickstart installed, and Install again re-arms it', async () => {
    // Its %post report, as the generic kickstart sends it (the real one runs in generic-install.test.ts).
    const { listener } = await serve.api.getStatus()
    const key = /PBKEY=(\S+)/.exec((await serve.api.getDiscoveryMaterial()).bootOptions)?.[1]
    const res = await fetch(`${listener.advertisedUrl}/install/discover/${key}/installed`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        state: 'installed',
        client: 'ks-installed/1',
        secureBoot: 'unknown',
        outputs: { nicList, platform, ipv4: '', bootCmdLine: 'BOOTIF=01-00-50-56-aa-bb-09' },
      }),
    })
    expect(res.status).toBe(201)
    const perMac = `${listener.advertisedUrl}/ipxe/01-00-50-56-aa-bb-09.ipxe`
    expect((await fetch(perMac)).status).toBe(200)

    await page.getByRole('combobox', { name: 'Host' }).selectOption('discover')
    const held = page.getByRole('region', { name: 'Held at boot-from-disk' })
    const row = held.locator('li[data-mac="00:50:56:aa:bb:09"]')
    await expect.poll(() => row.count()).toBe(1)
    expect(await row.innerText()).toContain('VMware-42 33 00 ff')
    await held.scrollIntoViewIfNeeded()
    await browser.screenshot('boot-5-held-at-disk', secrets())

    // Asked first, saying what the install erases; dismissed, nothing changes.
    const asked: string[] = []
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()))
    await row.getByRole('button', { name: 'Install again' }).click()
    await expect.poll(() => asked.length).toBe(1)
    expect(asked[0]).toContain('00:50:56:aa:bb:09')
    expect(asked[0]).toContain('ERASES')
    expect(await serve.api.listGenericInstalls()).toHaveLength(1)

    page.once('dialog', (d) => void d.accept())
    await row.getByRole('button', { name: 'Install again' }).click()
    await expect.poll(() => held.getByTestId('no-held').count()).toBe(1)
    expect(await serve.api.listGenericInstalls()).toEqual([])
    expect((await fetch(perMac)).status).toBe(404)
  })
})
