import { join } from 'node:path'
import type { Host } from '../../main/contract/schemas'
import type { App } from '../../main/core/app'
import { hostToken, repoRoot } from './app'
import type { SimHost } from './esxi-host'

export const clientScript = join(repoRoot, 'resources', 'client', 'checkin.sh')

/** The host runs the real check-in client against the app's listener; returns the check-in id. */
export async function checkIn(app: App, esx: SimHost, host: Host): Promise<number> {
  const run = await esx.sh([clientScript], {
    MIDWIFE_URL: app.listenerUrl(),
    MIDWIFE_TOKEN: hostToken(app, host.id),
    MIDWIFE_ATTEMPTS: '2',
    MIDWIFE_BACKOFF: '1',
  })
  if (run.code !== 0) throw new Error(`check-in failed (${run.code}): ${run.stderr}`)
  const id = /"checkinId":(\d+)/.exec(run.stderr)?.[1]
  if (!id) throw new Error(`no check-in id in: ${run.stderr}`)
  return Number(id)
}

/** Plans the host and approves that plan, as the UI does; returns the queued run. */
export async function approve(app: App, hostId: number) {
  const plan = await app.planHost(hostId)
  return app.approveHost(hostId, plan.id)
}

/** Plans, approves and waits for the run to end; returns the finished run as the API shows it. */
export async function approveAndWait(app: App, hostId: number) {
  const run = await approve(app, hostId)
  await app.idle()
  return app.getRun(run.id)
}
