// The real resources/client/checkin.sh, run by BusyBox ash with only the
// applets ESXi has, against the real listener on loopback. The simulated
// host's wget drops connections the ESXi firewall would drop.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { App } from '../../main/core/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import {
  freePort,
  artifactText,
  hostToken,
  memoryLogger,
  repoRoot,
  sampleHost,
  startTestApp,
  tempDir,
  type TestApp,
} from '../support/app'

const client = join(repoRoot, 'resources', 'client', 'checkin.sh')
let t: TestApp
let esx: SimHost
let token: string
let hostId: number

beforeEach(async () => {
  t = await startTestApp()
  esx = await createSimHost()
  const host = t.app.saveHost({ ...sampleHost, mac: esx.state().nics[0]?.mac as string })
  hostId = host.id
  token = hostToken(t.app, host.id)
})
afterEach(async () => {
  await t.close()
  await esx.close()
})

const fast = { MIDWIFE_ATTEMPTS: '3', MIDWIFE_BACKOFF: '1', MIDWIFE_TIMEOUT: '5' }

/** checkin.sh once, to a listener on port 80 where nothing listens (127.0.0.9). */
const checkInOnPort80 = () =>
  esx.sh([client], {
    MIDWIFE_URL: 'http://127.0.0.9',
    MIDWIFE_TOKEN: token,
    ...fast,
    MIDWIFE_ATTEMPTS: '1',
  })

function fingerprintOf(pubPath: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubPath, '-E', 'sha256'], { encoding: 'utf8' }).split(
    ' ',
  )[1] as string
}

describe('checkin.sh under BusyBox', () => {
  it('reports the host and its SSH host keys, opening the firewall only for the call', async () => {
    const run = await esx.sh([client], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_TOKEN: token,
      ...fast,
    })
    expect(run.stderr).toContain('midwife-checkin: checked in with')
    expect(run.code).toBe(0)

    const [c] = t.app.listCheckins(hostId)
    const sim = esx.state()
    const host = t.app.getHost(hostId)
    expect(host.state).toBe('checked_in')
    expect(host.identity?.how).toBe('first_checkin')
    expect(c?.nics.map((n) => n.mac)).toEqual(sim.nics.map((n) => n.mac))
    expect(c?.managementIp).toBe('127.0.0.1')
    expect(c?.esxiVersion).toBe(sim.version.version)
    expect(c?.serial).toBe(sim.platform.serialNumber)
    expect(c?.sshHostKeys.map((k) => k.fingerprint).sort()).toEqual(
      [
        fingerprintOf(`${esx.hostKeys.rsa.privatePath}.pub`),
        fingerprintOf(`${esx.hostKeys.ecdsa.privatePath}.pub`),
      ].sort(),
    )

    // Off for the call, back on after: the firewall is as the client found it.
    expect(sim.firewall.enabled).toBe(true)
    const toggles = sim.log.filter((l) => l.startsWith('esxcli network firewall set'))
    expect(toggles).toEqual([
      'esxcli network firewall set --enabled false',
      'esxcli network firewall set --enabled true',
    ])
  })

  // esxi.md says the .pub files sit beside the host keys, not how they end: one whose line has
  // no newline after it is still reported (ash's read returns non-zero at such an end).
  it('reports host keys whose .pub file does not end with a newline, or ends with a CR', async () => {
    const pubs = [esx.hostKeys.rsa, esx.hostKeys.ecdsa].map((k) => `${k.privatePath}.pub`)
    const wanted = pubs.map(fingerprintOf).sort()
    writeFileSync(pubs[0] as string, readFileSync(pubs[0] as string, 'utf8').trimEnd())
    writeFileSync(pubs[1] as string, `${readFileSync(pubs[1] as string, 'utf8').trimEnd()}\r\n`)
    const run = await esx.sh([client], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_TOKEN: token,
      ...fast,
    })
    expect(run.stderr).not.toContain('no SSH host public key')
    expect(run.code).toBe(0)
    const [c] = t.app.listCheckins(hostId)
    expect(c?.sshHostKeys.map((k) => k.fingerprint).sort()).toEqual(wanted)
  })

  it('opens the firewall when its state reads with a trailing blank and CR, and when it cannot be read', async () => {
    for (const quirks of [{ lineEnds: 'padded-crlf' as const }, { unlisted: 'absent' as const }]) {
      esx.update((s) => {
        Object.assign(s.quirks, quirks)
        s.log = []
        // And `firewall get` fails: the client cannot read whether the firewall is on.
        if (quirks.unlisted) {
          s.faults.push({
            match: 'esxcli network firewall get',
            stdout: 'Error: Unable to get firewall status',
            code: 1,
          })
        }
      })
      const run = await esx.sh([client], {
        MIDWIFE_URL: t.listenerUrl,
        MIDWIFE_TOKEN: token,
        ...fast,
      })
      expect(run.code, JSON.stringify(quirks)).toBe(0)
      // Off for the call, then on: a firewall Midwife cannot read is taken as on.
      expect(esx.state().log.filter((l) => l.startsWith('esxcli network firewall set'))).toEqual([
        'esxcli network firewall set --enabled false',
        'esxcli network firewall set --enabled true',
      ])
      expect(esx.state().firewall.enabled).toBe(true)
    }
  })

  it('leaves httpClient on after the call when it cannot read whether it was on before', async () => {
    esx.update((s) => {
      s.quirks.unlisted = 'absent'
      s.firewall.rulesets.httpClient = true
    })
    const run = await checkInOnPort80()
    expect(run.code).toBe(1)
    expect(esx.state().log).not.toContain(
      'esxcli network firewall ruleset set -r httpClient -e false',
    )
    expect(esx.state().firewall.rulesets.httpClient).toBe(true)
  })

  it('is dropped by the ESXi firewall without that handling (the simulator enforces it)', async () => {
    const run = await esx.sh(['-c', `wget -q -O - ${t.listenerUrl}/`], {}, 20_000)
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain('Connection timed out')
  })

  it('uses the httpClient ruleset, not the whole firewall, for a listener on port 80', async () => {
    // Nothing listens on 127.0.0.9:80 here; what matters is which door the client opens.
    const run = await checkInOnPort80()
    expect(run.code).toBe(1)
    const log = esx.state().log
    expect(log).toContain('esxcli network firewall ruleset set -r httpClient -e true')
    expect(log).toContain('esxcli network firewall ruleset set -r httpClient -e false')
    expect(log.some((l) => l.startsWith('esxcli network firewall set'))).toBe(false)
    expect(esx.state().firewall.rulesets.httpClient).toBe(false)
  })

  it('gives up at once on a refused token, with a message, storing nothing', async () => {
    const run = await esx.sh([client], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_TOKEN: 'W'.repeat(43),
      ...fast,
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      /the listener refused this host's deployment token \(MIDWIFE_TOKEN\): .*401/,
    )
    expect(run.stderr).not.toContain('retrying')
    expect(t.app.listCheckins(hostId)).toEqual([])
    expect(esx.state().firewall.enabled).toBe(true)
  })

  it('names the enrollment key, and where it came from, when that is what is refused', async () => {
    const given = await esx.sh([client], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_ENROLL: 'K'.repeat(43),
      ...fast,
    })
    expect(given.code).toBe(1)
    expect(given.stderr).toMatch(
      /the listener refused this host's enrollment key \(MIDWIFE_ENROLL\): .*401/,
    )
    expect(given.stderr).not.toContain('K'.repeat(43))

    esx.update((s) => (s.bootCmdLine = `runweasel PBKEY=${'P'.repeat(43)}`))
    const booted = await esx.sh([client], { MIDWIFE_URL: t.listenerUrl, ...fast })
    expect(booted.code).toBe(1)
    expect(booted.stderr).toMatch(
      /the listener refused this host's enrollment key \(PBKEY= on its boot line\): .*401/,
    )
    expect(booted.stderr).not.toContain('retrying')
    expect(t.app.listHosts().filter((h) => h.state === 'discovered')).toEqual([])
  })

  it('gives up on a report the listener refuses as malformed', async () => {
    esx.update((s) =>
      s.faults.push({
        match: 'esxcli network nic list',
        stdout: 'Error: simulated failure',
        code: 1,
      }),
    )
    const run = await esx.sh([client], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_TOKEN: token,
      ...fast,
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/the listener refused the report: .*400/)
    expect(t.app.listCheckins(hostId)).toEqual([])
  })

  it('retries with backoff, then exits non-zero with the last error when nobody answers', async () => {
    const port = await freePort()
    const run = await esx.sh([client], {
      MIDWIFE_URL: `http://127.0.0.1:${port}`,
      MIDWIFE_TOKEN: token,
      ...fast,
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('attempt 1 failed')
    expect(run.stderr).toContain('retrying in 1s')
    expect(run.stderr).toContain('retrying in 2s')
    expect(run.stderr).toMatch(/giving up after 3 attempts; last error: .*refused/)
    expect(esx.state().firewall.enabled).toBe(true)
  })

  it('gets through once the listener comes up while it is retrying', async () => {
    const late = await downListener()
    const running = esx.sh([client], {
      MIDWIFE_URL: `http://127.0.0.1:${late.port}`,
      MIDWIFE_TOKEN: late.token,
      MIDWIFE_ATTEMPTS: '6',
      MIDWIFE_BACKOFF: '1',
      MIDWIFE_TIMEOUT: '5',
    })
    await firstAttemptMade()
    const second = await late.start()
    const run = await running
    try {
      expect(run.stderr).toContain('attempt 1 failed')
      expect(run.code).toBe(0)
      expect(second.listCheckins(late.hostId)).toHaveLength(1)
    } finally {
      await second.stop()
      late.remove()
    }
  })

  it('checks in where timeout takes -t SECS (BusyBox before 1.30), not SECS alone', async () => {
    esx.update((s) => (s.quirks.timeoutArgs = 'dash-t'))
    const run = await esx.sh([client], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_TOKEN: token,
      ...fast,
    })
    expect(run.stderr).not.toContain("can't execute")
    expect(run.stderr).toContain('midwife-checkin: checked in with')
    expect(run.code).toBe(0)
    expect(t.app.listCheckins(hostId)).toHaveLength(1)
  })

  it('on a host without sleep, still waits between attempts and gets through', async () => {
    esx.update((s) => (s.quirks.sleep = 'absent'))
    const late = await downListener()
    const running = esx.sh([client], {
      MIDWIFE_URL: `http://127.0.0.1:${late.port}`,
      MIDWIFE_TOKEN: late.token,
      MIDWIFE_ATTEMPTS: '4',
      MIDWIFE_BACKOFF: '1',
      MIDWIFE_TIMEOUT: '5',
    })
    await firstAttemptMade()
    // Up 3 s after the first attempt: waiting 1, 2 and 4 s, the client is still trying;
    // a client that did not wait would have spent its attempts by then.
    await new Promise((r) => setTimeout(r, 3_000))
    const second = await late.start()
    const run = await running
    try {
      expect(run.stderr).toContain('retrying in 2s')
      expect(run.code).toBe(0)
      expect(second.listCheckins(late.hostId)).toHaveLength(1)
    } finally {
      await second.stop()
      late.remove()
    }
  })
})

/** A data folder whose listener is down when the host first calls; start() brings it up. */
async function downListener() {
  const data = tempDir('late')
  const opts = {
    dataDir: data.path,
    resourcesDir: join(repoRoot, 'resources'),
    version: 'test',
    logger: memoryLogger(),
  }
  const port = await freePort()
  const first = await App.start({ ...opts, listen: { host: '127.0.0.1', port } })
  const hostId = first.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' }).id
  const token = hostToken(first, hostId)
  await first.stop()
  return {
    port,
    hostId,
    token,
    start: () => App.start({ ...opts, listen: { host: '127.0.0.1', port } }),
    remove: () => data.remove(),
  }
}

/** Resolves once checkin.sh's first attempt is over (it puts the firewall back after each). */
async function firstAttemptMade() {
  const deadline = Date.now() + 20_000
  while (!esx.state().log.includes('esxcli network firewall set --enabled true')) {
    if (Date.now() > deadline) throw new Error('the client never made its first attempt')
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('boot material run on the host', () => {
  it('the one-liner fetches the personal client and checks in, restoring the firewall', async () => {
    const material = t.app.getBootMaterial(t.app.listHosts()[0]?.id as number)
    const oneLiner = artifactText(material, 'one-liner').trim()
    const run = await esx.sh(['-c', oneLiner], fast)
    expect(run.stderr).toContain('checked in')
    expect(run.code).toBe(0)
    expect(t.app.listCheckins(hostId)).toHaveLength(1)
    expect(esx.state().firewall.enabled).toBe(true)
  })

  it("the kickstart's %firstboot enables SSH and checks in", async () => {
    const ks = await (await fetch(`${t.listenerUrl}/ks/${token}.cfg`)).text()
    const firstboot = ks.slice(ks.indexOf('\n', ks.indexOf('%firstboot --interpreter=busybox')) + 1)
    esx.update((s) => (s.services.ssh = { enabled: false, running: false }))
    const run = await esx.sh(['-c', firstboot], fast)
    expect(run.stderr).toContain('checked in')
    expect(run.code).toBe(0)
    const sim = esx.state()
    expect(sim.services.ssh).toEqual({ enabled: true, running: true })
    expect(sim.advanced['/UserVars/SuppressShellWarning']).toBe(1)
    expect(t.app.listCheckins(hostId)).toHaveLength(1)
  })
})
