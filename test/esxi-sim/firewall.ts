import type { SimState } from './state'

/** The outbound rule of esxi.md: only httpClient opens anything, and only TCP 80/443. */
export function firewallDropsOutbound(firewall: SimState['firewall'], port: number): boolean {
  if (!firewall.enabled) return false
  return !((port === 80 || port === 443) && firewall.rulesets.httpClient === true)
}
