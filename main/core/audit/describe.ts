// An audit entry in words, with who did it. There are no accounts yet: every
// action taken through the API is "the operator"'s; Midwife's own work (runs)
// and what servers send are said as such.
import { settingTitles } from '../../catalogue/registry'
import { HostState, STATE_INFO } from '../../contract/lifecycle'

import { lastHeard } from '../clock'

export const OPERATOR = 'the operator'

type Data = Record<string, unknown>

const text = (v: unknown): string =>
  typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v)

/** A lifecycle state as the screens name it (Checked in); one this release does not know, as is. */
const state = (v: unknown): string => {
  const known = HostState.safeParse(v)
  return known.success ? STATE_INFO[known.data].label : text(v)
}

/** A list of names: comma-separated; '' for anything else. */
const list = (v: unknown): string => (Array.isArray(v) ? v.map(text).join(', ') : '')

/** Setting keys by the titles the screens give them (a key this release does not know, as is). */
const titles = (v: unknown): string => (Array.isArray(v) ? settingTitles(v.map(text)) : '')

/** A run step by its title, as the screens name it; entries written before titles were kept give the key. */
const stepName = (d: Data): string => `"${text(d.title ?? d.step)}"`

const SUMMARIES: Record<string, (d: Data, at?: string) => string> = {
  'host.created': (d) => `${OPERATOR} defined ${text(d.fqdn)} (MAC ${text(d.mac)})`,
  'host.updated': (d) =>
    `${OPERATOR} edited the definition of ${text(d.fqdn)}` +
    (d.passwordChanged === true ? ', with a new root password' : ''),
  'host.deleted': (d) => `${OPERATOR} deleted ${text(d.name)} (it was ${state(d.state)})`,
  'host.token_rotated': () => `${OPERATOR} re-armed the host: its deployment token was rotated`,
  'host.state': (d) => `${state(d.from)} → ${state(d.to)}: ${text(d.reason)}`,
  'host.attention': (d) =>
    `the server checked in again and still needs attention (${text(d.reason)})`,
  'host.discovered': () => 'an unknown server checked in with the site enrollment key',
  'host.kickstart_served': (d) => `its kickstart was fetched from ${text(d.from)}`,
  'host.planned': (d) =>
    `${OPERATOR} had the host read and planned: ${text(d.writes)} write command(s) (plan ${text(d.plan)})`,
  'host.address_moved': (d) =>
    `run ${text(d.run)} moved its management address` +
    (d.from ? ` from ${text(d.from)}` : '') +
    ` to ${text(d.address)}; Midwife reaches it there from now on`,
  'host.install_report': (d) =>
    `the installer reported "${text(d.state)}" again from ${text(d.from)}`,
  'host.install_refused': (d) =>
    `an install report "${text(d.state)}" from ${text(d.from)} was refused: ${text(d.why)}`,
  'host.netboot_served': (d) =>
    `its netboot file ${text(d.path)} was fetched from ${text(d.from)} (` +
    (d.armed === true ? 'armed: it starts the installer' : 'disarmed: it boots the local disk') +
    ')',
  'host.password_rotated': (d) =>
    `the host took the new root password set by run ${text(d.run)}; Midwife keeps it`,
  'host.plan_refused': (d) => `Midwife could not plan it: ${text(d.reason)}`,
  'host.outdated': (d) =>
    `its wanted values changed since its last run (${text(d.by)}: ${titles(d.settings) || `${titles(d.back)} back, ${titles(d.waiting)} still waiting`}): it stays configured as verified then`,
  'host.current': (d) =>
    `its wanted values are again what its last run applied (${text(d.by)}: ${titles(d.back)} back)`,
  'host.secure_boot_started': (d) =>
    `Midwife started the Secure Boot path (${text(d.trigger)}, attempt ${text(d.attempt)}): waiting for ${text(d.address)} to answer on 443`,
  'host.secure_boot_certificate': (d) =>
    `its API answered; Midwife pinned its self-signed certificate ${text(d.certificate)} on first contact`,
  'host.secure_boot_step': (d) => `Secure Boot path: ${text(d.message)}`,
  'host.secure_boot_ssh_enabled': (d) => `Secure Boot path: ${text(d.message)}`,
  'host.secure_boot_failed': (d) =>
    `the Secure Boot path stopped at ${text(d.step)}: ${text(d.message)}`,
  'hosts.imported': (d) =>
    `${OPERATOR} imported hosts (${text(d.source)}): ${text(d.created)} created, ${text(d.updated)} updated`,
  'run.step_not_as_planned': (d) =>
    `step ${stepName(d)} did not run as planned, as the host had changed since its plan: planned ${list(d.planned) || 'nothing'}; ran ${list(d.ran) || 'nothing'}`,
  'run.started': (d) => `Midwife started the run against ${text(d.target)}`,
  'run.resumed': (d) => `Midwife resumed the run against ${text(d.target)}`,
  'run.cancel_asked': () => `${OPERATOR} cancelled the run`,
  'run.cancelled': (d) =>
    d.step
      ? `the run stopped in step ${stepName(d)}, as cancelled`
      : typeof d.before === 'object' && d.before !== null
        ? `the run stopped before step ${stepName(d.before as Data)}, as cancelled`
        : // Entries from before a cancel was recorded once: the one before this named the step.
          'the run stopped, as cancelled',
  'run.step_failed': (d) => `step ${stepName(d)} failed: ${text(d.error)}`,
  'run.done': () => 'the run finished: every setting applied and verified',
  'run.failed': (d) => `the run failed: ${text(d.error)}`,
  // Written when Midwife started again; it stopped some time after it was last heard from.
  'run.interrupted': (d, at) =>
    typeof d.lastSeen !== 'string'
      ? `Midwife stopped during the run${d.step ? ` (in step ${stepName(d)})` : ''}`
      : d.step
        ? `Midwife stopped during the run (${lastHeard(d.lastSeen, at)}, in step ${stepName(d)})`
        : `Midwife stopped before the run started (${lastHeard(d.lastSeen, at)})`,
  'batch.approved': (d) =>
    `${OPERATOR} approved ${Array.isArray(d.runs) ? d.runs.length : 0} host(s) at once` +
    (Array.isArray(d.refused) && d.refused.length > 0 ? `; ${d.refused.length} refused` : ''),
  'boot.bundle_exported': (d) => `${OPERATOR} saved a TFTP bundle to ${text(d.path)}`,
  'settings.saved': () => `${OPERATOR} saved the site settings`,
  'site.profile_saved': () => `${OPERATOR} saved the site profile`,
  'generic.installed': (d) =>
    `an unknown server (serial ${text(d.serial) || 'not reported'}) reported from ${text(d.from)} that the generic kickstart installed it; ` +
    (d.bootMac
      ? `the per-MAC boot files of ${text(d.bootMac)} boot its disk from now on`
      : 'its boot line had no BOOTIF=, so no per-MAC boot file can boot its disk'),
  'generic.install_forgotten': (d) =>
    `${OPERATOR} chose Install again for ${text(d.bootMac)}: its next network boot installs ESXi from the generic kickstart`,
  'generic.netboot_served': (d) =>
    `its netboot file ${text(d.path)} was fetched from ${text(d.from)} (installed from the generic kickstart: it boots the local disk)`,
  'site.enrollment_key_created': () => 'Midwife created the site enrollment key',
  'site.enrollment_key_rotated': () => `${OPERATOR} rotated the site enrollment key`,
  'site.discovery_password_set': () => `${OPERATOR} set the discovery root password`,
}

/** An entry in words; `at`, when it was written, for the times it names. */
export function summarize(type: string, data: unknown, at?: string): string {
  const d = typeof data === 'object' && data !== null ? (data as Data) : {}
  return SUMMARIES[type]?.(d, at) ?? type
}

/** An approval, as the log records it: the move to `approved` that an operator made. */
export function isApproval(type: string, data: unknown): boolean {
  return type === 'host.state' && (data as Data | null)?.to === 'approved'
}
