// The change-ticket report as a reader sees it, laid out by Chromium: after a
// real run against the simulator, the "plan as approved" table breaks no word
// in the middle (a column squeezed to "So/urc/e" or "cha/ng/e"), and a command
// wraps only between its words, never inside a flag (`--` / `host=esx01`), so
// what a reader copies or types from the ticket is the command that ran.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, dispatch } from '../../main/contract/api'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { openBrowser, shotsDir, type Browser } from '../support/browser'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn } from '../support/flow'

let t: TestApp
let esx: SimHost
let browser: Browser
let html: string

beforeAll(async () => {
  t = await startTestApp()
  const app = t.app
  esx = await createSimHost()
  const ssh = await esx.startSsh(sampleHost.rootPassword)
  app.saveProfile({ spec: { dnsSearch: ['lab.local'] } })
  const host = app.saveHost({
    ...sampleHost,
    mac: esx.state().nics[0]?.mac as string,
    sshPort: ssh.port,
  })
  await checkIn(app, esx, host)
  expect((await approveAndWait(app, host.id)).state).toBe('done')
  const api = createClient((name, args) => dispatch(app, name, args))
  html = (await api.hostReport(host.id, 'html')).content
  browser = await openBrowser('http://127.0.0.1')
})

afterAll(async () => {
  await browser?.close()
  await esx?.close()
  await t?.close()
})

/**
 * Every visual line break, as laid out, whose last character before it and
 * first after it are both part of one word, read from the characters' boxes
 * whatever the markup: in the cells of the plan table, and in the command lines
 * (`$ ...`) of the steps' output. The Note column is prose, which may break
 * after a hyphen as printed text does.
 */
const MID_WORD_BREAKS = `(() => {
  const found = []
  const check = (el, label, commandsOnly) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
    const chars = []
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (let i = 0; i < n.data.length; i++) chars.push([n, i])
    }
    const text = chars.map(([n, i]) => n.data[i]).join('')
    let lastTop = null
    let last = -1
    chars.forEach(([n, i], at) => {
      if (/\\s/.test(n.data[i])) return
      const r = document.createRange()
      r.setStart(n, i)
      r.setEnd(n, i + 1)
      const box = r.getClientRects()[0]
      if (!box) return
      const line = text.slice(text.lastIndexOf('\\n', at) + 1)
      if (
        lastTop !== null &&
        box.top > lastTop + 2 &&
        !/\\s/.test(text.slice(last + 1, at)) &&
        (!commandsOnly || line.startsWith('$ '))
      ) {
        found.push(label + ': ' + text.slice(Math.max(0, last - 12), last + 1) + ' / ' + text.slice(at, at + 12))
      }
      lastTop = box.top
      last = at
    })
  }
  const h4 = [...document.querySelectorAll('h4')].find((h) => h.textContent === 'The plan as approved')
  let table = h4.nextElementSibling
  if (table.tagName !== 'TABLE') table = table.querySelector('table')
  const head = [...table.querySelectorAll('thead th')].map((th) => th.textContent)
  for (const row of table.querySelectorAll('tr')) {
    ;[...row.children].forEach((cell, col) => {
      if (head[col] !== 'Note') check(cell, head[col], false)
    })
  }
  for (const pre of document.querySelectorAll('pre')) check(pre, 'step output', true)
  return found
})()`

describe('the change-ticket report', () => {
  it.each([1100, 800, 560])(
    'breaks no word of the plan as approved and no command argument, %i px wide',
    async (width) => {
      const page = browser.page
      await page.setViewportSize({ width, height: 900 })
      await page.setContent(html)
      const plan = page.getByRole('heading', { name: 'The plan as approved' })
      await plan.scrollIntoViewIfNeeded()
      // The commands are there, whole, as they ran.
      const text = await page.locator('body').innerText()
      expect(text).toContain('$ esxcli system hostname set --host=esx01 --domain=lab.local')
      expect(text).toContain('$ esxcli network ip dns search add --domain=lab.local')
      expect(await page.evaluate<string[]>(MID_WORD_BREAKS)).toEqual([])
      await plan
        .locator('xpath=following-sibling::*[1]')
        .screenshot({ path: join(shotsDir, `report-plan-${width}.png`) })
    },
  )
})
