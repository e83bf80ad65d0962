// Holds back the page's answer to one API call: the request goes to Midwife and is answered
// there at once (so what the answer holds is read now), but the page gets it only on release().
// How e2e tests make an answer land after the events of what followed it.
import type { Page } from 'playwright-core'

export interface HeldAnswer {
  /** Resolves once Midwife has answered the held request (its snapshot is read). */
  read: Promise<void>
  /** Hands the answer to the page, then stops holding that route. */
  release(): Promise<void>
}

/** Holds the first answer to `/api/<method>` from now on; later calls pass. */
export async function holdAnswer(page: Page, method: string): Promise<HeldAnswer> {
  const pattern = `**/api/${method}`
  let release = () => undefined as void
  const held = new Promise<void>((r) => (release = r))
  let wasRead = () => undefined as void
  const read = new Promise<void>((r) => (wasRead = r))
  let first = true
  let delivered = () => undefined as void
  const done = new Promise<void>((r) => (delivered = r))
  await page.route(pattern, async (route) => {
    const response = await route.fetch()
    if (!first) return route.fulfill({ response })
    first = false
    wasRead()
    await held
    await route.fulfill({ response })
    delivered()
  })
  return {
    read,
    async release() {
      release()
      await done
      await page.unroute(pattern)
    },
  }
}
