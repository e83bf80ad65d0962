import { createSubscriber } from 'svelte/reactivity'

// One timer for every growing duration on screen: it runs while at least one
// effect or template reads `now()`, and stops when the last reader goes (the
// step finished, the drawer closed), so nothing ticks when nothing runs.
const subscribe = createSubscriber((update) => {
  const timer = setInterval(update, 1000)
  return () => clearInterval(timer)
})

/** The time now; read in a template or effect, it is read again once a second. */
export function now(): number {
  subscribe()
  return Date.now()
}
