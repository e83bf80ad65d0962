import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encrypt, verify } from 'unixcrypt'
import { afterEach, describe, expect, it } from 'vitest'
import {
  bootMaterial,
  KERNEL_LINE_WARN,
  kickstartUrl,
  oneLiner,
  renderKickstart,
  shellQuote,
  type BootContext,
  type BootTemplates,
} from '../../main/core/boot/material'
import { fillTemplate } from '../../main/core/boot/template'
import { InstallOptions } from '../../main/catalogue/install'

const resources = fileURLToPath(new URL('../../resources/', import.meta.url))
const read = (rel: string) => readFileSync(join(resources, rel), 'utf8')

const templates: BootTemplates = {
  kickstart: read('templates/ks.cfg'),
  discoveryKickstart: read('templates/ks-discover.cfg'),
  ipxe: read('templates/ipxe.txt'),
  pxelinux: read('templates/pxelinux.txt'),
  client: read('client/checkin.sh'),
}

const ROOT_PASSWORD = 'S3cret-Root!pw'
const ROOT_HASH = encrypt(ROOT_PASSWORD)
const TOKEN = 'tok_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd'
const LISTENER = 'http://10.0.0.5:8080'
const MEDIA = 'http://10.0.0.5/esxi8'

const host: BootContext['host'] = {
  id: 7,
  hostname: 'esx01',
  domain: 'lab.local',
  mac: '00:50:56:b3:b9:89',
}

const install = InstallOptions.parse({})

function context(over: Partial<BootContext> = {}): BootContext {
  return {
    host,
    install,
    parts: [],
    token: TOKEN,
    listenerUrl: LISTENER,
    rootPasswordHash: ROOT_HASH,
    mediaBaseUrl: MEDIA,
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
    const material = bootMaterial(
      templates,
      context({ install: InstallOptions.parse({ allowLegacyCpu: true }) }),
    )
    expect(material.pxelinuxAppend).toMatch(/ks=\S+ allowLegacyCPU=true$/)
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

describe('bootMaterial', () => {
  it('points every boot path at the kickstart URL', () => {
    const m = bootMaterial(templates, context())
    const url = `${LISTENER}/ks/${TOKEN}.cfg`
    expect(kickstartUrl(LISTENER, TOKEN)).toBe(url)
    expect(m.hostId).toBe(7)
    expect(m.kickstartUrl).toBe(url)
    expect(m.pxelinuxAppend).toBe(`APPEND -c boot.cfg ks=${url}`)
    expect(m.ipxeScript.split('\n')).toEqual([
      '#!ipxe',
      `# Midwife: install esx01.lab.local from ${MEDIA}`,
      `kernel ${MEDIA}/efi/boot/bootx64.efi -c ${MEDIA}/boot.cfg ks=${url}`,
      'boot',
      '',
    ])
    expect(m.kickstart).toBe(renderKickstart(templates, context()))
    expect(m.secrets).toEqual([TOKEN, ROOT_HASH])
    expect(m.warnings).toEqual([])
  })

  it('drops trailing slashes from the media URL', () => {
    const m = bootMaterial(templates, context({ mediaBaseUrl: `${MEDIA}//` }))
    expect(m.ipxeScript).toContain(`kernel ${MEDIA}/efi/boot/bootx64.efi -c ${MEDIA}/boot.cfg `)
    expect(m.warnings).toEqual([])
  })

  it('warns and uses a placeholder when the media URL is empty', () => {
    const m = bootMaterial(templates, context({ mediaBaseUrl: '' }))
    expect(m.ipxeScript).toContain(
      'kernel http://PXE-SERVER/esxi/efi/boot/bootx64.efi -c http://PXE-SERVER/esxi/boot.cfg ks=',
    )
    expect(m.warnings).toHaveLength(1)
    expect(m.warnings[0]).toContain('http://PXE-SERVER/esxi')
    expect(m.warnings[0]).toContain('media URL is not set')
  })

  it('warns when the listener is advertised on a loopback address', () => {
    for (const listenerUrl of ['http://127.0.0.1:8080', 'http://localhost:8080']) {
      const m = bootMaterial(templates, context({ listenerUrl }))
      expect(m.warnings).toEqual([
        `The listener is advertised as ${listenerUrl}, which only this machine can reach; set the advertised address under Site.`,
      ])
    }
    expect(
      bootMaterial(templates, context({ listenerUrl: 'http://10.1.2.3:8080' })).warnings,
    ).toEqual([])
  })

  it('warns when a kernel line is longer than KERNEL_LINE_WARN', () => {
    expect(KERNEL_LINE_WARN).toBe(1024)
    const media = `http://10.0.0.5/${'m'.repeat(500)}`
    const m = bootMaterial(templates, context({ mediaBaseUrl: media }))
    const kernel = m.ipxeScript.split('\n').find((l) => l.startsWith('kernel ')) as string
    expect(kernel.length).toBeGreaterThan(KERNEL_LINE_WARN)
    expect(m.warnings).toEqual([
      `A boot line is ${kernel.length} characters; ESXi's kernel command line limit is near ${KERNEL_LINE_WARN}.`,
    ])
  })

  it('does not warn about a kernel line just under the limit', () => {
    const m0 = bootMaterial(templates, context())
    const base = (m0.ipxeScript.split('\n')[2] as string).length
    // Each extra media character appears twice on the kernel line.
    const pad = Math.floor((KERNEL_LINE_WARN - base) / 2)
    const media = `${MEDIA}${'x'.repeat(pad)}`
    const m = bootMaterial(templates, context({ mediaBaseUrl: media }))
    const kernel = m.ipxeScript.split('\n')[2] as string
    expect(kernel.length).toBeLessThanOrEqual(KERNEL_LINE_WARN)
    expect(kernel.length).toBeGreaterThan(KERNEL_LINE_WARN - 2)
    expect(m.warnings).toEqual([])
  })
})

describe('the one-liner for a host installed by hand', () => {
  let dir: string | undefined

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('is the same one bootMaterial hands out', () => {
    expect(bootMaterial(templates, context()).oneLiner).toBe(oneLiner(LISTENER, TOKEN))
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
