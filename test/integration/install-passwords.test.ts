// The root password a server is installed with (the kickstart's rootpw) must
// pass ESXi's default password rules wherever it is typed: the host form, the
// site's discovery password, a clone, a generated batch (the CSV import is in
// csv-import.test.ts). The installer may not enforce them, and a host
// installed with a password ESXi later refuses is a trap. A refusal names the
// rule, never the password, and stores nothing; a host stored before the rule
// with a weaker password still loads and saves when no new one is typed.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, dispatch, type Api } from '../../main/contract/api'
import { LocalKeySecretBox } from '../../main/core/secrets'
import { artifactText, sampleHost, startTestApp, type TestApp } from '../support/app'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

async function midwife(): Promise<{ t: TestApp; api: Api }> {
  const started = await startTestApp()
  t = started
  return { t: started, api: createClient((name, args) => dispatch(started.app, name, args)) }
}

const SHORT = 'Ab1!x'
const TWO_CLASSES = 'Welcome2' // the capital leads and the digit ends: only lower case counts
const WITH_USER = 'myRoot-pw-42'
const CLASSES_RULE =
  'the password must mix at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count)'
const WEAK: Array<[string, string]> = [
  [SHORT, 'the password is too short: ESXi wants at least 7 characters'],
  [TWO_CLASSES, CLASSES_RULE],
  [WITH_USER, 'the password must not contain the user name root'],
  ['Aa1!'.repeat(10), 'the password is too long: ESXi takes at most 39 characters'],
]

/** The refusal's message, checked not to quote the password. */
async function refusal(call: Promise<unknown>, password: string): Promise<string> {
  const err = await call.then(
    () => null,
    (e: unknown) => e as Error,
  )
  expect(err).toBeInstanceOf(Error)
  const message = (err as Error).message
  expect(message).not.toContain(password)
  return message
}

describe('install root passwords follow ESXi’s default rules', () => {
  it.each(WEAK)(
    'a host saved with %j is refused with the rule, and nothing is stored',
    async (pw, rule) => {
      const { t, api } = await midwife()
      const message = await refusal(api.saveHost({ ...sampleHost, rootPassword: pw }), pw)
      expect(message).toBe(`rootPassword: ${rule}`)
      expect(await api.listHosts()).toEqual([])
      expect(t.app.store.events.list().map((e) => e.type)).not.toContain('host.created')
    },
  )

  it('a new password for a stored host is checked; the stored one stays', async () => {
    const { t, api } = await midwife()
    const host = await api.saveHost(sampleHost)
    const sealed = t.app.store.hosts.secrets(host.id)?.rootPassword
    const message = await refusal(
      api.saveHost({ ...sampleHost, id: host.id, rootPassword: TWO_CLASSES }),
      TWO_CLASSES,
    )
    expect(message).toBe(`rootPassword: ${CLASSES_RULE}`)
    expect(t.app.store.hosts.secrets(host.id)?.rootPassword).toEqual(sealed)
  })

  it('a host stored with a weaker password still loads, and saves when none is typed', async () => {
    const { t, api } = await midwife()
    const host = await api.saveHost(sampleHost)
    // As a database from before the rule holds it.
    const box = new LocalKeySecretBox(join(t.dataDir, 'secret.key'))
    t.app.store.hosts.setRootPassword(host.id, box.seal('vmware'))
    expect((await api.getHost(host.id)).definition?.hasPassword).toBe(true)
    const { rootPassword: _kept, ...fields } = sampleHost
    const saved = await api.saveHost({ ...fields, id: host.id, spec: { dns: ['10.0.0.9'] } })
    expect(saved.definition?.spec).toMatchObject({ dns: ['10.0.0.9'] })
    const stored = t.app.store.hosts.secrets(host.id)?.rootPassword as Buffer
    expect(box.open(stored)).toBe('vmware')
    // Its kickstart is still made, with the password it was stored with.
    expect(artifactText(await api.getBootMaterial(host.id), 'kickstart')).toMatch(
      /^rootpw --iscrypted \$6\$/m,
    )
  })

  it('refuses a weak discovery root password and keeps none', async () => {
    const { t, api } = await midwife()
    const message = await refusal(
      api.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: TWO_CLASSES }),
      TWO_CLASSES,
    )
    expect(message).toBe(`discoveryRootPassword: ${CLASSES_RULE}`)
    expect((await api.getDiscoveryMaterial()).hasRootPassword).toBe(false)
    expect(t.app.store.settings.secret('discovery_root_password')).toBeFalsy()
    await api.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    expect((await api.getDiscoveryMaterial()).hasRootPassword).toBe(true)
  })

  it('refuses a weak password for a clone or a generated batch, storing nothing', async () => {
    const { api } = await midwife()
    const source = await api.saveHost(sampleHost)
    const clone = await refusal(
      api.cloneHost(source.id, {
        hostname: 'esx02',
        mac: '00:50:56:aa:bb:02',
        rootPassword: SHORT,
      }),
      SHORT,
    )
    expect(clone).toBe(
      '1.rootPassword: the password is too short: ESXi wants at least 7 characters',
    )
    const generate = { pattern: 'esx{02..03}', domain: 'lab.local', firstMac: '00:50:56:aa:bb:02' }
    const rule = 'rootPassword: the password must not contain the user name root'
    expect(
      await refusal(api.previewGenerateHosts({ ...generate, rootPassword: WITH_USER }), WITH_USER),
    ).toBe(rule)
    expect(
      await refusal(
        api.generateHosts({ ...generate, rootPassword: WITH_USER }, { confirm: true }),
        WITH_USER,
      ),
    ).toBe(`0.${rule}`)
    expect((await api.listHosts()).map((h) => h.name)).toEqual(['esx01.lab.local'])
  })
})
