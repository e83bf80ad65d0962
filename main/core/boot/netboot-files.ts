// What the listener serves to a server booting from the network: the
// installer media (/media/<version>/...), the UEFI loader (/boot/mboot.efi),
// the generic menus and boot.cfg files for unknown servers, and each host's
// per-MAC files. A host's per-MAC files start the installer only while its
// netboot is armed; once it is installed they boot the local disk. So do the
// per-MAC files of a MAC no definition has, once the generic kickstart
// reported it installed the server that booted from it.
import { EsxiVersion } from '../../contract/schemas'
import { hostName } from '../hosts/host-view'
import { TOKEN_SPENT } from '../lifecycle/table'
import { MediaPathError, resolveMediaPath } from '../media/library'
import { escapeControl, type Logger } from '../log'
import type { Store } from '../store'
import { renderBootCfg, skipBootCfg } from './boot-cfg'
import type { BootInputs } from './boot-inputs'
import { isTextArtifact, type Artifact, type BootInput } from './input'
import { renderBoot } from './kinds'
import { HTTP_PATHS } from './layout'

/** A boot file: text rendered now, a file on disk to stream, or why not. */
export type BootServed =
  | { ok: true; text: string }
  | { ok: true; file: string }
  | { ok: false; status: 400 | 403 | 404; message: string }

/** `01-aa-bb-cc-dd-ee-ff` as mboot, PXELINUX and iPXE ask for it: lower case only. */
const MAC_IN_PATH = /\/01-([0-9a-f]{2}(?:-[0-9a-f]{2}){5})(?:\/|\.ipxe$)/
const MEDIA_PATH = new RegExp(`^${HTTP_PATHS.media}/([^/]+)/(.+)$`)

/** Paths under the listener that belong to network boot. */
export function isNetbootPath(path: string): boolean {
  return [HTTP_PATHS.boot, HTTP_PATHS.ipxe, HTTP_PATHS.media].some((p) => path.startsWith(`${p}/`))
}

const notFound = (message: string): BootServed => ({ ok: false, status: 404, message })

export class NetbootFiles {
  /**
   * What was audited already (host, state, path): a loader that fetches the
   * same file again, or a client that asks a thousand times, adds no rows.
   */
  private readonly audited = new Set<string>()

  constructor(
    private readonly store: Store,
    private readonly inputs: BootInputs,
    private readonly logger: Logger,
  ) {}

  /** Answers a GET for `path` (as sent, percent-encoding kept). */
  async serve(path: string, sourceIp: string): Promise<BootServed> {
    const media = MEDIA_PATH.exec(path)
    if (media) return this.mediaFile(media[1] as string, media[2] as string)
    const mac = MAC_IN_PATH.exec(path)?.[1]
    return mac === undefined ? this.generic(path) : this.perMac(path, mac, sourceIp)
  }

  private async mediaFile(version: string, rest: string): Promise<BootServed> {
    const v = EsxiVersion.safeParse(version)
    const root = v.success ? this.inputs.media.root(v.data) : undefined
    if (root === undefined) return notFound(`no usable ESXi ${version} media in the library`)
    try {
      return { ok: true, file: await resolveMediaPath(root, rest) }
    } catch (err) {
      if (err instanceof MediaPathError)
        return { ok: false, status: err.status, message: err.message }
      throw err
    }
  }

  private async artifactFile(input: BootInput, path: string): Promise<BootServed | undefined> {
    const a: Artifact | undefined = renderBoot(input).artifacts.find(
      (x) => x.delivery === 'http' && x.path === path,
    )
    if (a === undefined) return undefined
    if (isTextArtifact(a)) return { ok: true, text: a.text }
    return this.mediaFile(a.media.version, a.media.file)
  }

  private async generic(path: string): Promise<BootServed> {
    const input = this.inputs.input()
    if (!input.ok) return notFound(input.problem)
    return (await this.artifactFile(input.value, path)) ?? notFound('no such boot file')
  }

  /**
   * A host's own file. An unknown MAC gets 404, so the loader falls back to
   * the generic file (mboot reads <dir>/boot.cfg, iPXE shows the menu), which
   * boots the local disk unless the site installs unknown servers.
   */
  private async perMac(path: string, mac: string, sourceIp: string): Promise<BootServed> {
    const host = this.store.hosts.byMac(mac.replace(/-/g, ':'))
    if (host === undefined || !host.definition) return this.unknownMac(path, mac, sourceIp)
    const token = this.inputs.token(host)
    if (token === undefined) {
      return notFound('no host definition has this MAC; the generic boot file applies')
    }
    const input = this.inputs.input(host, token)
    if (!input.ok) return notFound(input.problem)
    const armed = input.value.host?.armed === true
    const name = hostName(host)
    const from = sourceIp.replace(/^::ffff:/, '')
    const found = await this.artifactFile(input.value, path)
    const served = found ?? (armed ? undefined : disarmedAnswer(path, name, host.state))
    if (served === undefined) {
      return notFound(`no such boot file for ${name}; is its ESXi version in the media library?`)
    }
    if (served.ok) {
      this.auditOnce(`${host.id}:${host.state}:${path}`, 'host.netboot_served', `host:${host.id}`, {
        path,
        from,
        armed,
      })
      this.logger.info(
        `netboot: ${escapeControl(path)} for ${escapeControl(name)} (${armed ? 'armed: installs' : 'disarmed: boots its disk'}) to ${escapeControl(from)}`,
      )
    }
    return served
  }

  /** Appends an audit entry the first time `key` is served (a loader fetches a file again and again). */
  private auditOnce(key: string, type: string, subject: string, data: Record<string, unknown>) {
    if (this.audited.has(key)) return
    if (this.audited.size >= 10_000) this.audited.clear()
    this.audited.add(key)
    this.store.events.append(type, subject, data)
  }

  /**
   * A MAC no definition has: 404, so the loader falls back to the generic file, unless the
   * generic kickstart installed the server that booted from it. Then it boots its disk, or a
   * server that boots from the network first would be installed again at every reboot.
   */
  private unknownMac(path: string, mac: string, sourceIp: string): BootServed {
    const bootMac = mac.replace(/-/g, ':')
    const kept = this.store.genericInstalls.byMac(bootMac)
    const served =
      kept === undefined
        ? undefined
        : disarmedAnswer(path, `the server booting from ${bootMac}`, 'installed', 'generic')
    if (served === undefined) {
      return notFound('no host definition has this MAC; the generic boot file applies')
    }
    const from = sourceIp.replace(/^::ffff:/, '')
    this.auditOnce(
      `mac:${bootMac}:${kept?.installedAt}:${path}`,
      'generic.netboot_served',
      `mac:${bootMac}`,
      { path, from },
    )
    this.logger.info(
      `netboot: ${escapeControl(path)} for ${bootMac} (installed from the generic kickstart: boots its disk) to ${escapeControl(from)}`,
    )
    return served
  }
}

/**
 * Boot-from-disk for a per-MAC file the disarmed render has no copy of (the
 * iPXE kind's boot.cfg exists only while armed): skip=1 for a boot.cfg, exit
 * for an iPXE script.
 */
function disarmedAnswer(
  path: string,
  name: string,
  state: string,
  how: 'host' | 'generic' = 'host',
): BootServed | undefined {
  const why =
    how === 'generic'
      ? 'was installed from the generic kickstart'
      : TOKEN_SPENT.some((s) => s === state)
        ? 'is done with Midwife'
        : 'is installed'
  if (path.endsWith('/boot.cfg')) {
    return {
      ok: true,
      text: renderBootCfg(skipBootCfg(`Midwife: ${name} ${why}; booting the local disk`)),
    }
  }
  if (path.endsWith('.ipxe')) {
    return { ok: true, text: `#!ipxe\n# Midwife: ${name} ${why}; booting the local disk.\nexit\n` }
  }
  return undefined
}
