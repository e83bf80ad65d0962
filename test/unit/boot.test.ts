import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encrypt, verify } from 'unixcrypt'
import { afterEach, describe, expect, it } from 'vitest'
import { sectionScript } from '../../main/core/boot/install-callbacks'
import { renderBoot } from '../../main/core/boot/kinds'
import {
  installBootOptions,
  oneLiner,
  renderDiscoveryKickstart,
  renderKickstart,
  shellQuote,
  type BootTemplates,
  type KickstartContext,
} from '../../main/core/boot/material'
import { fillTemplate } from '../../main/core/boot/template'
import { InstallOptions } from '../../main/catalogue/install'

const resources = fileURLToPath(new URL('../../resources/', import.meta.url))
const read = (rel: string) => readFileSync(join(resources, rel), 'utf8')

const templates: BootTemplates = {
  kickstart: read('templates/ks.cfg'),
  discoveryKickstart: read('templates/ks-discover.cfg'),
  client: read('client/checkin.sh'),
}

const ROOT_PASSWORD = 'S3cret-R00t!pw'
const ROOT_HASH = encrypt(ROOT_PASSWORD)
const TOKEN = 'tok_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd'
const LISTENER = 'http://10.0.0.5:8080'

const host: KickstartContext['host'] = {
  id: 7,
  hostname: 'esx01',
  domain: 'lab.local',
  mac: '00:50:56:b3:b9:89',
}

const install = InstallOptions.parse({})

function context(over: Partial<KickstartContext> = {}): KickstartContext {
  return {
    host,
    install,
    parts: [],
    token: TOKEN,
    listenerUrl: LISTENER,
    rootPasswordHash: ROOT_HASH,
    callbacks: { address: '10.0.0.5', port: 8080 },
    ...over,
  }
}

function sh(script: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env })
}

describe('fillTemplate', () => {
  it('fills every placeholder, repeated ones included', () => {
    expect(fillTemplate('{{a}}-{{b}}-{{a}}', { a: 'x', b: 'y' })).toBe('x-y-x')
    expect(fillTemplate('no placeholders', {})).toBe('no placeholders')
  })

  it('inserts values literally, even ones that look like replacement patterns', () => {
    expect(fillTemplate('pw {{h}}', { h: '$6$salt$abc$&' })).toBe('pw $6$salt$abc$&')
  })

  it('throws on a placeholder without a value', () => {
    expect(() => fillTemplate('{{a}} {{missing}}', { a: 'x' })).toThrow(
      'template placeholder {{missing}} has no value',
    )
  })

  it('throws on a value without a placeholder', () => {
    expect(() => fillTemplate('{{a}}', { a: 'x', extra: 'y', more: 'z' })).toThrow(
      'template has no placeholder for: extra, more',
    )
  })
})

describe('renderKickstart', () => {
  const ks = renderKickstart(templates, context())
  const lines = ks.split('\n')

  it('has the install commands ESXi needs', () => {
    expect(lines).toContain('vmaccepteula')
    // Overwriting an existing VMFS is an explicit choice, off by default.
    expect(lines).toContain('install --firstdisk=local')
    expect(lines.some((l) => l.startsWith('# The install ERASES the first local disk'))).toBe(true)
    expect(lines).toContain(`rootpw --iscrypted ${ROOT_HASH}`)
    expect(ROOT_HASH.startsWith('$6$')).toBe(true)
    expect(lines).toContain('network --bootproto=dhcp --device=00:50:56:b3:b9:89')
    expect(lines).toContain('reboot')
    expect(lines[0]).toBe('# Midwife kickstart for esx01.lab.local')
    expect(ks).not.toContain('{{')
  })

  it('is assembled from the settings’ install-time parts and the install options', () => {
    const built = renderKickstart(
      templates,
      context({
        install: InstallOptions.parse({
          disk: { kind: 'named', disk: 'mpx.vmhba0:C0:T0:L0' },
          overwriteVmfs: true,
          keyboard: 'German',
          allowLegacyCpu: true,
        }),
        parts: [
          { network: { hostname: 'esx01.lab.local' } },
          { network: { nameserver: '10.0.0.2,10.0.0.3' } },
          { network: { ip: '10.0.0.11', netmask: '255.255.255.0', gateway: '10.0.0.1' } },
          { network: { vlanid: '100' } },
        ],
      }),
    ).split('\n')
    expect(built).toContain(
      'install --disk=mpx.vmhba0:C0:T0:L0 --overwritevmfs --forceunsupportedinstall',
    )
    expect(built).toContain("keyboard 'German'")
    expect(built).toContain(
      'network --bootproto=static --device=00:50:56:b3:b9:89 --ip=10.0.0.11 --netmask=255.255.255.0 --gateway=10.0.0.1 --nameserver=10.0.0.2,10.0.0.3 --hostname=esx01.lab.local --vlanid=100',
    )
    expect(
      built.some((l) => l.includes('ERASES disk mpx.vmhba0:C0:T0:L0, including any VMFS')),
    ).toBe(true)
    // The boot line carries what the install needs besides ks=.
    expect(
      installBootOptions({ install: InstallOptions.parse({ allowLegacyCpu: true }), parts: [] }),
    ).toEqual(['allowLegacyCPU=true'])
    expect(installBootOptions({ install, parts: [{ bootOptions: ['nofb'] }] })).toEqual(['nofb'])
  })

  it('refuses a keyboard layout or disk name that could end its line in the kickstart', () => {
    // The installer is Python: a file read in text mode ends lines at \r too, and
    // splitlines() at \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029; any of them would start
    // a kickstart command of its own (here a second rootpw).
    for (const end of ['\r', '\v', '\f', '\x1c', '\x85', '\u2028', '\u2029']) {
      const r = InstallOptions.safeParse({ keyboard: `US Default${end}rootpw x` })
      expect(r.success, JSON.stringify(end)).toBe(false)
      const disk = { kind: 'named', disk: `mpx.vmhba0:C0:T0:L0${end}rootpw` }
      expect(InstallOptions.safeParse({ disk }).success, JSON.stringify(end)).toBe(false)
    }
    expect(InstallOptions.parse({ keyboard: 'Swiss German' }).keyboard).toBe('Swiss German')
  })

  it('never contains the plain root password, and its hash verifies against it', () => {
    expect(ks).not.toContain(ROOT_PASSWORD)
    const hash = /^rootpw --iscrypted (\S+)$/m.exec(ks)?.[1]
    expect(hash).toMatch(/^\$6\$/)
    expect(verify(ROOT_PASSWORD, hash as string)).toBe(true)
    expect(verify('not-the-password', hash as string)).toBe(false)
  })

  it('turns SSH on in a busybox %firstboot section', () => {
    const at = lines.indexOf('%firstboot --interpreter=busybox')
    expect(at).toBeGreaterThan(lines.indexOf('reboot'))
    const firstboot = lines.slice(at + 1)
    expect(firstboot).toContain('vim-cmd hostsvc/enable_ssh')
    expect(firstboot).toContain('vim-cmd hostsvc/start_ssh')
    expect(firstboot.indexOf('vim-cmd hostsvc/enable_ssh')).toBeLessThan(
      firstboot.indexOf('vim-cmd hostsvc/start_ssh'),
    )
  })

  it('presets MIDWIFE_URL and MIDWIFE_TOKEN before the check-in client body', () => {
    const at = lines.indexOf('%firstboot --interpreter=busybox')
    const urlAt = lines.indexOf(`MIDWIFE_URL='${LISTENER}'`)
    const tokenAt = lines.indexOf(`MIDWIFE_TOKEN='${TOKEN}'`)
    const exportAt = lines.indexOf('export MIDWIFE_URL MIDWIFE_TOKEN')
    const bodyAt = lines.indexOf('CLIENT_VERSION=checkin.sh/1')
    expect(urlAt).toBeGreaterThan(at)
    expect(tokenAt).toBe(urlAt + 1)
    expect(exportAt).toBe(tokenAt + 1)
    expect(bodyAt).toBeGreaterThan(exportAt)
    expect(lines.findIndex((l) => l.startsWith('[ -n "$MIDWIFE_URL" ]'))).toBeGreaterThan(exportAt)
    // The client's own comment lines are compacted away, and no second shebang appears.
    expect(ks).not.toContain('#!/bin/sh')
    expect(ks).not.toContain('# Midwife check-in client for VMware ESXi.')
  })

  it('gives a %firstboot section the shell can parse', () => {
    const header = '%firstboot --interpreter=busybox\n'
    const body = ks.slice(ks.indexOf(header) + header.length)
    expect(body.startsWith('# SSH is off after install')).toBe(true)
    const r = spawnSync('/bin/sh', ['-n'], { input: body, encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })
})

describe('the install callbacks in the kickstart', () => {
  it('has %pre and %post posting to the listener’s IP literal, before %firstboot', () => {
    const ks = renderKickstart(templates, context())
    const lines = ks.split('\n')
    const pre = lines.indexOf('%pre --interpreter=busybox')
    const post = lines.findIndex((l) =>
      l.startsWith('%post --interpreter=busybox --ignorefailure=true'),
    )
    const firstboot = lines.indexOf('%firstboot --interpreter=busybox')
    expect(pre).toBeGreaterThan(lines.indexOf('reboot'))
    expect(post).toBeGreaterThan(pre)
    expect(firstboot).toBeGreaterThan(post)
    expect(ks).toContain(`MW_URL='http://10.0.0.5:8080/install/${TOKEN}/installing'`)
    expect(ks).toContain(`MW_URL='http://10.0.0.5:8080/install/${TOKEN}/installed'`)
    // Each section is a script the shell can parse on its own.
    for (const at of [pre, post]) {
      const section = lines
        .slice(
          at,
          lines.findIndex((l, i) => i > at && l.startsWith('%')),
        )
        .join('\n')
      const r = spawnSync('/bin/sh', ['-n'], { input: sectionScript(section), encoding: 'utf8' })
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    }
  })

  it('encodes JSON strings with the very awk program checkin.sh uses', () => {
    // Two copies of one encoder (the installer's sections cannot source the
    // client): a fix to one that misses the other fails here.
    const awk = (text: string, fn: string) =>
      new RegExp(`${fn}\\(\\) \\{\\n([\\s\\S]*?)\\n\\}`).exec(text)?.[1]
    const client = awk(read('client/checkin.sh'), 'jstr')
    const post = awk(renderKickstart(templates, context()), 'mw_jstr')
    expect(client).toContain('gsub(/[\\001-\\010\\013-\\037]/')
    expect(post).toBe(client)
  })

  it('leaves them out, saying why, when the listener is advertised by name', () => {
    const ks = renderKickstart(templates, context({ callbacks: null }))
    expect(ks).not.toMatch(/^%pre/m)
    expect(ks).not.toMatch(/^%post/m)
    expect(ks).toContain('# No install callbacks: the listener is advertised by name')
  })
})

describe('the generic kickstart for unknown servers', () => {
  const KEY = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde'
  const discovery = (callbacks: { address: string; port: number } | null) =>
    renderDiscoveryKickstart(templates, {
      listenerUrl: LISTENER,
      install,
      enrollmentKey: KEY,
      rootPasswordHash: ROOT_HASH,
      callbacks,
    })

  it('keeps its network %pre, and reports installed from %post to the enrollment key’s address', () => {
    const ks = discovery({ address: '10.0.0.5', port: 8080 })
    const lines = ks.split('\n')
    const pre = lines.indexOf('%pre --interpreter=busybox')
    const post = lines.findIndex((l) =>
      l.startsWith('%post --interpreter=busybox --ignorefailure=true'),
    )
    const firstboot = lines.indexOf('%firstboot --interpreter=busybox')
    expect(pre).toBeGreaterThan(-1)
    expect(lines[pre + 1]).toContain('the management network on the NIC this server booted from')
    expect(post).toBeGreaterThan(pre)
    expect(firstboot).toBeGreaterThan(post)
    // One %pre (the network line; no installing report: there is no host to move) and one %post.
    expect(lines.filter((l) => l.startsWith('%pre')).length).toBe(1)
    expect(lines.filter((l) => l.startsWith('%post')).length).toBe(1)
    expect(ks).toContain(`MW_URL='http://10.0.0.5:8080/install/discover/${KEY}/installed'`)
    expect(ks).not.toContain('/installing')
    const section = lines.slice(post, firstboot).join('\n')
    const r = spawnSync('/bin/sh', ['-n'], { input: sectionScript(section), encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('leaves the %post report out, saying why, when the listener is advertised by name', () => {
    const ks = discovery(null)
    expect(ks).not.toMatch(/^%post/m)
    expect(ks).toMatch(/^%pre/m)
    expect(ks).toContain('# No %post report: the listener is advertised by name')
  })
})

describe('the one-liner for a host installed by hand', () => {
  let dir: string | undefined

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('is the same one the one-liner boot kind hands out', () => {
    const r = renderBoot(
      {
        site: {
          listener: { address: '10.0.0.5', port: 8080 },
          media: {},
          enrollment: {
            pbhost: '10.0.0.5:8080',
            pbkey: 'enroll-Secret-0123456789',
            kickstartUrl: `${LISTENER}/ks/discover/x.cfg`,
          },
        },
        host: { ...host, token: TOKEN, armed: true, esxiVersion: '8.0' },
      },
      ['one-liner'],
    )
    const [a] = r.artifacts
    expect(a && 'text' in a ? a.text : '').toBe(`${oneLiner(LISTENER, TOKEN)}\n`)
  })

  it('turns the firewall off, pipes the client from the listener into sh, and turns it back', () => {
    const line = oneLiner(LISTENER, TOKEN)
    const parts = line.split(';')
    const off = parts.indexOf('esxcli network firewall set --enabled false')
    const fetch = parts.indexOf(`wget -qO- ${LISTENER}/c/${TOKEN}.sh|sh`)
    const restore = parts.findIndex((p) => p.startsWith('esxcli network firewall set --enabled $'))
    expect(off).toBeGreaterThanOrEqual(0)
    expect(fetch).toBe(off + 1)
    expect(restore).toBe(fetch + 1)
  })

  /** Runs the one-liner against fake esxcli and wget that log what they were asked. */
  function runOneLiner(firewallEnabled: string | null): string[] {
    dir = mkdtempSync(join(tmpdir(), 'midwife-oneliner-'))
    const log = join(dir, 'log')
    const esxcli = [
      '#!/bin/sh',
      `echo "esxcli $*" >> '${log}'`,
      'if [ "$*" = "network firewall get" ]; then',
      firewallEnabled === null
        ? '  exit 1'
        : `  printf '   Default Action: DROP\\n   Enabled: ${firewallEnabled}\\n   Loaded: true\\n'`,
      'fi',
    ].join('\n')
    const wget = ['#!/bin/sh', `echo "wget $*" >> '${log}'`, `echo "echo client ran >> '${log}'"`]
    writeFileSync(join(dir, 'esxcli'), `${esxcli}\n`)
    writeFileSync(join(dir, 'wget'), `${wget.join('\n')}\n`)
    chmodSync(join(dir, 'esxcli'), 0o755)
    chmodSync(join(dir, 'wget'), 0o755)
    const r = sh(oneLiner(LISTENER, TOKEN), { ...process.env, PATH: `${dir}:${process.env.PATH}` })
    expect(r.status).toBe(0)
    return readFileSync(log, 'utf8').trimEnd().split('\n')
  }

  it('when run, fetches and runs the client with the firewall off, then turns it back on', () => {
    expect(runOneLiner('true')).toEqual([
      'esxcli network firewall get',
      'esxcli network firewall set --enabled false',
      `wget -qO- ${LISTENER}/c/${TOKEN}.sh`,
      'client ran',
      'esxcli network firewall set --enabled true',
    ])
  })

  it('leaves a firewall that was off, off', () => {
    expect(runOneLiner('false').at(-1)).toBe('esxcli network firewall set --enabled false')
  })

  it('turns the firewall on when its state could not be read', () => {
    expect(runOneLiner(null).at(-1)).toBe('esxcli network firewall set --enabled true')
  })
})

describe('shellQuote', () => {
  it('round-trips awkward values through sh', () => {
    for (const value of [
      'plain',
      "it's",
      "'",
      "''",
      "a'b'c",
      'two  spaces',
      '$HOME `id` $(id) \\ "double" ; | & * ?',
      'line1\nline2',
      '',
    ]) {
      const r = sh(`printf %s ${shellQuote(value)}`)
      expect(r.status).toBe(0)
      expect(r.stdout).toBe(value)
    }
  })

  it('wraps in single quotes and escapes embedded ones', () => {
    expect(shellQuote('abc')).toBe("'abc'")
    expect(shellQuote("it's")).toBe("'it'\\''s'")
  })
})
