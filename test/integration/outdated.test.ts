// A configured host whose wanted values change afterwards (the site profile, or its own
// definition) stays configured, as verified then, and says what changed and what to do,
// until a run applies it.
import { afterEach, expect, it } from 'vitest'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn } from '../support/flow'

let t: TestApp | undefined
let esx: SimHost | undefined
afterEach(async () => {
  await t?.close()
  await esx?.close()
  t = esx = undefined
})

it('says a configured host is behind its profile or definition, until its next run', async () => {
  t = await startTestApp()
  esx = await createSimHost()
  const ssh = await esx.startSsh(sampleHost.rootPassword)
  const host = t.app.saveHost({
    ...sampleHost,
    mac: esx.state().nics[0]?.mac as string,
    sshPort: ssh.port,
  })
  await checkIn(t.app, esx, host)
  expect((await approveAndWait(t.app, host.id)).state).toBe('done')
  const configured = t.app.getHost(host.id)
  expect(configured.state).toBe('configured')

  // A profile value the host does not override.
  t.app.saveProfile({ spec: { dnsSearch: ['lab.local'] } })
  expect(t.app.getHost(host.id)).toMatchObject({
    state: 'configured',
    stateReason:
      'configured by its last run; the site profile has changed DNS search domains since: approve it again to apply it',
  })
  // Its own definition.
  const { rootPassword: _kept, ...noPassword } = sampleHost
  t.app.saveHost({
    ...noPassword,
    id: host.id,
    mac: configured.definition?.mac as string,
    sshPort: ssh.port,
    spec: { ...sampleHost.spec, dns: ['10.0.0.2'] },
  })
  expect(t.app.getHost(host.id).stateReason).toBe(
    'configured by its last run; its definition has changed DNS servers since: approve it again to apply it',
  )
  expect(t.app.hostAudit(host.id).map((e) => e.summary)).toContain(
    'its wanted values changed since its last run (its definition: dns): it stays configured as verified then',
  )
  // A change that is no change says nothing.
  const before = t.app.getHost(host.id).stateReason
  t.app.saveProfile({ spec: { dnsSearch: ['lab.local'] } })
  expect(t.app.getHost(host.id).stateReason).toBe(before)

  // Its next run applies them, and the host is simply configured again.
  expect((await approveAndWait(t.app, host.id)).state).toBe('done')
  expect(t.app.getHost(host.id).stateReason).toMatch(/every setting applied and verified$/)
})
