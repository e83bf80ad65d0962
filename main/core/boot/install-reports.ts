// The installer's %pre and %post callbacks: `installing` when it starts,
// `installed` when ESXi is on the disk. `installed` disarms the host's
// netboot (NETBOOT_ARMED), so its next boot is from its disk, not another
// install. What the installer could read of the server is kept as evidence
// for the Secure Boot path, where no check-in follows.
import { describeIssues } from '../../contract/api'
import type { InstallEvidence } from '../../contract/schemas'
import {
  bootMacFrom,
  parseBootOptions,
  parseIpv4Interfaces,
  parseNicList,
  parsePlatform,
} from '../../catalogue/parse'
import { checkToken } from '../checkins/tokens'
import { hostName } from '../hosts/host-view'
import { BUSY, canMove } from '../lifecycle/table'
import { escapeControl, type Logger } from '../log'
import type { Notifier } from '../notify'
import type { HostRecord, Store } from '../store'
import { InstallReport, type InstallState } from './install-callbacks'

export type InstallAck =
  | { ok: true; host: string; state: InstallState; repeat: boolean }
  | { ok: false; status: 400 | 401 | 409 | 410; message: string }

/** What the report says about the server, in the shape Midwife keeps. */
export function installEvidence(
  report: InstallReport,
  definedMac: string,
  sourceIp: string,
  at: string,
): InstallEvidence {
  const o = report.outputs
  const macs = parseNicList(o.nicList).map((n) => n.mac)
  const platform = parsePlatform(o.platform)
  const vmk = parseIpv4Interfaces(o.ipv4)
  const address = (vmk.find((i) => i.name === 'vmk0') ?? vmk[0])?.address ?? null
  return {
    state: report.state,
    at,
    sourceIp,
    secureBoot: report.secureBoot,
    macs,
    serial: platform.serial,
    uuid: platform.uuid,
    address,
    bootMac: o.bootCmdLine ? bootMacFrom(parseBootOptions(o.bootCmdLine)) : null,
    macMatches: macs.includes(definedMac),
  }
}

const REASONS: Record<InstallState, (from: string) => string> = {
  installing: (from) => `the installer started writing its disk (%pre reported from ${from})`,
  installed: (from) =>
    `installed (%post reported from ${from}); its netboot is disarmed, so it boots its disk from now on`,
}

export class InstallReports {
  constructor(
    private readonly store: Store,
    private readonly notify: Notifier,
    private readonly logger: Logger,
    /** Called once an `installed` report is stored (the Secure Boot path starts from it). */
    private readonly onInstalled: (hostId: number) => void = () => undefined,
  ) {}

  /** One %pre or %post report: validated, then the host moves (or the repeat is noted). */
  report(token: string, state: InstallState, body: unknown, sourceIp: string): InstallAck {
    const check = checkToken(this.store, token)
    if (!check.ok) return check
    const host = check.host
    const parsed = InstallReport.safeParse(body)
    if (!parsed.success) {
      return { ok: false, status: 400, message: describeIssues(parsed.error) }
    }
    if (parsed.data.state !== state) {
      return {
        ok: false,
        status: 400,
        message: `the body reports "${parsed.data.state}" to the ${state} address`,
      }
    }
    const from = sourceIp.replace(/^::ffff:/, '')
    const def = host.definition
    if (!def) return { ok: false, status: 401, message: 'unknown deployment token' }
    const evidence = installEvidence(parsed.data, def.mac, from, new Date().toISOString())
    const name = hostName(host)
    const refused = this.refusal(host, state)
    if (refused !== null) {
      this.store.events.append('host.install_refused', `host:${host.id}`, {
        state,
        from,
        why: refused,
      })
      this.logger.warn(`install report "${state}" for ${escapeControl(name)} refused: ${refused}`)
      return { ok: false, status: 409, message: refused }
    }
    const repeat = host.state === state
    if (repeat) {
      // A section retried after its answer was lost, or run again: evidence, not a move.
      this.store.transaction(() => {
        this.store.hosts.setInstall(host.id, evidence)
        this.store.events.append('host.install_report', `host:${host.id}`, { state, from })
      })
    } else {
      this.store.moveHost(host.id, state, REASONS[state](from), { evidence }, () =>
        this.store.hosts.setInstall(host.id, evidence),
      )
    }
    this.notify.host(host.id)
    this.logger.info(
      `install report "${state}" for ${escapeControl(name)} from ${escapeControl(from)}${repeat ? ' (repeat)' : ''}`,
    )
    // Deferred: the report is answered first; what follows runs as its own job.
    if (state === 'installed') setImmediate(() => this.onInstalled(host.id))
    return { ok: true, host: name, state, repeat }
  }

  /** Why the host cannot take this report now, or null. */
  private refusal(host: HostRecord, state: InstallState): string | null {
    const name = hostName(host)
    if (host.state === state) return null
    if (BUSY.includes(host.state)) {
      return `a configuration run is in progress for ${name}`
    }
    if (!canMove(host.state, state)) {
      return `${name} is ${host.state.replace('_', ' ')}, which an install report cannot change; use Reinstall in Midwife first`
    }
    return null
  }
}
