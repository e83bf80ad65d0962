// Servers the generic kickstart installed. Its %post reports `installed` with
// the site enrollment key (there is no host token); the MAC the server booted
// from (BOOTIF= on the installer's command line) is kept, and its per-MAC
// HTTP boot files boot the local disk from then on, so a server that boots
// from the network first does not install again at every reboot (esxi.md's
// reinstall loop). The operator sees the list beside the generic boot
// material and can forget one (Install again).
import { describeIssues, ApiCallError } from '../../contract/api'
import type { GenericInstall } from '../../contract/schemas'
import { hostName } from '../hosts/host-view'
import { escapeControl, type Logger } from '../log'
import type { Notifier } from '../notify'
import type { Store } from '../store'
import { InstallReport } from './install-callbacks'
import { installEvidence } from './install-reports'

export type GenericInstallAck =
  | { ok: true; bootMac: string | null; repeat: boolean; message: string }
  | { ok: false; status: 400 | 401; message: string }

export class GenericInstalls {
  constructor(
    private readonly store: Store,
    private readonly enrollmentMatches: (key: string) => boolean,
    private readonly notify: Notifier,
    private readonly logger: Logger,
  ) {}

  /** The generic kickstart's %post report: checked, then the boot MAC is kept. */
  report(key: string, body: unknown, sourceIp: string): GenericInstallAck {
    if (!this.enrollmentMatches(key)) {
      return { ok: false, status: 401, message: 'wrong enrollment key' }
    }
    const parsed = InstallReport.safeParse(body)
    if (!parsed.success) return { ok: false, status: 400, message: describeIssues(parsed.error) }
    if (parsed.data.state !== 'installed') {
      return {
        ok: false,
        status: 400,
        message: `the body reports "${parsed.data.state}" to the installed address`,
      }
    }
    const from = sourceIp.replace(/^::ffff:/, '')
    const at = new Date().toISOString()
    const e = installEvidence(parsed.data, '', from, at)
    // Kept as the check-ins keep what a server reports: control and direction characters escaped.
    const visible = (v: string | null) => (v === null ? null : escapeControl(v))
    const reported = {
      from: escapeControl(from),
      macs: e.macs.map(escapeControl),
      serial: visible(e.serial),
      uuid: visible(e.uuid),
    }
    const who = `an unknown server (serial ${reported.serial ?? 'not reported'})`
    if (e.bootMac === null) {
      // An ISO or USB boot has no BOOTIF: there are no per-MAC files to answer for it.
      this.store.events.append('generic.installed', null, { ...reported, bootMac: null })
      const message =
        'installed; no BOOTIF= on the boot command line, so no per-MAC boot file can boot its disk'
      this.logger.warn(
        `generic install report from ${escapeControl(from)}: ${who} ${message} (it booted from media, not the network?)`,
      )
      return { ok: true, bootMac: null, repeat: false, message }
    }
    const bootMac = e.bootMac
    const { repeat } = this.store.transaction(() => {
      const r = this.store.genericInstalls.record({
        bootMac,
        installedAt: at,
        sourceIp: reported.from,
        macs: reported.macs,
        serial: reported.serial,
        uuid: reported.uuid,
      })
      this.store.events.append('generic.installed', `mac:${bootMac}`, {
        ...reported,
        bootMac,
        repeat: r.repeat,
      })
      return r
    })
    this.notify.siteChanged()
    const defined = this.store.hosts.byMac(bootMac)
    const message = defined?.definition
      ? `installed; ${hostName(defined)} has this MAC, so its own state decides what its per-MAC files answer`
      : `installed; the per-MAC boot files of ${bootMac} boot its disk until Install again in Midwife`
    this.logger.info(
      `generic install report from ${escapeControl(from)}: ${who} booted from ${bootMac}, ${escapeControl(message)}${repeat ? ' (repeat)' : ''}`,
    )
    return { ok: true, bootMac, repeat, message }
  }

  list(): GenericInstall[] {
    return this.store.genericInstalls.list().map((r) => {
      const host = this.store.hosts.byMac(r.bootMac)
      return { ...r, definedAs: host?.definition ? hostName(host) : null }
    })
  }

  /** Install again: its next network boot gets the generic install once more. */
  forget(bootMac: string): GenericInstall[] {
    const kept = this.store.genericInstalls.byMac(bootMac)
    if (kept === undefined) {
      throw new ApiCallError(
        'not_found',
        `no server installed from the generic kickstart booted from ${bootMac}`,
      )
    }
    this.store.transaction(() => {
      this.store.genericInstalls.forget(bootMac)
      this.store.events.append('generic.install_forgotten', `mac:${bootMac}`, {
        bootMac,
        serial: kept.serial,
        installedAt: kept.installedAt,
      })
    })
    this.notify.siteChanged()
    this.logger.info(
      `${bootMac}: the operator chose Install again; its next network boot installs ESXi from the generic kickstart`,
    )
    return this.list()
  }
}
