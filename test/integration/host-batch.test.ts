// Small batches without a spreadsheet: clone a host, or generate a run of
// hosts from a name pattern, counting MACs and management addresses up and
// skipping every address a host or a VMkernel NIC already holds. Previewed
// like an import; stored all together or not at all.
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, dispatch, type Api } from '../../main/contract/api'
import type { BatchPreview } from '../../main/contract/schemas'
import { startTestApp, type TestApp } from '../support/app'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

async function midwife(): Promise<Api> {
  t = await startTestApp()
  const app = t.app
  return createClient((name, args) => dispatch(app, name, args))
}

const PASSWORD = 'Install-pw-42!'
const mgmtOf = (r: BatchPreview['rows'][number]) =>
  r.resolved.find((v) => v.key === 'mgmtAddress')?.shown

async function template(api: Api) {
  return api.saveHost({
    hostname: 'esx01',
    domain: 'lab.local',
    mac: '00:50:56:aa:bb:01',
    serial: 'SN-1',
    sshPort: 2222,
    rootPassword: PASSWORD,
    spec: {
      dns: ['10.0.0.2'],
      ntp: { servers: ['10.0.0.5'], enabled: true },
      mgmtAddress: '10.0.0.11/24',
      vmknics: [{ portgroup: 'VM Network', ipv4: '10.0.0.13/24', mtu: 1500, tags: ['VMotion'] }],
      licence: 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE',
    },
  })
}

describe('clone a host', () => {
  it('copies its settings, password and secrets; not its identity or addresses', async () => {
    const api = await midwife()
    const source = await template(api)
    const clone = await api.cloneHost(source.id, { hostname: 'esx02', mac: '00:50:56:AA:BB:02' })
    expect(clone).toMatchObject({ name: 'esx02.lab.local', state: 'defined' })
    expect(clone.definition).toEqual({
      hostname: 'esx02',
      domain: 'lab.local',
      mac: '00:50:56:aa:bb:02',
      serial: null,
      sshUser: 'root',
      sshPort: 2222,
      esxiVersion: null,
      secureBoot: null,
      hasPassword: true,
      spec: { dns: ['10.0.0.2'], ntp: { servers: ['10.0.0.5'], enabled: true } },
      secretsSet: ['licence'],
    })
    // The same password, sealed again or not, opens to the same text: the boot material uses it.
    const secrets = t?.app.store.hosts.secrets(clone.id)
    expect(secrets?.rootPassword).toEqual(t?.app.store.hosts.secrets(source.id)?.rootPassword)
    expect((await api.hostAudit(clone.id))[0]).toMatchObject({
      type: 'host.created',
      data: { clonedFrom: source.id },
    })
  })

  it('takes its own values, and refuses an address another host holds', async () => {
    const api = await midwife()
    const source = await template(api)
    const clone = await api.cloneHost(source.id, {
      hostname: 'esx02',
      mac: '00:50:56:aa:bb:02',
      spec: { mgmtAddress: '10.0.0.12/24', dns: ['10.0.0.3'] },
      rootPassword: 'Another-pw-7x',
    })
    expect(clone.definition?.spec).toMatchObject({ mgmtAddress: '10.0.0.12/24', dns: ['10.0.0.3'] })
    await expect(
      api.cloneHost(source.id, {
        hostname: 'esx03',
        mac: '00:50:56:aa:bb:03',
        spec: { mgmtAddress: '10.0.0.13/24' },
      }),
    ).rejects.toThrow(
      'nothing was stored: mgmt_address: 10.0.0.13 is already used by esx01.lab.local',
    )
    await expect(
      api.cloneHost(source.id, { hostname: 'esx01', mac: '00:50:56:aa:bb:04' }),
    ).rejects.toThrow(
      'nothing was stored: hostname: esx01.lab.local already exists, with MAC 00:50:56:aa:bb:01; a new host needs its own',
    )
    await expect(
      api.cloneHost(99, { hostname: 'esx05', mac: '00:50:56:aa:bb:05' }),
    ).rejects.toThrow('host 99 does not exist')
    expect((await api.listHosts()).map((h) => h.name)).toEqual([
      'esx01.lab.local',
      'esx02.lab.local',
    ])
  })
})

describe('generate hosts from a pattern', () => {
  it('names, MACs and management addresses count up, skipping addresses in use', async () => {
    const api = await midwife()
    await template(api) // holds 10.0.0.11 (management) and 10.0.0.13 (vMotion)
    const other = await api.saveHost({
      hostname: 'old',
      domain: 'lab.local',
      mac: '00:50:56:aa:cc:01',
      rootPassword: PASSWORD,
    })
    // Its server checked in from 10.0.0.14 and is bound to that address.
    t?.app.store.hosts.setIdentity(other.id, {
      macs: ['00:50:56:aa:cc:01'],
      serial: null,
      uuid: null,
      sshHostKeys: [],
      managementIp: '10.0.0.14',
      boundAt: '2026-01-01T00:00:00.000Z',
      how: 'first_checkin',
      checkinId: null,
    })
    const input = {
      pattern: 'esx{08..12}',
      domain: 'lab.local',
      firstMac: '00:50:56:aa:bb:fe',
      firstIp: '10.0.0.10/24',
      spec: { dns: ['10.0.0.2'] },
      rootPassword: PASSWORD,
    }
    const preview = await api.previewGenerateHosts(input)
    expect(preview.problems).toEqual([])
    expect(preview.counts).toMatchObject({ rows: 5, create: 5 })
    expect(preview.rows.map((r) => [r.name, r.mac, mgmtOf(r), r.rootPassword])).toEqual([
      ['esx08.lab.local', '00:50:56:aa:bb:fe', '10.0.0.10/24', 'given'],
      ['esx09.lab.local', '00:50:56:aa:bb:ff', '10.0.0.12/24', 'given'],
      ['esx10.lab.local', '00:50:56:aa:bc:00', '10.0.0.15/24', 'given'],
      ['esx11.lab.local', '00:50:56:aa:bc:01', '10.0.0.16/24', 'given'],
      ['esx12.lab.local', '00:50:56:aa:bc:02', '10.0.0.17/24', 'given'],
    ])
    expect(preview.notes).toContain(
      'Management addresses count up from the first, skipping those already used.',
    )
    expect(await api.listHosts()).toHaveLength(2)

    const result = await api.generateHosts(input, { confirm: true })
    expect(result.created).toHaveLength(5)
    // The screens load hosts a page at a time, in id order: every host once.
    const pages: number[][] = []
    for (let afterId = 0; ;) {
      const page = await api.listHostsPage({ afterId, limit: 3 })
      pages.push(page.hosts.map((h) => h.id))
      if (!page.more) break
      afterId = page.hosts.at(-1)?.id ?? 0
    }
    const all = (await api.listHosts()).map((h) => h.id)
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1])
    expect(pages.flat()).toEqual([...all].sort((a, b) => a - b))
    await expect(api.listHostsPage({ afterId: 0, limit: 0 })).rejects.toThrow(/limit/)
    const made = await api.getHost(result.created[4] as number)
    expect(made.definition).toMatchObject({
      hostname: 'esx12',
      spec: { dns: ['10.0.0.2'], mgmtAddress: '10.0.0.17/24' },
      hasPassword: true,
    })
    expect((await api.hostAudit(made.id))[0]).toMatchObject({
      data: { generatedBy: 'esx{08..12}' },
    })
  })

  it('starts from a template host, and takes one MAC per host from a list', async () => {
    const api = await midwife()
    const source = await template(api)
    const preview = await api.previewGenerateHosts({
      pattern: 'esx{2..3}',
      domain: 'lab.local',
      from: source.id,
      macs: ['00:50:56:aa:dd:01', '00:50:56:aa:dd:07'],
    })
    expect(preview.problems).toEqual([])
    expect(preview.rows.map((r) => [r.name, r.mac, r.rootPassword])).toEqual([
      ['esx2.lab.local', '00:50:56:aa:dd:01', 'copied'],
      ['esx3.lab.local', '00:50:56:aa:dd:07', 'copied'],
    ])
    expect(preview.rows[0]?.resolved.map((v) => v.key)).toEqual([
      'hostname',
      'dns',
      'ntp',
      'licence',
    ])
    expect(preview.notes).toContain(
      'Each host starts from esx01.lab.local’s own values, except its addresses.',
    )
  })

  it('asks for the root password in the generate form’s words, not a CSV file’s', async () => {
    const api = await midwife()
    const preview = await api.previewGenerateHosts({
      pattern: 'esx{2..3}',
      domain: 'lab.local',
      firstMac: '00:50:56:aa:dd:01',
    })
    expect(preview.problems.map((p) => p.message)).toEqual(
      ['esx2', 'esx3'].map(
        (name, i) =>
          `Host ${i + 1} (${name}.lab.local), root_password: a new host needs the root password it is installed with: type it in Root password, or start from a host to use its password`,
      ),
    )
  })

  it('stores none of them when one collides, and says which', async () => {
    const api = await midwife()
    await template(api)
    const input = {
      pattern: 'esx{00..02}',
      domain: 'lab.local',
      firstMac: '00:50:56:aa:ba:ff',
      spec: { vmknics: [{ portgroup: 'VM Network', ipv4: '10.0.0.13/24', mtu: 1500, tags: [] }] },
      rootPassword: PASSWORD,
    }
    const preview = await api.previewGenerateHosts(input)
    expect(preview.ready).toBe(false)
    expect(preview.problems.map((p) => p.message)).toEqual([
      'Host 1 (esx00.lab.local), vmknics: address 10.0.0.13 is also given to esx01.lab.local, esx02.lab.local',
      'Host 1 (esx00.lab.local), vmknics: 10.0.0.13 is already used by esx01.lab.local',
      'Host 2 (esx01.lab.local), hostname: esx01.lab.local already exists, with MAC 00:50:56:aa:bb:01; a new host needs its own',
      'Host 2 (esx01.lab.local), vmknics: address 10.0.0.13 is also given to esx00.lab.local, esx02.lab.local',
      'Host 2 (esx01.lab.local), vmknics: 10.0.0.13 is already used by esx01.lab.local',
      'Host 3 (esx02.lab.local), mac: 00:50:56:aa:bb:01 is already the MAC of esx01.lab.local; a new host needs its own',
      'Host 3 (esx02.lab.local), vmknics: address 10.0.0.13 is also given to esx00.lab.local, esx01.lab.local',
      'Host 3 (esx02.lab.local), vmknics: 10.0.0.13 is already used by esx01.lab.local',
    ])
    await expect(api.generateHosts(input, { confirm: true })).rejects.toThrow(
      /^nothing was stored: /,
    )
    expect(await api.listHosts()).toHaveLength(1)
  })

  it('says when the subnet runs out, and refuses what cannot make hosts', async () => {
    const api = await midwife()
    const preview = await api.previewGenerateHosts({
      pattern: 'esx{1..3}',
      domain: 'lab.local',
      firstMac: '00:50:56:aa:bb:01',
      firstIp: '10.0.0.1/30',
      rootPassword: PASSWORD,
    })
    expect(preview.problems.map((p) => p.message)).toEqual([
      'Host 3 (esx3.lab.local), mgmt_address: no free address is left in the subnet of 10.0.0.1/30',
    ])
    await expect(
      api.previewGenerateHosts({
        pattern: 'esx{1..3}',
        domain: 'lab.local',
        rootPassword: PASSWORD,
      }),
    ).rejects.toThrow(
      'give firstMac (counted up host by host) or macs (one per host): a definition needs the MAC its server boots from',
    )
    await expect(
      api.previewGenerateHosts({
        pattern: 'esx{1..3}',
        domain: 'lab.local',
        macs: ['00:50:56:aa:bb:01'],
      }),
    ).rejects.toThrow('macs: esx{1..3} makes 3 host(s), and 1 MAC(s) are given')
    await expect(
      api.previewGenerateHosts({
        pattern: 'esx{3..1}',
        domain: 'lab.local',
        firstMac: '00:50:56:aa:bb:01',
      }),
    ).rejects.toThrow('pattern: esx{3..1}: the range counts up, like {01..24}')
    await expect(
      api.previewGenerateHosts({
        pattern: 'esx_{1..2}',
        domain: 'lab.local',
        firstMac: '00:50:56:aa:bb:01',
        rootPassword: PASSWORD,
      }),
    ).resolves.toMatchObject({
      ready: false,
      problems: [
        {
          message:
            'Host 1 (esx_1.lab.local), hostname: esx_1 is not a host name: letters, digits and hyphens (1 to 63), not starting or ending with a hyphen',
        },
        { message: expect.stringContaining('Host 2 (esx_2.lab.local), hostname: ') as unknown },
      ],
    })
    expect(await api.listHosts()).toEqual([])
  })

  it('needs an explicit confirmation', async () => {
    await midwife()
    const reply = await dispatch(t?.app as TestApp['app'], 'generateHosts', [
      { pattern: 'esx{1..2}', domain: 'lab.local', firstMac: '00:50:56:aa:bb:01' },
      {},
    ])
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid' } })
  })

  it('refuses to create what the preview did not show', async () => {
    const api = await midwife()
    const input = {
      pattern: 'esx{1..2}',
      domain: 'lab.local',
      firstMac: '00:50:56:aa:bb:01',
      rootPassword: 'Install-pw-42!',
    }
    const seen = await api.previewGenerateHosts(input)
    expect(seen.counts.create).toBe(2)
    await api.saveHost({
      hostname: 'esx2',
      domain: 'lab.local',
      mac: '00:50:56:aa:cc:02',
      rootPassword: 'Other-pw-43!',
    })
    await expect(api.generateHosts(input, { confirm: true, digest: seen.digest })).rejects.toThrow(
      /^nothing was stored: the hosts or the site profile changed since this preview/,
    )
    expect(await api.listHosts()).toHaveLength(1)
  })
})
