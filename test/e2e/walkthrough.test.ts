// An operator's first host, end to end, in Debian's Chromium against the real
// `midwife serve` (built CLI, own data folder and ports): define the host,
// read its boot material, let the simulated ESXi host run the one-liner, see
// it check in, approve, and watch every step finish. Screenshots of each
// screen land in test-results/e2e/.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { repoRoot, sampleHost, tempDir } from '../support/app'
import { axe } from '../support/axe'
import { createSimHost, type SimHost } from '../support/esxi-host'

const shots = join(repoRoot, 'test-results', 'e2e')
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let server: ChildProcess
let uiUrl: string
let esx: SimHost
let ssh: SimSshServer
let context: BrowserContext
let page: Page
const cleanup: Array<() => void> = []

function startServe(dataDir: string): Promise<string> {
  const cli = join(repoRoot, 'dist', 'cli.js')
  if (!existsSync(cli))
    throw new Error('dist/cli.js is missing: run `npm run build` (npm test does)')
  server = spawn(
    process.execPath,
    [cli, 'serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  return new Promise((resolve, reject) => {
    let out = ''
    server.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const url = /UI: +(\S+)/.exec(out)?.[1]
      if (url && out.includes('Stop with Ctrl+C')) resolve(url)
    })
    server.on('exit', (code) => reject(new Error(`midwife serve exited with ${code}: ${out}`)))
  })
}

/**
 * Everything visible on the page: secrets must never be part of it when a
 * screenshot is taken, and axe-core finds no serious or critical violation.
 */
async function screenshot(name: string, secrets: string[]) {
  const text = await page.locator('body').innerText()
  for (const s of secrets) expect(text, `${name} shows a secret`).not.toContain(s)
  expect(await axe(page, name), `${name}: accessibility violations`).toEqual([])
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true })
  const data = tempDir('e2e')
  const profile = tempDir('chromium')
  cleanup.push(data.remove, profile.remove)
  uiUrl = await startServe(data.path)
  esx = await createSimHost()
  ssh = await esx.startSsh(sampleHost.rootPassword)

  context = await chromium.launchPersistentContext(profile.path, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(uiUrl).origin,
  })
  page = context.pages()[0] ?? (await context.newPage())
})

afterAll(async () => {
  await context?.close()
  server?.kill('SIGTERM')
  await ssh?.close()
  await esx?.close()
  for (const c of cleanup) c()
})

describe('first host, from boot material to configured', () => {
  let oneLiner = ''
  let token = ''

  it('opens on the Site step with the listener running', async () => {
    await page.goto(uiUrl)
    // The page keeps the token in its own origin's storage and drops it from the address bar.
    expect(new URL(page.url()).search).toBe('')
    await expect
      .poll(() => page.getByTestId('advertised-url').innerText())
      .toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await screenshot('1-site', [new URL(uiUrl).searchParams.get('token') as string])
  })

  it('defines a host, with errors shown beside the fields first', async () => {
    await page.getByRole('button', { name: /Hosts/ }).click()
    await page.getByLabel('Hostname').fill('-bad-')
    await page.getByLabel('MAC address').fill('00:50:56')
    // An install password ESXi's default rules refuse: the rule is said beside the field.
    const password = page.getByLabel('Root password at install')
    await password.fill('vmware1')
    await page.getByRole('button', { name: 'Review host' }).click()
    await expect
      .poll(() => page.getByText('must be a MAC address like aa:bb:cc:dd:ee:ff').count())
      .toBe(1)
    expect(await password.getAttribute('aria-invalid')).toBe('true')
    const note = await password.getAttribute('aria-describedby')
    expect(await page.locator(`#${note}`).innerText()).toBe(
      'the password must mix at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count)',
    )
    await screenshot('2-hosts-errors', ['vmware1'])

    await page.getByLabel('Hostname').fill(sampleHost.hostname)
    await page.getByLabel('Domain', { exact: true }).fill(sampleHost.domain)
    await page.getByLabel('MAC address').fill(esx.state().nics[0]?.mac as string)
    await page.getByLabel('DNS servers').fill(sampleHost.spec.dns.join(', '))
    await page.getByLabel('NTP servers').fill(sampleHost.spec.ntp.servers.join(' '))
    await page.getByLabel('Root password at install').fill(sampleHost.rootPassword)
    await page.getByLabel('SSH port').fill(String(ssh.port))
    // Saving shows the spec the host will be configured to first.
    await page.getByRole('button', { name: 'Review host' }).click()
    await page.getByRole('button', { name: 'Add host' }).click()
    // Saving leads straight to the host's boot material.
    await expect.poll(() => page.getByRole('heading', { name: 'Boot material' }).count()).toBe(1)
  })

  it('shows boot material with secrets masked, and copies the real text', async () => {
    await expect.poll(() => page.getByRole('heading', { name: 'ks.cfg' }).count()).toBe(1)
    const ks = await page.getByRole('region', { name: 'ks.cfg' }).locator('pre').innerText()
    expect(ks).toContain('rootpw --iscrypted ••••••••')
    expect(ks).toContain("MIDWIFE_TOKEN='••••••••'")
    expect(ks).toContain('%firstboot --interpreter=busybox')

    await page.getByRole('button', { name: 'Copy One-liner for esx01' }).click()
    oneLiner = String(await page.evaluate('navigator.clipboard.readText()')).trim()
    token = /\/c\/([\w-]+)\.sh/.exec(oneLiner)?.[1] as string
    expect(token).toHaveLength(43)
    await page.getByRole('button', { name: 'Copy Shift+O options for esx01' }).click()
    expect(String(await page.evaluate('navigator.clipboard.readText()'))).toBe(
      `ks=${new URL(oneLiner.match(/http:\/\/[^/]+/)?.[0] as string).origin}/ks/${token}.cfg netdevice=${esx.state().nics[0]?.mac as string}\n`,
    )
    // The linter speaks before anything is copied: this listener is on loopback.
    const findings = page.getByRole('region', { name: 'Findings' })
    expect(await findings.innerText()).toContain('which servers cannot reach')
    await screenshot('3-boot-material', [token, sampleHost.rootPassword])
  })

  it('sees the server appear live when the host runs the one-liner', async () => {
    await page
      .getByRole('navigation', { name: 'Steps' })
      .getByRole('button', { name: /Servers/ })
      .click()
    await expect.poll(() => page.getByText('No server has checked in yet').count()).toBe(1)

    const run = await esx.sh(['-c', oneLiner], { MIDWIFE_ATTEMPTS: '2', MIDWIFE_BACKOFF: '1' })
    expect(run.stderr).toContain('checked in')
    expect(run.code).toBe(0)

    const row = page.getByRole('row', { name: /esx01\.lab\.local/ })
    await expect.poll(() => row.getByTestId('host-state').innerText()).toBe('Checked in')
    await row.getByRole('button', { name: 'esx01.lab.local' }).click()
    const card = page.getByRole('dialog').getByRole('article', { name: 'esx01.lab.local' })
    await expect.poll(() => card.count()).toBe(1)
    await expect.poll(() => card.getByTestId('host-state').innerText()).toBe('Checked in')
    const text = await card.innerText()
    expect(text).toContain('its identity is bound (trust on first use)')
    expect(text).toContain(esx.state().nics[0]?.mac as string)
    expect(text).toContain(esx.state().platform.serialNumber)
    expect(text).toMatch(/ecdsa-sha2-nistp256 SHA256:/)
    await screenshot('4-checked-in', [token, sampleHost.rootPassword])
  })

  it('approves, and watches every step finish', async () => {
    const card = page.getByRole('article', { name: 'esx01.lab.local' })
    await card.getByRole('button', { name: 'Approve', exact: true }).click()
    // The plan first: read from the host, every change with its exact commands.
    const plan = card.getByRole('region', { name: 'Plan for esx01.lab.local' })
    await expect.poll(() => plan.count()).toBe(1)
    expect(await plan.innerText()).toContain(
      'esxcli system hostname set --host=esx01 --domain=lab.local',
    )
    await screenshot('4b-plan', [token, sampleHost.rootPassword])
    await card.getByRole('button', { name: 'Approve this plan' }).click()
    await expect
      .poll(() => card.getByTestId('run-state').innerText(), { timeout: 30_000 })
      .toBe('done')
    const steps = card.locator('[data-step]')
    expect(await steps.count()).toBe(4)
    for (const state of await steps.locator('.pill').allInnerTexts()) expect(state).toBe('done')
    await expect.poll(() => card.getByTestId('host-state').innerText()).toBe('Configured')
    await card.getByRole('button', { name: /Hostname and domain/ }).click()
    await expect.poll(() => card.getByText('verified: esx01.lab.local').count()).toBe(1)
    await screenshot('5-configured', [token, sampleHost.rootPassword])

    const sim = esx.state()
    expect(`${sim.hostname}.${sim.domain}`).toBe('esx01.lab.local')
    expect(sim.dns.servers).toEqual(sampleHost.spec.dns)
    expect(sim.ntp).toEqual({ enabled: true, servers: sampleHost.spec.ntp.servers })
  })

  it('says at the top of its boot material that a configured host’s token is refused', async () => {
    await page.keyboard.press('Escape')
    await page
      .getByRole('navigation', { name: 'Steps' })
      .getByRole('button', { name: /Boot material/ })
      .click()
    const refused = page.getByTestId('token-refused')
    await expect.poll(() => refused.count()).toBe(1)
    // The listener's own answer to the kickstart URL the material carries.
    const origin = new URL(oneLiner.match(/http:\/\/[^/]+/)?.[0] as string).origin
    const res = await fetch(`${origin}/ks/${token}.cfg`)
    expect(res.status).toBe(410)
    const said = (await res.text()).trim()
    expect(said).toBe(
      'esx01.lab.local is configured; its deployment token no longer works. Use Reinstall in Midwife to re-arm it.',
    )
    expect(await refused.innerText()).toContain(said)
    await screenshot('5b-boot-material-configured', [token, sampleHost.rootPassword])
    await page
      .getByRole('navigation', { name: 'Steps' })
      .getByRole('button', { name: /Servers/ })
      .click()
  })

  /** Edits the host's NTP servers through the Hosts form: Edit, Review host, Save host. */
  async function editNtp(servers: string) {
    await page.getByRole('button', { name: /Hosts/ }).click()
    await page.getByRole('button', { name: 'Edit esx01.lab.local' }).click()
    const form = page.getByRole('form', { name: 'Edit host' })
    await form.getByLabel('NTP servers').fill(servers)
    await form.getByRole('button', { name: 'Review host' }).click()
    await page
      .getByRole('region', { name: 'Review esx01.lab.local' })
      .getByRole('button', { name: 'Save host' })
      .click()
  }

  /** Opens the host's drawer from the Servers table. */
  async function openServer() {
    await page.getByRole('button', { name: /Servers/ }).click()
    await page
      .getByRole('table', { name: 'Servers' })
      .getByRole('button', { name: 'esx01.lab.local' })
      .click()
  }

  it('shows a failing command with what the host said, pinned above the step output', async () => {
    // A new NTP server that the host cannot resolve: ESXi refuses `ntp set` with it.
    esx.update((s) => (s.resolvableNames = []))
    await editNtp('time.lab.local')
    await openServer()
    const card = page.getByRole('dialog').getByRole('article', { name: 'esx01.lab.local' })
    await card.getByRole('button', { name: 'Approve again' }).click()
    await card.getByRole('button', { name: 'Approve this plan' }).click()
    await expect
      .poll(() => card.getByTestId('host-state').innerText(), { timeout: 30_000 })
      .toBe('Failed')
    const pinned = card.getByRole('alert', { name: 'Errors of NTP' })
    await expect.poll(() => pinned.count()).toBe(1)
    expect(await pinned.innerText()).toMatch(/esxcli system ntp set -s time\.lab\.local.*failed/)
    // The failed step's output is open, under its errors.
    expect(await card.getByRole('log', { name: 'Output of NTP' }).count()).toBe(1)
    await screenshot('6-failed', [token, sampleHost.rootPassword])
  })

  it('says Retry repeats what was approved once the host is edited after a failed run', async () => {
    await editNtp('10.0.0.5')
    await expect
      .poll(() =>
        page.getByRole('status').filter({ hasText: 'Saved esx01.lab.local.' }).innerText(),
      )
      .toContain(
        'Retry of its last run uses the values approved then; approve it again on the Servers step to apply NTP.',
      )
    await openServer()
    const hint = page.getByRole('dialog').getByTestId('changed-since-run')
    await expect
      .poll(() => hint.innerText())
      .toBe(
        'NTP changed since this run was approved: Retry uses the values approved then. To use the new ones, approve the host again.',
      )
    await screenshot('6b-changed-since-run', [token, sampleHost.rootPassword])
  })
})
