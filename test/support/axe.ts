import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { repoRoot } from './app'

const axeSource = readFileSync(join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

/** A serious or critical axe-core violation, where it was found. */
export interface Found {
  screen: string
  id: string
  impact: string
  help: string
  targets: string[]
}

/** Runs axe-core on the page as it is now; returns its serious and critical violations. */
export async function axe(page: Page, screen: string): Promise<Found[]> {
  // The page's CSP (script-src 'self') refuses an injected <script> tag, as it
  // should; the devtools protocol evaluates the same file in the page instead.
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axeSource)
  const result = await page.evaluate<{
    violations: Array<{
      id: string
      impact: string | null
      help: string
      nodes: Array<{ target: string[] }>
    }>
  }>('window.axe.run(document, { resultTypes: ["violations"] })')
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      screen,
      id: v.id,
      impact: v.impact ?? '',
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }))
}

/**
 * Controls named by aria-label whose name does not hold the text shown as their
 * label (WCAG 2.5.3 Label in Name: a speech user says what they see): an input's
 * <label>, a button's or link's own text. Compared as words, letter case and
 * punctuation aside; glyph-only text (↑, ✕) is not a label.
 */
export async function labelInName(page: Page, screen: string): Promise<Found[]> {
  const mismatched = await page.evaluate<Array<{ target: string; shown: string; name: string }>>(
    `(() => {
      const words = (s) => ' ' + (s || '').toLowerCase().replace(/[^\\p{L}\\p{N}]+/gu, ' ').trim() + ' '
      const shownText = (el) => {
        const c = el.cloneNode(true)
        c.querySelectorAll('input, select, textarea, .visually-hidden, [aria-hidden="true"]')
          .forEach((n) => n.remove())
        return c.textContent || ''
      }
      const out = []
      for (const el of document.querySelectorAll('[aria-label]')) {
        if (el.getClientRects().length === 0) continue
        const role = el.getAttribute('role')
        const own = el.localName === 'button' || el.localName === 'a' || role === 'button' || role === 'link'
        const shown = el.labels && el.labels.length > 0
          ? [...el.labels].map(shownText)
          : own ? [shownText(el)] : []
        const name = el.getAttribute('aria-label')
        for (const s of shown) {
          if (words(s).trim() === '' || words(name).includes(words(s))) continue
          out.push({
            target: el.localName + (el.id ? '#' + el.id : ''),
            shown: s.replace(/\\s+/g, ' ').trim(),
            name,
          })
        }
      }
      return out
    })()`,
  )
  return mismatched.map((m) => ({
    screen,
    id: 'label-in-name',
    impact: 'serious',
    help: `shows “${m.shown}” but is named “${m.name}”`,
    targets: [m.target],
  }))
}
