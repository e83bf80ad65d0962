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
