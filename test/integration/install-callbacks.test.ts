// The kickstart's %pre and %post callbacks, their real text run by BusyBox
// ash with only ESXi's applets and the simulator's esxcli/vsish (whose wget
// drops what ESXi's firewall drops), against a loopback HTTP server.
import { chmodSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  InstallReport,
  installCallbackPath,
  postSection,
  preSection,
  sectionScript,
  type InstallCallbackOptions,
} from '../../main/core/boot/install-callbacks'
import { freePort } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'

const TOKEN = 'tok_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd'

interface Received {
  method: string
  path: string
  type: string
  body: string
}

let esx: SimHost
let server: Server
let port: number
let received: Received[]
let answer: { status: number; body: string }
/** Answers for the next requests, one each, before `answer`. */
let queued: Array<{ status: number; body: string }>

beforeEach(async () => {
  esx = await createSimHost()
  received = []
  answer = { status: 200, body: '{"accepted":true}' }
  queued = []
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        type: String(req.headers['content-type']),
        body: Buffer.concat(chunks).toString('utf8'),
      })
      const a = queued.shift() ?? answer
      res.writeHead(a.status, { 'Content-Type': 'application/json' })
      res.end(a.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await esx.close()
})

const options = (over: Partial<InstallCallbackOptions> = {}): InstallCallbackOptions => ({
  listener: { address: '127.0.0.1', port },
  token: TOKEN,
  timeoutSeconds: 5,
  attempts: 2,
  retrySeconds: 0,
  ...over,
})

async function until(done: () => boolean) {
  const deadline = Date.now() + 20_000
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Runs a section's script as the installer would, under the simulated host's BusyBox. */
async function runSection(section: string, env: Record<string, string> = {}) {
  const file = join(esx.dir, 'section.sh')
  writeFileSync(file, sectionScript(section))
  return esx.sh([file], env)
}

describe('%pre', () => {
  it('reports installing over plain HTTP, opening the firewall only for the call', async () => {
    const section = preSection(options())
    expect(section.split('\n')[0]).toBe('%pre --interpreter=busybox')
    const run = await runSection(section)
    expect(run.stdout).toContain('midwife: reported installing')
    expect(run.code).toBe(0)
    expect(received).toHaveLength(1)
    const [r] = received
    expect(r).toMatchObject({
      method: 'POST',
      path: installCallbackPath(TOKEN, 'installing'),
      type: 'application/json',
    })
    const report = InstallReport.parse(JSON.parse(r?.body ?? ''))
    expect(report.state).toBe('installing')
    for (const nic of esx.state().nics) expect(report.outputs.nicList).toContain(nic.mac)
    // The listener is not on 80/443: the firewall was off for the call, and is back on.
    const sim = esx.state()
    expect(sim.firewall.enabled).toBe(true)
    expect(sim.log.filter((l) => l.startsWith('esxcli network firewall set'))).toEqual([
      'esxcli network firewall set --enabled false',
      'esxcli network firewall set --enabled true',
    ])
  })

  it('opens the firewall when its state reads with a trailing blank and CR', async () => {
    esx.update((s) => (s.quirks.lineEnds = 'padded-crlf'))
    const run = await runSection(preSection(options()))
    expect(run.stdout).toContain('midwife: reported installing')
    expect(esx.state().log.filter((l) => l.startsWith('esxcli network firewall set'))).toEqual([
      'esxcli network firewall set --enabled false',
      'esxcli network firewall set --enabled true',
    ])
  })
})

describe('the firewall for a listener on port 80', () => {
  // Nothing listens on 127.0.0.9:80 here. The simulator drops what the firewall drops (wget
  // then times out); through the open door, wget is refused, or answered if something is there.
  const on80 = () => options({ listener: { address: '127.0.0.9', port: 80 }, attempts: 1 })
  const toggles = () =>
    esx.state().log.filter((l) => l.startsWith('esxcli network firewall') && l.includes(' set '))

  it('opens the httpClient ruleset for the call, not the whole firewall, and closes it after', async () => {
    const run = await runSection(preSection(on80()))
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('midwife: could not report installing after 1 attempts')
    expect(run.stdout).not.toContain('timed out')
    expect(toggles()).toEqual([
      'esxcli network firewall ruleset set -r httpClient -e true',
      'esxcli network firewall ruleset set -r httpClient -e false',
    ])
    expect(esx.state().firewall).toMatchObject({ enabled: true, rulesets: { httpClient: false } })
  })

  it('leaves an httpClient ruleset that was already on as it was', async () => {
    esx.update((s) => (s.firewall.rulesets.httpClient = true))
    const run = await runSection(postSection(on80()))
    expect(run.stdout).not.toContain('timed out')
    expect(toggles()).toEqual([])
    expect(esx.state().firewall.rulesets.httpClient).toBe(true)
  })

  it('leaves httpClient on when it cannot read whether it was on before', async () => {
    esx.update((s) => (s.quirks.unlisted = 'absent'))
    const run = await runSection(postSection(on80()))
    expect(run.code).toBe(0)
    expect(toggles()).toEqual(['esxcli network firewall ruleset set -r httpClient -e true'])
    expect(esx.state().firewall.rulesets.httpClient).toBe(true)
  })
})

describe('%post', () => {
  it('reports installed with what the installer can read: MACs, serial, UUID, address, boot line', async () => {
    const section = postSection(options())
    expect(section.split('\n')[0]).toBe(
      '%post --interpreter=busybox --ignorefailure=true --timeout=70',
    )
    esx.update((s) => {
      s.bootCmdLine = `runweasel ks=http://127.0.0.1:${port}/ks/${TOKEN}.cfg BOOTIF=01-00-50-56-aa-bb-01`
    })
    const run = await runSection(section)
    expect(run.code).toBe(0)
    const report = InstallReport.parse(JSON.parse(received[0]?.body ?? ''))
    const sim = esx.state()
    expect(received[0]?.path).toBe(`/install/${TOKEN}/installed`)
    expect(report.state).toBe('installed')
    expect(report.outputs.platform).toContain(sim.platform.serialNumber)
    expect(report.outputs.platform).toContain(sim.platform.uuid)
    expect(report.outputs.ipv4).toContain(sim.vmknics[0]?.ipv4.address)
    expect(report.outputs.bootCmdLine).toContain('BOOTIF=01-00-50-56-aa-bb-01')
    // This environment has no secureBoot.py: the state is unknown, not guessed.
    expect(report.secureBoot).toBe('unknown')
  })

  it('reports Secure Boot as the host tool prints it', async () => {
    for (const [printed, expected] of [
      ['Enabled', 'on'],
      ['Disabled', 'off'],
    ] as const) {
      received = []
      const tool = join(esx.dir, `secureBoot-${printed}.py`)
      writeFileSync(tool, `#!/bin/busybox sh\n[ "$1" = -s ] && echo ${printed}\n`)
      chmodSync(tool, 0o755)
      await runSection(postSection(options()), { MIDWIFE_SECUREBOOT_TOOL: tool })
      expect(InstallReport.parse(JSON.parse(received[0]?.body ?? '')).secureBoot).toBe(expected)
    }
  })

  it('never fails the install: retries, gives up, exits 0 when the listener is gone', async () => {
    const closed = await freePort()
    const run = await runSection(
      postSection(options({ listener: { address: '127.0.0.1', port: closed } })),
    )
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('midwife: could not report installed after 2 attempts')
    // Each attempt opened the firewall and closed it again.
    const toggles = esx.state().log.filter((l) => l.startsWith('esxcli network firewall set'))
    expect(toggles).toHaveLength(4)
    expect(esx.state().firewall.enabled).toBe(true)
  })

  it('waits between attempts on a host without sleep', async () => {
    esx.update((s) => (s.quirks.sleep = 'absent'))
    answer = { status: 503, body: '{"error":"starting"}' }
    const running = runSection(postSection(options({ retrySeconds: 3 })))
    // The listener is ready 1.5 s after the first call: only a section that waited gets through.
    await until(() => received.length > 0)
    await new Promise((r) => setTimeout(r, 1_500))
    answer = { status: 200, body: '{"accepted":true}' }
    const run = await running
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('midwife: reported installed')
    expect(received).toHaveLength(2)
  })

  it('reports, and waits between attempts without sleep, where timeout takes -t SECS (BusyBox before 1.30)', async () => {
    esx.update((s) => {
      s.quirks.timeoutArgs = 'dash-t'
      s.quirks.sleep = 'absent'
    })
    answer = { status: 503, body: '{"error":"starting"}' }
    const running = runSection(postSection(options({ retrySeconds: 3 })))
    await until(() => received.length > 0)
    await new Promise((r) => setTimeout(r, 1_500))
    answer = { status: 200, body: '{"accepted":true}' }
    const run = await running
    expect(run.stderr).not.toContain("can't execute")
    expect(run.stdout).toContain('midwife: reported installed')
    expect(received).toHaveLength(2)
  })

  it('stops at once when the listener refuses the token', async () => {
    answer = { status: 410, body: '{"error":"this token is spent"}' }
    const run = await runSection(postSection(options({ attempts: 5 })))
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('the listener refused the installed report')
    expect(received).toHaveLength(1)
  })

  it('tries again when the listener is rate-limiting, as checkin.sh does', async () => {
    // A rack installing at once shares one enrollment key (the generic kickstart): a 429 is
    // "later", not "no", and a report given up on leaves that server installing again.
    queued = [{ status: 429, body: '{"error":"too many requests"}' }]
    const run = await runSection(postSection(options({ attempts: 3 })))
    expect(run.stdout).toContain('midwife: reported installed')
    expect(run.stdout).not.toContain('refused')
    expect(received).toHaveLength(2)
  })

  it('escapes awkward output into valid JSON', async () => {
    esx.update((s) => {
      s.platform.productName = 'Box "quoted" \\ back\ttab'
    })
    await runSection(postSection(options()))
    const report = InstallReport.parse(JSON.parse(received[0]?.body ?? ''))
    expect(report.outputs.platform).toContain('Box "quoted" \\ back\ttab')
  })
})

describe('the generator', () => {
  it('refuses a DNS name, a short or unsafe token', () => {
    expect(() =>
      preSection(options({ listener: { address: 'midwife.lab.local', port: 80 } })),
    ).toThrow(/IPv4/)
    expect(() => preSection(options({ token: 'short' }))).toThrow('URL-safe')
    expect(() => preSection(options({ token: `${TOKEN}';reboot;'` }))).toThrow('URL-safe')
  })

  it('gives the %post time for every attempt', () => {
    const post = postSection(options({ attempts: 5, timeoutSeconds: 20, retrySeconds: 5 }))
    expect(post.split('\n')[0]).toBe(
      '%post --interpreter=busybox --ignorefailure=true --timeout=185',
    )
  })
})
