// Configuration through a real OpenSSH server (PAM keyboard-interactive,
// BusyBox ash login shell, ESXi's applets and the esxcli shims on PATH), so
// what Midwife sends survives a real shell, not just the simulator's parser.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Host } from '../../main/contract/schemas'
import { generateHostKeys } from '../esxi-sim/shims'
import { hostToken, sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn, clientScript } from '../support/flow'
import { ESX_USER, startOpenSsh, type OpenSshHost } from '../support/openssh'

let t: TestApp
let esx: SimHost
let sshd: OpenSshHost
let host: Host

beforeAll(async () => {
  t = await startTestApp()
  esx = await createSimHost()
  sshd = await startOpenSsh(esx)
  host = define(sshd.password)
})

/** The host definition pointing at this sshd, with the given root password. */
function define(rootPassword: string): Host {
  return t.app.saveHost({
    ...sampleHost,
    ...(host ? { id: host.id } : {}),
    mac: esx.state().nics[0]?.mac as string,
    sshUser: ESX_USER,
    sshPort: sshd.port,
    rootPassword,
  })
}
afterAll(async () => {
  await sshd?.stop()
  await t?.close()
  await esx?.close()
})

describe('configuration over SSH (real OpenSSH, BusyBox login shell)', () => {
  it('refuses a wrong password: the connect step fails and nothing runs', async () => {
    define('Not-it-4u!')
    await checkIn(t.app, esx, host)
    const before = esx.state().log.length
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      `SSH login as ${ESX_USER}@127.0.0.1:${sshd.port} was refused: wrong password or user (keyboard-interactive). Set the host's root password under Hosts, Edit`,
    )
    expect(esx.state().log.length).toBe(before)
    define(sshd.password)
  })

  it('refuses a host key other than the ones bound to the host', async () => {
    // Re-armed for a reinstall, the host binds the keys of its next check-in,
    // which reports keys from another machine than the sshd answering.
    t.app.reinstallHost(host.id)
    const otherKeys = join(esx.dir, 'other-keys')
    mkdirSync(otherKeys)
    generateHostKeys(otherKeys)
    const run0 = await esx.sh([clientScript], {
      MIDWIFE_URL: t.app.listenerUrl(),
      MIDWIFE_TOKEN: hostToken(t.app, host.id),
      MIDWIFE_SSH_KEY_DIR: otherKeys,
    })
    expect(run0.code).toBe(0)
    expect(t.app.getHost(host.id).state).toBe('checked_in')
    const before = esx.state().log.length
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /the SSH host key presented by 127\.0\.0\.1:\d+ \(SHA256:.+\) is not one bound to this host/,
    )
    expect(esx.state().log.length).toBe(before)
  })

  it('needs the new keys trusted, then sets hostname, DNS and NTP and verifies them', async () => {
    // The server now reports its real keys: not the bound ones, so it waits for the operator.
    await checkIn(t.app, esx, host)
    const waiting = t.app.getHost(host.id)
    expect(waiting.state).toBe('needs_attention')
    expect(waiting.attention?.reason).toBe('identity_changed')
    await expect(t.app.planHost(host.id)).rejects.toThrow(/cannot plan/)
    t.app.trustReported(host.id)
    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toBeNull()
    expect(run.steps.map((s) => [s.key, s.state])).toEqual([
      ['connect', 'done'],
      ['hostname', 'done'],
      ['dns', 'done'],
      ['ntp', 'done'],
    ])
    const sim = esx.state()
    expect(`${sim.hostname}.${sim.domain}`).toBe('esx01.lab.local')
    expect(sim.dns.servers).toEqual(sampleHost.spec.dns)
    expect(sim.ntp).toEqual({ enabled: true, servers: sampleHost.spec.ntp.servers })
    expect(sim.firewall.rulesets.ntpClient).toBe(true)
    // The shell really ran the shims: every command reached the host's log.
    expect(sim.log).toContain('esxcli system hostname set --host=esx01 --domain=lab.local')
  })
})
