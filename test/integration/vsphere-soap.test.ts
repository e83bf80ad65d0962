// The vSphere SOAP client against an in-process HTTPS fake of the host's
// API (real TLS and HTTP on loopback), for the Secure Boot path.
import { createServer } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  enableSshOverVsphere,
  normalizeFingerprint,
  VsphereClient,
  VsphereError,
} from '../../main/core/vsphere/client'
import { buildRequest, parseResponse } from '../../main/core/vsphere/soap'
import { notYetWords, waitForHttps, WaitTimeoutError } from '../../main/core/vsphere/wait'
import { freePort } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { startFakeVsphere, type FakeVsphere } from '../support/vsphere-fake'

// Characters XML must escape, to prove the envelope is built, not concatenated.
const PASSWORD = `Pa<ss>&"wo'rd1`
let fake: FakeVsphere

beforeEach(async () => {
  fake = await startFakeVsphere({ password: PASSWORD })
})
afterEach(() => fake.close())

const target = (over: Partial<Parameters<typeof enableSshOverVsphere>[0]> = {}) => ({
  address: '127.0.0.1',
  port: fake.port,
  expectedSha256: fake.fingerprint,
  ...over,
})

async function failure(p: Promise<unknown>): Promise<VsphereError> {
  try {
    await p
  } catch (err) {
    if (err instanceof VsphereError) return err
    throw err
  }
  throw new Error('expected a VsphereError')
}

describe('enableSshOverVsphere', () => {
  it('logs in and turns SSH on and starts it, with the expected certificate', async () => {
    const r = await enableSshOverVsphere(target(), { userName: 'root', password: PASSWORD })
    expect(fake.calls).toEqual([
      'RetrieveServiceContent',
      'Login',
      'UpdateServicePolicy',
      'StartService',
    ])
    expect(r.calls).toEqual(fake.calls)
    expect(fake.ssh).toEqual({ policy: 'on', running: true })
    expect(r.about).toMatchObject({
      fullName: 'VMware ESXi 8.0.2 build-22380479',
      apiVersion: '8.0.2.0',
    })
    expect(r.fingerprint).toBe(fake.fingerprint)
    expect(r.pinnedOnFirstContact).toBe(false)
    // The first call uses a version every host knows; the rest the host's own.
    expect(fake.soapActions).toEqual([
      'urn:vim25/7.0',
      'urn:vim25/8.0.2.0',
      'urn:vim25/8.0.2.0',
      'urn:vim25/8.0.2.0',
    ])
  })

  it('drives a host that answers only what esxi.md names: no `about`, its own session cookie name', async () => {
    const bare = await startFakeVsphere({ password: PASSWORD, bare: true })
    try {
      const r = await enableSshOverVsphere(
        { address: '127.0.0.1', port: bare.port, expectedSha256: bare.fingerprint },
        { userName: 'root', password: PASSWORD },
      )
      expect(bare.ssh).toEqual({ policy: 'on', running: true })
      expect(r.about.fullName).toBe('the host')
      expect(bare.soapActions).toEqual(Array(4).fill('urn:vim25/7.0'))
    } finally {
      await bare.close()
    }
  })

  it('drives a host that keeps no session state: Login sets no cookie, the calls after it need none', async () => {
    const stateless = await startFakeVsphere({
      password: PASSWORD,
      setsCookie: false,
      keepsSessions: false,
    })
    try {
      const r = await enableSshOverVsphere(
        { address: '127.0.0.1', port: stateless.port, expectedSha256: stateless.fingerprint },
        { userName: 'root', password: PASSWORD },
      )
      expect(r.calls).toEqual([
        'RetrieveServiceContent',
        'Login',
        'UpdateServicePolicy',
        'StartService',
      ])
      expect(stateless.ssh).toEqual({ policy: 'on', running: true })
    } finally {
      await stateless.close()
    }
  })

  it('says NotAuthenticated when a host that sets no cookie wants a session after all', async () => {
    const forgetful = await startFakeVsphere({ password: PASSWORD, setsCookie: false })
    try {
      const err = await failure(
        enableSshOverVsphere(
          { address: '127.0.0.1', port: forgetful.port, expectedSha256: forgetful.fingerprint },
          { userName: 'root', password: PASSWORD },
        ),
      )
      expect(err.code).toBe('not-authenticated')
      expect(err.message).toContain('UpdateServicePolicy was refused')
      expect(forgetful.calls).toEqual(['RetrieveServiceContent', 'Login', 'UpdateServicePolicy'])
      expect(forgetful.ssh).toEqual({ policy: 'off', running: false })
    } finally {
      await forgetful.close()
    }
  })

  it('accepts the fingerprint in any common spelling', async () => {
    const plain = fake.fingerprint.replace(/:/g, '').toLowerCase()
    const r = await enableSshOverVsphere(target({ expectedSha256: `sha256:${plain}` }), {
      userName: 'root',
      password: PASSWORD,
    })
    expect(r.fingerprint).toBe(fake.fingerprint)
    expect(() => normalizeFingerprint('abc')).toThrow('64 hex digits')
  })

  it('pins the certificate on first contact when none is expected, and returns it to show', async () => {
    const r = await enableSshOverVsphere(target({ expectedSha256: undefined }), {
      userName: 'root',
      password: PASSWORD,
    })
    expect(r.pinnedOnFirstContact).toBe(true)
    expect(r.fingerprint).toBe(fake.fingerprint)
  })

  it('gives a wrong password InvalidLogin as a clear error, and calls nothing else', async () => {
    const err = await failure(
      enableSshOverVsphere(target(), { userName: 'root', password: 'wrong' }),
    )
    expect(err.code).toBe('invalid-login')
    expect(err.faultType).toBe('InvalidLogin')
    expect(err.message).toContain('the password is wrong')
    expect(err.message).not.toContain('wrong"')
    expect(fake.calls).toEqual(['RetrieveServiceContent', 'Login'])
    expect(fake.ssh).toEqual({ policy: 'off', running: false })
  })

  it('refuses a certificate that does not match, before anything is sent', async () => {
    const other = normalizeFingerprint('ab'.repeat(32))
    const err = await failure(
      enableSshOverVsphere(target({ expectedSha256: other }), {
        userName: 'root',
        password: PASSWORD,
      }),
    )
    expect(err.code).toBe('certificate-mismatch')
    expect(err.message).toContain(fake.fingerprint)
    expect(err.message).toContain('nothing was sent')
    expect(fake.calls).toEqual([])
  })

  it('refuses a certificate that changes after it was pinned', async () => {
    const client = new VsphereClient(target({ expectedSha256: undefined }))
    await client.retrieveServiceContent()
    const pinned = client.fingerprint
    fake.rotateCertificate()
    const err = await failure(client.login('root', PASSWORD))
    expect(err.code).toBe('certificate-mismatch')
    expect(client.fingerprint).toBe(pinned)
    expect(fake.calls).toEqual(['RetrieveServiceContent'])
  })

  it('says connection refused when nothing listens', async () => {
    const port = await freePort()
    const err = await failure(
      enableSshOverVsphere(
        { address: '127.0.0.1', port },
        { userName: 'root', password: PASSWORD },
      ),
    )
    expect(err.code).toBe('connection-refused')
    expect(err.message).toBe(
      `https://127.0.0.1:${port}/sdk refused the connection; the host is not up yet, or hostd is not running`,
    )
  })
})

describe('VsphereClient, call by call', () => {
  it('gets NotAuthenticated for a service call without a session', async () => {
    const client = new VsphereClient(target())
    await client.retrieveServiceContent()
    const err = await failure(client.updateServicePolicy('TSM-SSH', 'on'))
    expect(err.code).toBe('not-authenticated')
    expect(err.faultType).toBe('NotAuthenticated')
    expect(fake.ssh.policy).toBe('off')
  })

  it('gets NotAuthenticated once the host forgets the session', async () => {
    const client = new VsphereClient(target())
    await client.login('root', PASSWORD)
    fake.expireSessions()
    const err = await failure(client.startService('TSM-SSH'))
    expect(err.code).toBe('not-authenticated')
    expect(err.message).toContain('log in again')
  })

  it('reports other faults with their type and message', async () => {
    const client = new VsphereClient(target())
    await client.login('root', PASSWORD)
    const err = await failure(client.startService('TSM-NOPE'))
    expect(err).toMatchObject({ code: 'fault', faultType: 'NotFound' })
    expect(err.message).toBe(
      'StartService failed on the host: NotFound: The object or item referred to could not be found.',
    )
  })

  it('stops reading an answer past its size limit, and fails it in words', async () => {
    await fake.close()
    fake = await startFakeVsphere({ password: PASSWORD, endless: 'flood' })
    const err = await failure(
      new VsphereClient(target({ responseLimitBytes: 64 * 1024 })).retrieveServiceContent(),
    )
    expect(err.code).toBe('protocol')
    expect(err.message).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/sdk answered RetrieveServiceContent with more than 64 KiB; Midwife stopped reading and closed the connection$/,
    )
  })

  it('gives up on an answer that trickles in past its time, though bytes keep coming', async () => {
    await fake.close()
    fake = await startFakeVsphere({ password: PASSWORD, endless: 'trickle' })
    const err = await failure(
      new VsphereClient(target({ timeoutMs: 1_000 })).retrieveServiceContent(),
    )
    expect(err.code).toBe('timeout')
    expect(err.message).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/sdk did not finish answering RetrieveServiceContent within 1 s$/,
    )
  })

  it('is refused by a server that does not speak TLS: the connection failed', async () => {
    const server = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const err = await failure(
        new VsphereClient({ address: '127.0.0.1', port }).retrieveServiceContent(),
      )
      expect(err.code).toBe('connection-failed')
    } finally {
      server.close()
    }
  })
})

describe('SOAP envelopes', () => {
  it('escapes values and reads them back unchanged', () => {
    const xml = buildRequest('Login', { type: 'SessionManager', value: 'ha-sessionmgr' }, [
      ['userName', 'root'],
      ['password', PASSWORD],
    ])
    expect(xml).toContain('<password>Pa&lt;ss&gt;&amp;&quot;wo&apos;rd1</password>')
    expect(xml).toContain(
      '<Login xmlns="urn:vim25"><_this type="SessionManager">ha-sessionmgr</_this>',
    )
    const back = parseResponse(
      xml.replace('<Login ', '<LoginResponse ').replace('</Login>', '</LoginResponse>'),
    )
    expect(back.ok && (back.body.LoginResponse as Record<string, unknown>).password).toBe(PASSWORD)
  })

  it('reads a fault as a real host sends it', () => {
    const r = parseResponse(
      '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Cannot complete login due to an incorrect user name or password.</faultstring><detail><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
    )
    expect(r).toEqual({
      ok: false,
      fault: {
        type: 'InvalidLogin',
        message: 'Cannot complete login due to an incorrect user name or password.',
      },
    })
    expect(() => parseResponse('not xml <')).toThrow()
    expect(() => parseResponse('<a/>')).toThrow('not a SOAP envelope')
  })
})

describe('the fake against the SSH simulator', () => {
  let esx: SimHost
  afterEach(() => esx.close())

  it("turns the simulated host's SSH service on", async () => {
    esx = await createSimHost()
    const linked = await startFakeVsphere({ password: PASSWORD, statePath: esx.statePath })
    try {
      expect(esx.state().services.ssh).toEqual({ enabled: false, running: false })
      await enableSshOverVsphere(
        { address: '127.0.0.1', port: linked.port, expectedSha256: linked.fingerprint },
        { userName: 'root', password: PASSWORD },
      )
      expect(esx.state().services.ssh).toEqual({ enabled: true, running: true })
    } finally {
      await linked.close()
    }
  })
})

describe('waitForHttps', () => {
  /** What each attempt that got no SOAP answer was told, in the step message's words. */
  const told = (list: string[]) => (_n: number, err: VsphereError) => {
    list.push(`${err.code}: ${notYetWords(err)}`)
  }

  it('polls until the host answers /sdk, and returns its fingerprint', async () => {
    const port = await freePort()
    let late: FakeVsphere | undefined
    const reasons: string[] = []
    const r = await waitForHttps({
      address: '127.0.0.1',
      port,
      deadlineMs: 60_000,
      intervalMs: 10,
      // The "host" comes up after the first refused attempt.
      onAttempt: async (n, err) => {
        told(reasons)(n, err)
        if (late === undefined) {
          late = await startFakeVsphere({ password: PASSWORD, port })
        }
      },
    })
    try {
      expect(reasons).toEqual(['connection-refused: refused the connection'])
      expect(r).toMatchObject({ fingerprint: late?.fingerprint, attempts: 2 })
      expect(r.about.fullName).toBe('VMware ESXi 8.0.2 build-22380479')
    } finally {
      await late?.close()
    }
  })

  it('waits while the proxy answers and hostd does not (503, a page, a reset), then logs in once', async () => {
    const starting = await startFakeVsphere({
      password: PASSWORD,
      startingUp: ['503', 'page', 'reset', '503'],
    })
    try {
      const reasons: string[] = []
      const r = await waitForHttps({
        address: '127.0.0.1',
        port: starting.port,
        deadlineMs: 20_000,
        intervalMs: 10,
        onAttempt: told(reasons),
      })
      expect(reasons).toEqual([
        'not-soap: answered HTTP 503',
        'not-soap: answered HTTP 200, not SOAP',
        'connection-failed: could not be reached (ECONNRESET)',
        'not-soap: answered HTTP 503',
      ])
      expect(r.attempts).toBe(5)
      // Pinned on first contact, during the 503s: the certificate every attempt was held to.
      expect(r.fingerprint).toBe(starting.fingerprint)
      expect(r.client.pinnedOnFirstContact).toBe(true)
      expect(starting.calls).toEqual(['RetrieveServiceContent'])

      const done = await enableSshOverVsphere(r.client, { userName: 'root', password: PASSWORD })
      expect(done.calls).toEqual([
        'RetrieveServiceContent',
        'Login',
        'UpdateServicePolicy',
        'StartService',
      ])
      expect(starting.calls).toEqual(done.calls)
      expect(starting.ssh).toEqual({ policy: 'on', running: true })
    } finally {
      await starting.close()
    }
  })

  it('does not wait out a certificate that changed after first contact: nothing more is sent', async () => {
    const starting = await startFakeVsphere({ password: PASSWORD, startingUp: ['503', '503'] })
    try {
      let first: string | undefined
      const err = await failure(
        waitForHttps({
          address: '127.0.0.1',
          port: starting.port,
          deadlineMs: 20_000,
          intervalMs: 10,
          onAttempt: () => {
            // Another machine answers at the address after the first contact.
            first ??= starting.fingerprint
            starting.rotateCertificate()
          },
        }),
      )
      expect(err.code).toBe('certificate-mismatch')
      expect(err.message).toContain(`not the expected ${first}`)
      expect(err.message).toContain('nothing was sent')
      expect(starting.calls).toEqual([])
    } finally {
      await starting.close()
    }
  })

  it('holds every attempt to the certificate expected, and stops at one that differs', async () => {
    const starting = await startFakeVsphere({ password: PASSWORD, startingUp: ['503'] })
    try {
      const err = await failure(
        waitForHttps({
          address: '127.0.0.1',
          port: starting.port,
          expectedSha256: 'ab'.repeat(32),
          deadlineMs: 20_000,
          intervalMs: 10,
        }),
      )
      expect(err.code).toBe('certificate-mismatch')
      expect(starting.soapActions).toEqual([])
    } finally {
      await starting.close()
    }
  })

  it('gives up at the deadline with a message that names the address', async () => {
    const port = await freePort()
    const err = await waitForHttps({
      address: '127.0.0.1',
      port,
      deadlineMs: 300,
      intervalMs: 50,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WaitTimeoutError)
    expect((err as Error).message).toContain(`https://127.0.0.1:${port}/sdk did not answer within`)
    expect((err as Error).message).toContain('(last: refused the connection)')
    expect((err as Error).message).toContain(`nothing blocks port ${port}`)
  })

  it('names the last answer, not the attempt the deadline cut short', async () => {
    // Each 503 takes 300 ms: the attempt under way at the deadline never gets its answer.
    const slow = await startFakeVsphere({
      password: PASSWORD,
      startingUp: Array<'503'>(10_000).fill('503'),
      startingUpMs: 300,
    })
    try {
      const err = await waitForHttps({
        address: '127.0.0.1',
        port: slow.port,
        deadlineMs: 1_000,
        intervalMs: 10,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WaitTimeoutError)
      expect((err as Error).message).toContain('(last: answered HTTP 503)')
    } finally {
      await slow.close()
    }
  })

  it('gives up at the deadline saying hostd never answered behind the proxy', async () => {
    const stuck = await startFakeVsphere({
      password: PASSWORD,
      startingUp: Array<'503'>(10_000).fill('503'),
    })
    try {
      // Room for several answers even on a loaded machine: each 503 must arrive before the deadline.
      const err = await waitForHttps({
        address: '127.0.0.1',
        port: stuck.port,
        deadlineMs: 3_000,
        intervalMs: 50,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WaitTimeoutError)
      expect((err as Error).message).toContain('(last: answered HTTP 503)')
      expect((err as Error).message).toContain('hostd behind it does not')
      expect(stuck.calls).toEqual([])
    } finally {
      await stuck.close()
    }
  })
})
