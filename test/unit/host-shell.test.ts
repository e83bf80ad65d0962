// The scripts that run on the host wait with one `nap` function, never a bare
// `sleep` (esxi.md does not list it). checkin.sh carries its own copy, since
// it is served as one file: a fix to one copy that misses the other fails here.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { postSection, preSection } from '../../main/core/boot/install-callbacks'
import { moveScript, type ManagementNetwork } from '../../main/core/configure/move-management'
import { BOUNDED, NAP } from '../../main/core/esxi/host-shell'
import { repoRoot } from '../support/app'

const checkin = readFileSync(join(repoRoot, 'resources', 'client', 'checkin.sh'), 'utf8')

const OLD: ManagementNetwork = { address: '10.0.10.10', prefix: 24, gateway: '10.0.10.1', vlan: 0 }
const NEW: ManagementNetwork = { address: '10.0.20.10', prefix: 24, gateway: '10.0.20.1', vlan: 20 }
const callbacks = {
  listener: { address: '10.0.0.5', port: 8080 },
  token: 'tok_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd',
}

describe('waiting on the host', () => {
  it('checkin.sh defines the very nap and bounded the generated scripts use', () => {
    const copy = /^nap\(\) \{\n[\s\S]*?\n\}$/m.exec(checkin)?.[0]
    expect(copy).toBe(NAP)
    const bounded = /^timeout_style\(\) \{\n[\s\S]*?\n\}\nbounded\(\) \{\n[\s\S]*?\n\}$/m.exec(
      checkin,
    )?.[0]
    expect(bounded).toBe(BOUNDED)
  })

  it.each([
    ['checkin.sh', checkin],
    ['%pre', preSection(callbacks)],
    ['%post', postSection(callbacks)],
    ['the management move', moveScript(OLD, NEW, { confirmSeconds: 30, pingGateway: true })],
  ])('%s waits with nap and calls sleep nowhere else', (_name, script) => {
    expect(script).toContain(NAP)
    expect(script).toMatch(/^\s*nap (\d+|"\$wait")$/m)
    const code = script.replace(NAP, '').replace(/^\s*#.*$/gm, '')
    expect(code).not.toMatch(/\bsleep\b/)
  })

  it.each([
    ['checkin.sh', checkin],
    ['%pre', preSection(callbacks)],
    ['%post', postSection(callbacks)],
    ['the management move', moveScript(OLD, NEW, { confirmSeconds: 30, pingGateway: true })],
  ])('%s runs timeout only through bounded, which knows both of its syntaxes', (_name, script) => {
    expect(script).toContain(BOUNDED)
    const code = script.replace(BOUNDED, '').replace(/^\s*#.*$/gm, '')
    expect(code).not.toMatch(/(^|[\s$(;|&])timeout\s/m)
  })
})
