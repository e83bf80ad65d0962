import { describe, expect, it } from 'vitest'
import {
  ApiCallError,
  createClient,
  dispatch,
  eventNames,
  events,
  isEventName,
  isMethodName,
  methodNames,
  methods,
  unwrap,
  type ApiHandlers,
  type MethodName,
} from '../../main/contract/api'
import {
  HostInput,
  Settings,
  SettingsInput,
  type Host,
  type Run,
} from '../../main/contract/schemas'
import { defaultSettings } from '../../main/core/store'

const goodInput = {
  hostname: 'esx01',
  domain: 'lab.local',
  mac: '00:50:56:B3:B9:89',
  spec: {
    dns: ['10.0.0.2', '10.0.0.3'],
    ntp: { servers: ['10.0.0.4', 'ntp.lab.local'] },
  },
  rootPassword: 'VMware1!',
}
const withSpec = (spec: Record<string, unknown>) => ({ ...goodInput, spec })

const host: Host = {
  id: 1,
  name: 'esx01.lab.local',
  state: 'defined',
  stateReason: 'defined by the operator',
  stateChangedAt: '2025-01-01T00:00:00.000Z',
  definition: {
    hostname: 'esx01',
    domain: 'lab.local',
    mac: '00:50:56:b3:b9:89',
    serial: null,
    sshUser: 'root',
    sshPort: 22,
    hasPassword: true,
    spec: { dns: ['10.0.0.2', '10.0.0.3'] },
    secretsSet: [],
    esxiVersion: null,
    secureBoot: null,
  },
  resolved: [],
  identity: null,
  attention: null,
  lastCheckin: null,
  install: null,
  secureBootPath: null,
  netbootArmed: true,
  suggestions: [],
  approve: { allowed: false, reason: 'Waiting for the server to check in.' },
  lastRunId: null,
  waiting: [],
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
}

const run: Run = {
  id: 5,
  attempts: 1,
  batchId: null,
  supersededAt: null,
  retryRefused: null,
  stepsTotal: 0,
  stepsDone: 0,
  outputSeq: 0,
  plan: [],
  checkinId: 3,
  hostId: 1,
  hostName: 'esx01.lab.local',
  target: '10.0.0.10:22',
  state: 'queued',
  error: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  steps: [],
}

/** Every first issue message for `input`, as "path: message". */
function issues(input: unknown): string[] {
  const r = HostInput.safeParse(input)
  if (r.success) return []
  return r.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`)
}

describe('HostInput', () => {
  it('accepts a good host, normalises the MAC and applies the defaults', () => {
    expect(HostInput.parse(goodInput)).toEqual({
      hostname: 'esx01',
      domain: 'lab.local',
      mac: '00:50:56:b3:b9:89',
      spec: {
        dns: ['10.0.0.2', '10.0.0.3'],
        ntp: { servers: ['10.0.0.4', 'ntp.lab.local'], enabled: true },
      },
      clearSecrets: [],
      sshUser: 'root',
      sshPort: 22,
      rootPassword: 'VMware1!',
    })
  })

  it('refuses a MAC no NIC has: broadcast, multicast, all zeros', () => {
    const problem = (mac: string) =>
      HostInput.safeParse({ ...goodInput, mac }).error?.issues.map((i) => i.message)
    expect(problem('ff:ff:ff:ff:ff:ff')).toEqual([
      'is a multicast or broadcast address (its first octet is odd), which no NIC has',
    ])
    expect(problem('01:00:5e:00:00:01')).toHaveLength(1)
    expect(problem('00:00:00:00:00:00')).toEqual(['is all zeros, which no NIC has'])
    // A locally administered unicast address (VMware's own 00:50:56 or 02:...) is fine.
    expect(problem('02:00:00:aa:bb:01')).toBeUndefined()
  })

  it('refuses an SSH user or a serial with characters a screen would hide, or a formula', () => {
    const problem = (extra: Record<string, unknown>) =>
      HostInput.safeParse({ ...goodInput, ...extra }).error?.issues.map((i) => i.message)
    const user = 'an SSH user name has no spaces, control or invisible characters'
    expect(problem({ sshUser: 'ro\u0000ot' })).toEqual([user])
    expect(problem({ sshUser: 'root\nINJECTED' })).toEqual([user])
    expect(problem({ sshUser: 'root@x -oProxyCommand=x' })).toEqual([user])
    expect(problem({ sshUser: '\u202etoor' })).toEqual([user])
    expect(problem({ sshUser: 'midwife-svc' })).toBeUndefined()
    // No spaces needed for a formula: the CSV export's ssh_user cell would run it.
    for (const formula of ['=HYPERLINK("http://evil/")', '@SUM(1+1)', '+1', '-2+3']) {
      expect(problem({ sshUser: formula })).toEqual([
        'an SSH user name does not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula)',
      ])
    }
    expect(problem({ serial: 'CZ\u200b123' })).toEqual([
      'a serial number has no control or invisible characters',
    ])
    expect(problem({ serial: '=HYPERLINK("http://evil/")' })).toEqual([
      'a serial number does not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula)',
    ])
    expect(problem({ serial: 'VMware-42 33 00 ff' })).toBeUndefined()
  })

  it('accepts hyphen-separated MACs and surrounding spaces', () => {
    const parsed = HostInput.parse({
      ...goodInput,
      mac: ' AA-BB-CC-DD-EE-0F ',
      hostname: ' esx01 ',
    })
    expect(parsed.mac).toBe('aa:bb:cc:dd:ee:0f')
    expect(parsed.hostname).toBe('esx01')
  })

  it('keeps an explicit SSH user and port, and allows editing without a password', () => {
    const { rootPassword: _omit, ...noPassword } = goodInput
    const parsed = HostInput.parse({ ...noPassword, id: 4, sshUser: 'admin', sshPort: 2222 })
    expect(parsed).toMatchObject({ id: 4, sshUser: 'admin', sshPort: 2222 })
    expect(parsed.rootPassword).toBeUndefined()
  })

  it('accepts a 63-character label and refuses bad hostnames', () => {
    expect(HostInput.safeParse({ ...goodInput, hostname: 'a'.repeat(63) }).success).toBe(true)
    expect(HostInput.safeParse({ ...goodInput, hostname: 'ESX-01' }).success).toBe(true)
    const message =
      'hostname: must be letters, digits and hyphens (1-63), not starting or ending with a hyphen'
    for (const hostname of [
      '-esx01',
      'esx01-',
      'esx_01',
      'a'.repeat(64),
      '',
      'esx01.lab',
      'es x',
    ]) {
      expect(issues({ ...goodInput, hostname })).toEqual([message])
    }
  })

  it('refuses bad domains', () => {
    for (const domain of [
      '',
      'lab..local',
      '.lab.local',
      'lab.local.',
      'lab_x.local',
      '-lab.local',
      `${'a'.repeat(64)}.local`,
      'lab local',
      // No top-level domain is all digits: these are mistyped addresses, not domains.
      '10.0.0',
      'lab.123',
    ]) {
      expect(issues({ ...goodInput, domain })).toEqual([
        'domain: must be a DNS domain like lab.local',
      ])
    }
    const tooLong = Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')
    expect(tooLong.length).toBeGreaterThan(253)
    expect(HostInput.safeParse({ ...goodInput, domain: tooLong }).success).toBe(false)
  })

  it('refuses bad MACs', () => {
    for (const mac of [
      '00:50:56:b3:b9',
      '00:50:56:b3:b9:89:00',
      '00:50:56:b3:b9:8g',
      '005056b3b989',
      '0:50:56:b3:b9:89',
      '',
    ]) {
      expect(issues({ ...goodInput, mac })).toEqual([
        'mac: must be a MAC address like aa:bb:cc:dd:ee:ff',
      ])
    }
  })

  it('validates each setting in the spec with the catalogue, in words for people', () => {
    expect(issues(withSpec({ dns: [] }))).toEqual(['spec.dns: add at least one DNS server'])
    expect(issues(withSpec({ dns: ['10.0.0.2', 'dns.lab.local'] }))).toEqual([
      'spec.dns.1: dns.lab.local is not an IPv4 address like 10.0.0.2',
    ])
    expect(issues(withSpec({ dns: ['10.0.0.256'] }))).toEqual([
      'spec.dns.0: 10.0.0.256 is not an IPv4 address like 10.0.0.2',
    ])
    expect(issues(withSpec({ dns: ['10.0.0.2', '10.0.0.2'] }))).toEqual([
      'spec.dns: a DNS server is listed twice',
    ])
    const nine = Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}`)
    expect(HostInput.safeParse(withSpec({ dns: nine })).success).toBe(false)
    expect(
      HostInput.safeParse(withSpec({ ntp: { servers: ['10.0.0.4', 'pool.ntp.org', 'ntp1'] } }))
        .success,
    ).toBe(true)
    for (const bad of [
      'ntp_1.lab.local',
      'ntp..lab',
      'udp://10.0.0.4',
      '10.0.0.4:123',
      '-ntp',
      '10.0.0.256',
      'ntp.lab.123',
    ]) {
      expect(issues(withSpec({ ntp: { servers: ['10.0.0.4', bad] } }))).toEqual([
        `spec.ntp.servers.1: ${bad} is not an IPv4 address or a DNS name`,
      ])
    }
    expect(issues(withSpec({ nonsense: true }))).toEqual(['spec: Unrecognized key: "nonsense"'])
  })

  it('refuses an empty or weak password, an empty SSH user and an impossible port', () => {
    expect(issues({ ...goodInput, rootPassword: '' })).toEqual([
      'rootPassword: the password is too short: ESXi wants at least 7 characters',
    ])
    // The install password follows ESXi's default rules: the installer may not check them.
    expect(issues({ ...goodInput, rootPassword: 'vmware123' })).toEqual([
      'rootPassword: the password must mix at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count)',
    ])
    expect(HostInput.safeParse({ ...goodInput, sshUser: '  ' }).success).toBe(false)
    expect(HostInput.safeParse({ ...goodInput, sshPort: 0 }).success).toBe(false)
    expect(HostInput.safeParse({ ...goodInput, sshPort: 65536 }).success).toBe(false)
    expect(HostInput.safeParse({ ...goodInput, sshPort: 22.5 }).success).toBe(false)
  })
})

describe('SettingsInput', () => {
  const site = (over: Record<string, unknown>) => ({ ...defaultSettings, ...over })
  const refusal = (over: Record<string, unknown>) => {
    const r = SettingsInput.safeParse(site(over))
    return r.success ? null : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }

  it('takes an address or a name, with a port from 1 to 65535, as the advertised address', () => {
    for (const advertisedAddress of [
      '',
      '10.0.0.5',
      '10.0.0.5:8080',
      'pxe.lab.local',
      'midwife:65535',
      'mw-01',
    ]) {
      expect(refusal({ advertisedAddress }), advertisedAddress).toBeNull()
    }
  })

  it('refuses an address that is no address (the boot material could not be written)', () => {
    for (const advertisedAddress of ['10.0.0.300', '10.0.0.300:8080', '10.0.0.5:0', '10.0.0']) {
      expect(refusal({ advertisedAddress }), advertisedAddress).toEqual([
        'advertisedAddress: must be host or host:port, like 10.0.0.5 or 10.0.0.5:8080 (no http://)',
      ])
    }
    expect(refusal({ listenerHost: '300.1.1.1' })).toEqual([
      'listenerHost: must be an IPv4 address of this machine, 0.0.0.0, or a host name',
    ])
    expect(refusal({ listenerHost: '0.0.0.0' })).toBeNull()
    expect(refusal({ listenerHost: 'midwife.lab.local' })).toBeNull()
  })

  it('still loads settings stored before the check, so a start never fails on them', () => {
    const stored = site({ listenerHost: '300.1.1.1', advertisedAddress: '10.0.0.300:0' })
    expect(Settings.parse(stored)).toMatchObject({ advertisedAddress: '10.0.0.300:0' })
  })
})

/** A handlers object whose every method records its call; `over` supplies behaviour. */
function fakeHandlers(over: Partial<ApiHandlers> = {}) {
  const calls: Array<[string, unknown[]]> = []
  const base = Object.fromEntries(
    methodNames.map((name) => [
      name,
      (...args: unknown[]) => {
        calls.push([name, args])
        throw new Error(`${name} is not faked`)
      },
    ]),
  ) as unknown as ApiHandlers
  const handlers: ApiHandlers = { ...base }
  for (const [name, fn] of Object.entries(over)) {
    ;(handlers as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls.push([name, args])
      return (fn as (...a: unknown[]) => unknown)(...args)
    }
  }
  return { handlers, calls }
}

describe('dispatch', () => {
  it('refuses an unknown method, including inherited property names', async () => {
    const { handlers, calls } = fakeHandlers()
    for (const name of ['dropTables', 'toString', '__proto__', 'constructor']) {
      expect(await dispatch(handlers, name, [])).toEqual({
        ok: false,
        error: { code: 'unknown_method', message: `unknown method "${name}"` },
      })
    }
    expect(calls).toEqual([])
  })

  it('refuses bad arguments, naming the field, without calling the handler', async () => {
    const { handlers, calls } = fakeHandlers({ saveHost: () => host })
    expect(await dispatch(handlers, 'saveHost', [{ ...goodInput, mac: 'nope' }])).toEqual({
      ok: false,
      error: { code: 'invalid', message: 'mac: must be a MAC address like aa:bb:cc:dd:ee:ff' },
    })
    const two = await dispatch(handlers, 'saveHost', [
      { ...goodInput, mac: 'x', spec: { dns: [] } },
    ])
    expect(two).toEqual({
      ok: false,
      error: {
        code: 'invalid',
        message:
          'mac: must be a MAC address like aa:bb:cc:dd:ee:ff; spec.dns: add at least one DNS server',
      },
    })
    const missing = await dispatch(handlers, 'getRun', undefined)
    expect(missing.ok).toBe(false)
    expect(!missing.ok && missing.error.code).toBe('invalid')
    const notAnId = await dispatch(handlers, 'getRun', ['5'])
    expect(!notAnId.ok && notAnId.error.code).toBe('invalid')
    const notATuple = await dispatch(handlers, 'getRun', { id: 5 })
    expect(!notATuple.ok && notATuple.error.code).toBe('invalid')
    expect(calls).toEqual([])
  })

  it('refuses a misspelled field instead of dropping it and the value it carried', async () => {
    const { handlers, calls } = fakeHandlers({ saveHost: () => host })
    const typo = await dispatch(handlers, 'saveHost', [{ ...goodInput, sshport: 2222 }])
    expect(typo).toEqual({
      ok: false,
      error: { code: 'invalid', message: 'Unrecognized key: "sshport"' },
    })
    const secrets = await dispatch(handlers, 'saveHost', [
      { ...goodInput, clearSecrets: ['nonsense'] },
    ])
    expect(!secrets.ok && secrets.error.message).toMatch(
      /^clearSecrets\.0: not a secret setting \(those are /,
    )
    const settings = await dispatch(handlers, 'saveSettings', [{ autmatch: true }])
    expect(!settings.ok && settings.error.message).toContain('Unrecognized key: "autmatch"')
    expect(calls).toEqual([])
  })

  it('says what an id must be', async () => {
    const { handlers } = fakeHandlers()
    const message = async (arg: unknown) => {
      const r = await dispatch(handlers, 'getRun', [arg])
      return r.ok ? null : r.error.message
    }
    expect(await message(-1)).toBe('an id is 1 or more')
    expect(await message(1.5)).toBe('an id is a whole number')
    expect(await message('5')).toBe('an id is a number')
  })

  it('shows an error as a screen may: escapes control and direction characters, cuts a huge one', async () => {
    const { handlers } = fakeHandlers({
      getRun: () => {
        throw new ApiCallError('invalid', `esx\u202eabc\u0000 is not a host name\nsecond line`)
      },
      getHost: () => {
        throw new Error(`x${'y'.repeat(1_000_000)}`)
      },
    })
    expect(await dispatch(handlers, 'getRun', [1])).toEqual({
      ok: false,
      error: { code: 'invalid', message: 'esx\\u202eabc\\x00 is not a host name\nsecond line' },
    })
    const huge = await dispatch(handlers, 'getHost', [1])
    expect(!huge.ok && huge.error.message.length).toBeLessThan(2_100)
    expect(!huge.ok && huge.error.message).toMatch(/… \(998001 more characters\)$/)
  })

  it('passes the parsed arguments to the handler and returns its result', async () => {
    const { handlers, calls } = fakeHandlers({ saveHost: () => host })
    const reply = await dispatch(handlers, 'saveHost', [{ ...goodInput, mac: '00-50-56-B3-B9-89' }])
    expect(reply).toEqual({ ok: true, result: host })
    expect(calls).toEqual([
      [
        'saveHost',
        [
          {
            ...goodInput,
            mac: '00:50:56:b3:b9:89',
            sshUser: 'root',
            sshPort: 22,
            clearSecrets: [],
            spec: { ...goodInput.spec, ntp: { ...goodInput.spec.ntp, enabled: true } },
          },
        ],
      ],
    ])
  })

  it('turns an undefined result into null', async () => {
    const { handlers } = fakeHandlers({
      deleteHost: () => undefined as unknown as null,
    })
    expect(await dispatch(handlers, 'deleteHost', [1])).toEqual({ ok: true, result: null })
  })

  it('calls the handler as a method of its object', async () => {
    const { handlers } = fakeHandlers()
    const core = {
      ...handlers,
      prefix: 'run',
      getRun(id: number): Run {
        return { ...run, id, target: `${this.prefix}-${id}` }
      },
    }
    expect(await dispatch(core, 'getRun', [9])).toEqual({
      ok: true,
      result: { ...run, id: 9, target: 'run-9' },
    })
  })

  it('turns a thrown ApiCallError into its code, and anything else into failed', async () => {
    const { handlers } = fakeHandlers({
      getRun: (id) => {
        throw new ApiCallError('not_found', `run ${id} does not exist`)
      },
      deleteHost: () => Promise.reject(new Error('disk I/O error')),
      listHosts: () => {
        throw 'a string' // eslint-disable-line @typescript-eslint/only-throw-error
      },
    })
    expect(await dispatch(handlers, 'getRun', [7])).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'run 7 does not exist' },
    })
    expect(await dispatch(handlers, 'deleteHost', [1])).toEqual({
      ok: false,
      error: { code: 'failed', message: 'disk I/O error' },
    })
    expect(await dispatch(handlers, 'listHosts', [])).toEqual({
      ok: false,
      error: { code: 'failed', message: 'a string' },
    })
  })
})

describe('createClient and unwrap', () => {
  function client(over: Partial<ApiHandlers>) {
    const { handlers, calls } = fakeHandlers(over)
    const sent: Array<[MethodName, unknown[]]> = []
    const api = createClient((name, args) => {
      sent.push([name, args])
      // What a transport does: the reply crosses as JSON.
      return dispatch(handlers, name, args).then((r) => JSON.parse(JSON.stringify(r)) as unknown)
    })
    return { api, calls, sent }
  }

  it('round-trips a call through dispatch', async () => {
    const { api, sent } = client({ getRun: (id) => ({ ...run, id }), listHosts: () => [host] })
    expect(await api.getRun(5)).toEqual(run)
    expect(await api.listHosts()).toEqual([host])
    expect(sent).toEqual([
      ['getRun', [5]],
      ['listHosts', []],
    ])
  })

  it('returns null for a handler that returned nothing', async () => {
    const { api } = client({ deleteHost: () => undefined as unknown as null })
    expect(await api.deleteHost(1)).toBeNull()
  })

  it('throws ApiCallError carrying the code of a refused call', async () => {
    const { api } = client({
      getRun: (id) => {
        throw new ApiCallError('not_found', `run ${id} does not exist`)
      },
    })
    const err = await api.getRun(404).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiCallError)
    expect((err as ApiCallError).code).toBe('not_found')
    expect((err as ApiCallError).message).toBe('run 404 does not exist')

    const bad = await api
      .saveHost({ ...goodInput, hostname: '_bad' })
      .catch((e: unknown) => e as ApiCallError)
    expect(bad).toBeInstanceOf(ApiCallError)
    expect((bad as ApiCallError).code).toBe('invalid')
    expect((bad as ApiCallError).message).toBe(
      'hostname: must be letters, digits and hyphens (1-63), not starting or ending with a hyphen',
    )
  })

  it('unwrap refuses a malformed reply and a result that breaks the contract', () => {
    expect(() => unwrap('getRun', { result: run })).toThrow(
      new ApiCallError('failed', 'malformed reply to getRun'),
    )
    try {
      unwrap('getRun', 'nonsense')
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(ApiCallError)
      expect((e as ApiCallError).code).toBe('failed')
    }
    expect(unwrap('getRun', { ok: true, result: run })).toEqual(run)
    expect(() => unwrap('getRun', { ok: true, result: { ...run, state: 'exploded' } })).toThrow()
    try {
      unwrap('deleteHost', { ok: false, error: { code: 'conflict', message: 'in use' } })
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(ApiCallError)
      expect((e as ApiCallError).code).toBe('conflict')
      expect((e as ApiCallError).message).toBe('in use')
    }
  })
})

describe('names', () => {
  it('methodNames and eventNames are exactly the keys of methods and events', () => {
    expect(methodNames).toEqual(Object.keys(methods))
    expect(eventNames).toEqual(Object.keys(events))
    expect(methodNames).toContain('saveHost')
    expect(eventNames).toEqual(
      expect.arrayContaining(['host.changed', 'host.removed', 'checkin.changed', 'run.changed']),
    )
  })

  it('isMethodName and isEventName know only their own names', () => {
    for (const n of methodNames) expect(isMethodName(n)).toBe(true)
    for (const n of eventNames) expect(isEventName(n)).toBe(true)
    expect(isMethodName('toString')).toBe(false)
    expect(isMethodName('checkin')).toBe(false)
    expect(isEventName('hasOwnProperty')).toBe(false)
    expect(isEventName('saveHost')).toBe(false)
  })
})
