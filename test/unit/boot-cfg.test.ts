import { describe, expect, it } from 'vitest'
import {
  bootCfgFiles,
  bootCfgGet,
  bootCfgWith,
  kernelCommandLine,
  kernelLineWarning,
  moduleItems,
  netbootBootCfg,
  parseBootCfg,
  renderBootCfg,
  skipBootCfg,
} from '../../main/core/boot/boot-cfg'
import { KERNEL_LINE_WARN } from '../../main/core/boot/material'
import { ISO_BOOT_CFG } from '../fixtures/esxi-media'

const iso = parseBootCfg(ISO_BOOT_CFG['8.0'])

describe('parseBootCfg / renderBootCfg', () => {
  it('reads the ISO file as mboot does and writes it back unchanged', () => {
    expect(bootCfgGet(iso, 'kernel')).toBe('/b.b00')
    expect(bootCfgGet(iso, 'kernelopt')).toBe('cdromBoot runweasel')
    expect(bootCfgGet(iso, 'prefix')).toBe('')
    expect(bootCfgGet(iso, 'build')).toBe('8.0.2-0.0.22380479')
    expect(renderBootCfg(iso)).toBe(ISO_BOOT_CFG['8.0'])
  })

  it('skips comments and blank lines, tolerates CRLF and spaces around =, keeps the last duplicate', () => {
    const cfg = parseBootCfg('# c\r\n\r\ntitle = a b \r\nkernel=/x\r\nkernel=/y\r\n')
    expect(cfg.entries).toEqual([
      { key: 'title', value: 'a b' },
      { key: 'kernel', value: '/x' },
      { key: 'kernel', value: '/y' },
    ])
    expect(bootCfgGet(cfg, 'kernel')).toBe('/y')
  })

  it('refuses a line that is not key=value, naming the line', () => {
    expect(() => parseBootCfg('title=x\nmodules /a --- /b\n')).toThrow(
      'boot.cfg line 2 is not key=value: "modules /a --- /b"',
    )
    expect(() => parseBootCfg('=value\n')).toThrow('line 1')
  })

  it('lists the files it loads, module options kept apart', () => {
    expect(moduleItems('/a.gz --- /b.v00 opt=1 x --- ')).toEqual([
      { path: '/a.gz', options: '' },
      { path: '/b.v00', options: 'opt=1 x' },
    ])
    const files = bootCfgFiles(iso)
    expect(files[0]).toBe('/b.b00')
    expect(files).toContain('/imgpayld.tgz')
    expect(bootCfgWith(iso, 'kernel', undefined).entries.some((e) => e.key === 'kernel')).toBe(
      false,
    )
  })
})

describe('netbootBootCfg', () => {
  const net = netbootBootCfg(iso, {
    prefix: 'http://10.0.0.5:8080/media/8.0/',
    kernelOptions: 'ks=http://10.0.0.5:8080/ks/t.cfg runweasel',
    title: 'T',
  })

  it('strips the leading / from kernel= and modules=, drops cdromBoot, sets prefix= before kernel=', () => {
    expect(bootCfgGet(net, 'kernel')).toBe('b.b00')
    expect(bootCfgFiles(net).filter((f) => f.startsWith('/'))).toEqual([])
    expect(bootCfgFiles(net)).toHaveLength(bootCfgFiles(iso).length)
    // runweasel given again replaces the ISO's instead of doubling it.
    expect(bootCfgGet(net, 'kernelopt')).toBe('ks=http://10.0.0.5:8080/ks/t.cfg runweasel')
    expect(bootCfgGet(net, 'prefix')).toBe('http://10.0.0.5:8080/media/8.0')
    const keys = net.entries.map((e) => e.key)
    expect(keys.indexOf('prefix')).toBe(keys.indexOf('kernel') - 1)
    expect(keys.filter((k) => k === 'prefix')).toHaveLength(1)
    expect(bootCfgGet(net, 'title')).toBe('T')
  })

  it('replaces an earlier ks= rather than adding a second', () => {
    const again = netbootBootCfg(net, {
      prefix: 'esxi/8.0',
      kernelOptions: 'ks=http://10.0.0.5/other.cfg',
    })
    expect(bootCfgGet(again, 'kernelopt')).toBe('runweasel ks=http://10.0.0.5/other.cfg')
    expect(bootCfgGet(again, 'prefix')).toBe('esxi/8.0')
  })

  it('refuses a boot.cfg without kernel= or modules=', () => {
    expect(() => netbootBootCfg(parseBootCfg('title=x\n'), { prefix: 'p' })).toThrow(
      'no kernel= line',
    )
    expect(() => netbootBootCfg(parseBootCfg('kernel=/b.b00\n'), { prefix: 'p' })).toThrow(
      'no modules= line',
    )
  })
})

describe('skip=1 and the kernel command line', () => {
  it('writes a boot.cfg mboot skips', () => {
    expect(renderBootCfg(skipBootCfg('done'))).toBe('title=done\nskip=1\n')
  })

  it('counts the kernel path with its prefix, kernelopt and extra options', () => {
    const net = netbootBootCfg(iso, { prefix: 'http://h/m', kernelOptions: 'ks=http://h/k' })
    expect(kernelCommandLine(net, 'PBHOST=h:1')).toBe(
      'http://h/m/b.b00 runweasel ks=http://h/k PBHOST=h:1',
    )
  })

  it(`warns past ${KERNEL_LINE_WARN} characters, counting the BOOTIF= mboot adds`, () => {
    const pad = (n: number) =>
      netbootBootCfg(iso, { prefix: 'p', kernelOptions: `ks=http://h/${'k'.repeat(n)}` })
    const base = kernelCommandLine(pad(0)).length + ' BOOTIF=01-aa-bb-cc-dd-ee-ff'.length
    const fits = KERNEL_LINE_WARN - base
    expect(kernelLineWarning('x', pad(fits))).toBeUndefined()
    expect(kernelLineWarning('x', pad(fits + 1))).toBe(
      `x: the kernel command line is ${KERNEL_LINE_WARN + 1} characters, over ESXi's limit of about ${KERNEL_LINE_WARN}; shorten the media URL or the kernel options.`,
    )
  })
})
