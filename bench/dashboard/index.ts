// bench/dashboard: the Servers screen in Chromium with 1,000 hosts stored and
// runs streaming. Midwife runs in this process (serve mode, the real App,
// SQLite in a temp folder); the simulated hosts run in their own process
// (bench/fanout/sim-fleet.ts), every command held 1 s so the runs stream
// for seconds. Measured in the page, with its own clock:
// - first render: the Servers step clicked -> its rows painted (the host list
//   already loaded, as when an operator moves between steps), and a cold load:
//   the page opened -> the Servers rows painted;
// - scroll: requestAnimationFrame deltas while the table scrolls 3 s;
// - a new host: a saveHost call from the page -> its row painted (the table
//   filtered to its name, so the row lands in view).
// Run: npm run build && npm run bench:dashboard [-- --hosts 1000 --runs 200]
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { App } from '../../main/core/app'
import { startServe } from '../../main/serve/server'
import { randomRootPassword } from '../../test/support/passwords'
import { postCheckin, startFleet, tokenOf } from '../fanout/fleet'

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '200' },
  },
})
const N = Number(values.hosts)
const R = Math.min(Number(values.runs), N)
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }
const staticDir = join(process.cwd(), 'dist', 'renderer')
if (!existsSync(join(staticDir, 'index.html'))) throw new Error('run `npm run build` first')

const dir = mkdtempSync(join(tmpdir(), 'midwife-bench-dashboard-'))
const password = randomRootPassword('Bench')
const app = await App.start({
  dataDir: dir,
  resourcesDir: join(process.cwd(), 'resources'),
  version: 'bench',
  logger: quiet,
  listen: { host: '127.0.0.1', port: 0 },
  // Every check-in comes from 127.0.0.1 here; on a real network each host has its own address.
  listenerLimits: {
    sourceBurst: 1e9,
    sourcePerMinute: 1e9,
    credentialBurst: 1e9,
    credentialPerMinute: 1e9,
    connectionsPerSource: 512,
  },
})
const serve = await startServe({ handlers: app, events: app.events, staticDir, logger: quiet })
const fleet = await startFleet(R, 1000, password)

// The first R hosts are the simulated ones (their MACs, their sshd ports); the rest only stored.
const hex = (n: number) => n.toString(16).padStart(2, '0')
const csv = [
  'hostname,domain,mac,serial,ssh_port,dns_servers',
  ...Array.from({ length: N }, (_, i) => {
    const sim = fleet.hosts[i]
    const k = i + 1
    return [
      `esx${String(k).padStart(4, '0')}`,
      'hall.local',
      sim?.mac ?? `00:50:56:c0:${hex(k >> 8)}:${hex(k & 255)}`,
      `SN${k}`,
      String(sim?.port ?? 22),
      '10.0.0.2 10.0.0.3',
    ].join(',')
  }),
].join('\n')
app.importCsv(`${csv}\n`, { confirm: true, rootPassword: password })
const hosts = app.listHosts()
const byMac = new Map(hosts.map((h) => [h.definition?.mac, h.id]))
await Promise.all(
  fleet.hosts.map((h) =>
    postCheckin(
      app.listenerUrl(),
      tokenOf(app.getBootMaterial(byMac.get(h.mac) as number).kickstartUrl),
      h,
    ),
  ),
)

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })

/** In the page: clicks the Servers step and resolves with ms until its rows are painted. */
const renderServers = `new Promise((resolve) => {
  const t0 = performance.now()
  const nav = [...document.querySelectorAll('nav button')].find((b) => b.textContent.includes('Servers'))
  nav.click()
  const check = () => document.querySelector('[data-host-row]')
    ? requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)))
    : requestAnimationFrame(check)
  check()
})`

// Cold: the page opened, the hosts loaded, the Servers rows painted.
const tCold = Date.now()
await page.goto(serve.url)
await page.waitForFunction('document.querySelectorAll("nav button").length >= 5')
await page.waitForFunction('document.querySelector(".shell") !== null')
await page.evaluate(
  `new Promise((r) => { const c = () => document.title && window.performance ? r() : setTimeout(c, 5); c() })`,
)
// Wait until the host list is in (the Servers badge shows the waiting count).
await page.waitForFunction(`/\\(${R}\\)/.test(document.title)`, undefined, { timeout: 60_000 })
const coldMs = Date.now() - tCold

// Runs streaming while the screen is measured: plan and approve the simulated hosts.
const summary = await app.planHosts(fleet.hosts.map((h) => byMac.get(h.mac) as number))
const approval = await app.approveHosts(
  summary.hosts
    .filter((h) => h.planId !== null)
    .map((h) => ({ hostId: h.hostId, planId: h.planId as string })),
)
await new Promise((r) => setTimeout(r, 1500))

const renders: number[] = []
for (let i = 0; i < 5; i++) {
  // Away to the Site step and back: the Servers screen mounts again each time.
  await page.evaluate(
    `[...document.querySelectorAll('nav button')].find((b) => b.textContent.includes('Site')).click()`,
  )
  await page.waitForFunction('!document.querySelector("[data-host-row]")')
  renders.push(Number(await page.evaluate(renderServers)))
}
const rowsInDom = Number(await page.evaluate('document.querySelectorAll("[data-host-row]").length'))

/** In the page: scrolls the table for 3 s, one step per frame, and returns the frame deltas. */
const scroll = `new Promise((resolve) => {
  const el = document.querySelector('[data-testid="servers-scroller"]')
  const deltas = []
  let last = performance.now()
  const end = last + 3000
  let down = true
  const frame = (t) => {
    deltas.push(t - last)
    last = t
    if (el.scrollTop + el.clientHeight >= el.scrollHeight - 2) down = false
    if (el.scrollTop <= 0) down = true
    el.scrollTop += down ? 120 : -120
    if (t < end) requestAnimationFrame(frame)
    else resolve(deltas.slice(2))
  }
  requestAnimationFrame(frame)
})`
const deltas = (await page.evaluate<number[]>(scroll)).sort((a, b) => a - b)
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0

/** In the page: filters to a new name, saves that host, resolves with ms until its row is painted. */
const newHost = (k: number) => `new Promise(async (resolve) => {
  const name = 'new${k}'
  const search = document.querySelector('#server-search')
  search.value = name + '.'
  search.dispatchEvent(new Event('input', { bubbles: true }))
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)))
  const t0 = performance.now()
  const check = () => [...document.querySelectorAll('[data-host-row] [data-open]')].some((b) => b.textContent === name + '.hall.local')
    ? requestAnimationFrame(() => resolve(performance.now() - t0))
    : requestAnimationFrame(check)
  fetch('api/saveHost', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ args: [{ hostname: name, domain: 'hall.local', mac: '00:50:56:dd:00:${hex(k)}', rootPassword: 'x-${password}' }] }) })
  check()
})`
const saves: number[] = []
for (let k = 1; k <= 10; k++) saves.push(Number(await page.evaluate(newHost(k))))
saves.sort((a, b) => a - b)

const streaming = app
  .listRuns({ batchId: approval.batchId ?? undefined, limit: 1000 })
  .runs.filter((r) => r.state === 'running' || r.state === 'queued').length
await app.idle()
const done = app
  .listRuns({ batchId: approval.batchId ?? undefined, limit: 1000 })
  .runs.filter((r) => r.state === 'done').length

await browser.close()
fleet.stop()
await serve.close()
await app.stop()
rmSync(dir, { recursive: true, force: true })

const ms = (x: number) => x.toFixed(1)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
process.stdout.write(
  [
    `Servers screen in Chromium, ${N} hosts stored, ${approval.runs.length} runs approved at once (${streaming} still queued or running after the measurements; ${done} done in the end):`,
    '',
    '| measure | value | target |',
    '|---|---:|---:|',
    `| first render, Servers clicked -> rows painted (median of 5; min / max) | ${ms(median(renders))} ms (${ms(Math.min(...renders))} / ${ms(Math.max(...renders))}) | ≤ 300 ms |`,
    `| cold load, page opened -> ${N} hosts loaded | ${coldMs} ms | |`,
    `| rows in the page (virtualised) | ${rowsInDom} of ${N} | |`,
    `| scroll frames, median / p95 / max (${deltas.length} frames) | ${ms(pct(deltas, 0.5))} / ${ms(pct(deltas, 0.95))} / ${ms(deltas.at(-1) ?? 0)} ms | ≤ 16.7 / ≤ 20 ms |`,
    `| new host, saveHost -> its row painted (median / max of 10) | ${ms(median(saves))} / ${ms(saves.at(-1) ?? 0)} ms | ≤ 50 ms |`,
    '',
  ].join('\n'),
)
process.exit(0)
