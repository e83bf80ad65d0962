// A real `midwife serve`, a fleet of simulated servers (each with its own sshd, from
// bench/fanout) and Chromium on the UI: what the e2e tests that run hosts share.
import type { Page } from 'playwright-core'
import { postCheckin, startFleet, tokenOf, type Fleet } from '../../bench/fanout/fleet'
import type { Host, HostInput } from '../../main/contract/schemas'
import { loadState, saveState, withStateLock, type SimState } from '../esxi-sim/state'
import { freePort } from './app'
import { openBrowser, type Browser } from './browser'
import { startServeProcess, type ServeProcess } from './serve-process'

export interface FleetUi {
  serve: ServeProcess
  fleet: Fleet
  browser: Browser
  page: Page
}

/**
 * Starts serve mode on `dataDir` and `count` simulated servers taking `password`; `before`
 * (defining hosts, checking them in) runs before Chromium opens the UI.
 */
export async function startFleetUi(
  dataDir: string,
  count: number,
  password: string,
  before?: (serve: ServeProcess, fleet: Fleet) => Promise<void>,
): Promise<FleetUi> {
  const serve = await startServeProcess(dataDir, ['--port', String(await freePort())])
  let fleet: Fleet | undefined
  try {
    fleet = await startFleet(count, 0, password)
    await before?.(serve, fleet)
    const browser = await openBrowser(new URL(serve.url).origin)
    return { serve, fleet, browser, page: browser.page }
  } catch (err) {
    serve.child.kill('SIGTERM')
    fleet?.stop()
    throw err
  }
}

/** Closes what startFleetUi started, whatever of it did start, and removes the data folder. */
export async function stopFleetUi(
  ui: Partial<FleetUi> | undefined,
  data: { remove(): void },
): Promise<void> {
  await ui?.browser?.close()
  ui?.serve?.child.kill('SIGTERM')
  ui?.fleet?.stop()
  data.remove()
}

/** Defines a host for simulated server `n` and checks it in with its token. */
export async function defineCheckedIn(
  { serve, fleet }: { serve: ServeProcess; fleet: Fleet },
  n: number,
  input: Omit<HostInput, 'mac' | 'sshPort'>,
): Promise<Host> {
  const sim = fleet.hosts[n]
  if (!sim) throw new Error(`no simulated server ${n}`)
  const { listener } = await serve.api.getStatus()
  const host = await serve.api.saveHost({ ...input, mac: sim.mac, sshPort: sim.port })
  const material = await serve.api.getBootMaterial(host.id)
  await postCheckin(listener.advertisedUrl, tokenOf(material.kickstartUrl), sim)
  return host
}

/** Changes simulated server `n`'s state file (its sshd reads it on every command). */
export function editSim(fleet: Fleet, n: number, edit: (s: SimState) => void): Promise<void> {
  const statePath = fleet.hosts[n]?.statePath
  if (!statePath) throw new Error(`no simulated server ${n}`)
  return withStateLock(statePath, () => {
    const st = loadState(statePath)
    edit(st)
    saveState(statePath, st)
  })
}
