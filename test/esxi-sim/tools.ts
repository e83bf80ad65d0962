import { EsxcliError, setDefaultGateway } from './esxcli'
import { addressed, answersPing, defaultGateway, isIPv4, routeTable, vmknicFor } from './net'
import { licensedThroughVcenter, vsphereMajor } from './profile'
import { failure, ok, type CommandResult } from './result'
import type { SimState } from './state'

// The host's programs other than esxcli. Each says which of its invocations change the host, so a
// test can prove that a run changed nothing (see isWriteCommand).

export interface Tool {
  run(args: string[], s: SimState): CommandResult
  writes(args: string[]): boolean
}

// Not from esxi.md: the exact vim-cmd license output is a plausible rendering of what the host
// agent prints; only `serial:` carries meaning.
function licenseShow(s: SimState): string {
  const evaluation = /^0{5}(-0{5}){4}$/.test(s.licenseKey)
  const name = licensedThroughVcenter(s)
    ? 'Licensed through vCenter' // invented
    : evaluation
      ? 'Evaluation Mode'
      : `VMware vSphere ${vsphereMajor(s)} Enterprise Plus`
  return (
    '[200] Sending request for installed licenses...[200] Complete, result is:\n' +
    `  serial: ${s.licenseKey}\n` +
    `  vmodl key: ${evaluation ? 'eval' : 'esx.enterprisePlus.cpuPackage'}\n` +
    `  name: ${name}\n` +
    '  total: 0\n' +
    '  used:  1\n' +
    '  unit: cpuPackage\n'
  )
}

type ServiceName = keyof SimState['services']

const SERVICE_ACTIONS: Record<string, [ServiceName, 'enabled' | 'running', boolean]> = {
  'hostsvc/enable_ssh': ['ssh', 'enabled', true],
  'hostsvc/disable_ssh': ['ssh', 'enabled', false],
  'hostsvc/start_ssh': ['ssh', 'running', true],
  'hostsvc/stop_ssh': ['ssh', 'running', false],
  'hostsvc/enable_esx_shell': ['esxShell', 'enabled', true],
  'hostsvc/disable_esx_shell': ['esxShell', 'enabled', false],
  'hostsvc/start_esx_shell': ['esxShell', 'running', true],
  'hostsvc/stop_esx_shell': ['esxShell', 'running', false],
}

const vimCmd: Tool = {
  run([cmd, ...rest], s) {
    const action = cmd === undefined ? undefined : SERVICE_ACTIONS[cmd]
    if (action) {
      const [service, field, value] = action
      s.services[service][field] = value
      return ok()
    }
    if (cmd === 'vimsvc/license') {
      if (rest[0] === '--show') return ok(licenseShow(s))
      if (rest[0] === '--set' && rest[1] !== undefined) {
        if (licensedThroughVcenter(s)) {
          // esxi.md: 9.x hosts are licensed through vCenter. The wording is invented.
          return failure(
            s,
            `License assignment is not supported on this host: ${s.version.product} ${s.version.version} is licensed through vCenter`,
          )
        }
        // invented; the key is not echoed, as a licence key is a secret.
        if (!/^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$/i.test(rest[1]))
          return failure(s, 'License key is invalid')
        s.licenseKey = rest[1].toUpperCase()
        return ok(licenseShow(s))
      }
      return failure(s, 'Usage: license --show | --set <key>') // invented
    }
    return failure(s, `Command not found: ${cmd ?? ''}`) // invented
  },
  writes: ([cmd, ...rest]) =>
    (cmd !== undefined && cmd in SERVICE_ACTIONS) ||
    (cmd === 'vimsvc/license' && rest[0] === '--set'),
}

const vsish: Tool = {
  run(args, s) {
    // esxi.md leaves the surrounding output unconfirmed: the node prints the stored string as is,
    // so tests that want a wrapper can store it in bootCmdLine.
    if (
      args.length === 3 &&
      args[0] === '-e' &&
      args[1] === 'get' &&
      args[2] === '/system/bootCmdLine'
    ) {
      return ok(`${s.bootCmdLine}\n`)
    }
    return failure(s, `vsish: unsupported request: ${args.join(' ')}`) // invented
  },
  writes: () => false,
}

const vmware: Tool = {
  run(args, s) {
    if (args.length !== 1 || args[0] !== '-v') return failure(s, 'Usage: vmware -v') // invented
    const build = s.version.build.replace(/^Releasebuild-/, '')
    return ok(`${s.version.product} ${s.version.version} build-${build}\n`)
  },
  writes: () => false,
}

/** esxi.md's read-back `/etc/init.d/SSH status`; wording and exit 3 (LSB "not running") invented. */
function initScript(service: ServiceName, name: string): Tool {
  return {
    run(args, s) {
      if (args.length === 1 && args[0] === 'status') {
        return s.services[service].running
          ? ok(`${name} is running\n`)
          : { stdout: `${name} is not running\n`, stderr: '', code: 3 }
      }
      if (args.length === 1 && (args[0] === 'start' || args[0] === 'stop')) {
        s.services[service].running = args[0] === 'start'
        return ok()
      }
      return failure(s, `Usage: /etc/init.d/${name} {start|stop|status}`) // invented
    },
    writes: (args) => args[0] === 'start' || args[0] === 'stop',
  }
}

const esxcfgRoute: Tool = {
  run(args, s) {
    if (args.length === 0) {
      const gw = defaultGateway(s)
      // esxi.md gives the first wording; the one for no gateway is invented.
      return ok(
        gw === null
          ? 'VMkernel default gateway is not set\n'
          : `VMkernel default gateway is ${gw}\n`,
      )
    }
    if (args.length === 1 && args[0] === '-l') {
      // invented layout.
      const row = (a: string, b: string, c: string, d: string) =>
        `${a.padEnd(17)}${b.padEnd(17)}${c.padEnd(17)}${d}\n`
      const rows = routeTable(s).map((r) =>
        row(
          r.network,
          r.netmask,
          r.gateway === '0.0.0.0' ? 'Local Subnet' : r.gateway,
          r.interface,
        ),
      )
      return ok(
        `VMkernel Routes:\n${row('Network', 'Netmask', 'Gateway', 'Interface')}${rows.join('')}`,
      )
    }
    const gw = args[0]
    if (args.length === 1 && gw !== undefined && isIPv4(gw)) {
      try {
        setDefaultGateway(s, gw)
      } catch (err) {
        if (err instanceof EsxcliError) return failure(s, err.message)
        throw err
      }
      return ok(`VMkernel default gateway set to ${gw}\n`) // invented
    }
    return failure(s, 'Usage: esxcfg-route [-l] [<gateway>]') // invented
  },
  writes: (args) => args.length > 0 && args[0] !== '-l',
}

/**
 * vmkping is not in esxi.md: an invented extra (the `vmkping` quirk removes it), whose answers
 * come from the state (net.ts answersPing). Output modelled on BusyBox ping.
 */
const vmkping: Tool = {
  run(args, s) {
    const usage = () =>
      failure(s, 'Usage: vmkping [-4] [-c count] [-d] [-I vmkN] [-s size] [-W timeout] host') // invented
    let iface: string | undefined
    let count = 3
    let size = 56
    let dontFragment = false
    let target: string | undefined
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? ''
      const value = () => args[++i] ?? ''
      if (a === '-I') iface = value()
      else if (a === '-c') count = Number(value())
      else if (a === '-s') size = Number(value())
      else if (a === '-W' || a === '-i' || a === '-t') {
        if (!/^\d+(\.\d+)?$/.test(value())) return usage()
      } else if (a === '-d') dontFragment = true
      else if (a === '-4') continue
      else if (a.startsWith('-') || target !== undefined) return usage()
      else target = a
    }
    if (target === undefined || !Number.isInteger(count) || count < 1 || !Number.isInteger(size)) {
      return usage()
    }
    if (!isIPv4(target)) return failure(s, `vmkping: unknown host ${target}`) // invented
    const v =
      iface === undefined
        ? (vmknicFor(s, target) ?? s.vmknics.find((n) => n.name === 'vmk0'))
        : s.vmknics.find((n) => n.name === iface)
    if (!v) return failure(s, `Unknown interface '${iface ?? 'vmk0'}': Invalid argument`) // invented
    if (!addressed(v)) return failure(s, `sendto() failed (Network is unreachable)`) // invented
    const tooBig = dontFragment && size + 28 > v.mtu
    const answers = !tooBig && answersPing(s, v, target)
    const lines = [`PING ${target} (${target}): ${size} data bytes`]
    for (let seq = 0; seq < count; seq++) {
      if (tooBig) lines.push('sendto() failed (Message too long)')
      else if (answers)
        lines.push(`${size + 8} bytes from ${target}: icmp_seq=${seq} ttl=64 time=0.102 ms`)
    }
    const received = answers ? count : 0
    lines.push(
      '',
      `--- ${target} ping statistics ---`,
      `${count} packets transmitted, ${received} packets received, ${received ? 0 : 100}% packet loss`,
    )
    if (received) lines.push('round-trip min/avg/max = 0.102/0.102/0.102 ms')
    return { stdout: `${lines.join('\n')}\n`, stderr: '', code: received ? 0 : 1 }
  },
  writes: () => false,
}

export const TOOLS: Record<string, Tool> = {
  'vim-cmd': vimCmd,
  vsish,
  vmware,
  'esxcfg-route': esxcfgRoute,
  vmkping,
  '/etc/init.d/SSH': initScript('ssh', 'SSH'),
  '/etc/init.d/ESXShell': initScript('esxShell', 'ESXShell'),
}
