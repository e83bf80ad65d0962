import { z } from 'zod'
import { secretPattern } from '../../catalogue/shell'
import { describeIssues } from '../../contract/api'
import type { ReportedIdentity } from '../../contract/schemas'
import {
  bootMacFrom,
  parseBootOptions,
  parseHostname,
  parseIpv4Interfaces,
  parseNicList,
  parsePlatform,
  parseVersion,
} from '../../catalogue/parse'
import { parsePublicKeyLine } from '../esxi/ssh-keys'
import { escapeControl, hasControl } from '../log'
import { uniqueBy, type CheckinReport } from '../store'

/**
 * Raw esxcli output, bounded in bytes, lines and line length, so the cost of
 * parsing one check-in is bounded whatever a client sends.
 */
function output(maxBytes: number, maxLines: number, maxColumns = 1024) {
  return z
    .string()
    .max(maxBytes)
    .superRefine((text, ctx) => {
      let start = 0
      for (let line = 1; ; line++) {
        const end = text.indexOf('\n', start)
        const length = (end === -1 ? text.length : end) - start
        if (length > maxColumns) {
          ctx.addIssue({
            code: 'custom',
            message: `line ${line} is longer than ${maxColumns} characters`,
          })
          return
        }
        if (end === -1) return
        if (line === maxLines) {
          ctx.addIssue({ code: 'custom', message: `more than ${maxLines} lines` })
          return
        }
        start = end + 1
      }
    })
}

/** A credential: a host's deployment token, or the site enrollment key (PBKEY). */
const Secret = z.string().min(16).max(128)

/**
 * What checkin.sh posts: the raw output of each command, so that parsing lives
 * here, in one tested place, rather than in BusyBox awk on every host.
 */
export const CheckinPayload = z
  .object({
    token: Secret.optional(),
    enrollment: Secret.optional(),
    client: z.string().max(64),
    outputs: z.object({
      nicList: output(16_384, 256),
      platform: output(4_096, 64),
      version: output(4_096, 32),
      ipv4: output(8_192, 128),
      hostname: output(2_048, 16).optional(),
      bootCmdLine: output(4_096, 8, 4_096).optional(),
    }),
    sshHostKeys: z.array(z.string().max(4_096)).max(8),
  })
  .refine((p) => (p.token === undefined) !== (p.enrollment === undefined), {
    message: 'send either a deployment token or an enrollment key, not both',
  })
export type CheckinPayload = z.infer<typeof CheckinPayload>

export type CredentialKind = 'token' | 'enrollment'
export interface Credential {
  kind: CredentialKind
  value: string
}

export class CheckinRejected extends Error {
  constructor(
    readonly status: 400 | 401 | 409 | 410 | 413 | 429,
    message: string,
  ) {
    super(message)
  }
}

/** The credential the body carries, read before anything else is looked at. */
export function credentialOf(body: unknown): Credential {
  const b = body as { token?: unknown; enrollment?: unknown } | null
  const token = typeof b === 'object' && b !== null ? b.token : undefined
  const enrollment = typeof b === 'object' && b !== null ? b.enrollment : undefined
  if (typeof token === 'string' && token !== '') return { kind: 'token', value: token }
  if (typeof enrollment === 'string' && enrollment !== '')
    return { kind: 'enrollment', value: enrollment }
  throw new CheckinRejected(401, 'missing deployment token or enrollment key')
}

/** Validates a check-in body and derives what Midwife needs from it, once. */
export function interpretCheckin(body: unknown): {
  payload: CheckinPayload
  report: CheckinReport
} {
  const parsed = CheckinPayload.safeParse(body)
  if (!parsed.success) throw new CheckinRejected(400, describeIssues(parsed.error))
  const payload = parsed.data
  return { payload, report: reportFromOutputs(payload.outputs, payload.sshHostKeys) }
}

/**
 * What Midwife understands from a host's raw esxcli outputs and `.pub` lines:
 * the one parser behind both a posted check-in and the one the Secure Boot
 * path reads over SSH. Throws CheckinRejected (400) for what cannot identify a host.
 */
export function reportFromOutputs(
  o: CheckinPayload['outputs'],
  sshHostKeyLines: string[],
): CheckinReport {
  // A NIC name or a host key listed twice is one NIC or key: keep the first.
  const nics = uniqueBy(parseNicList(o.nicList), (n) => n.name).map(visibleNic)
  if (nics.length === 0) {
    throw new CheckinRejected(
      400,
      'outputs.nicList: no NIC with a MAC address in `esxcli network nic list` output',
    )
  }
  const keys = sshHostKeyLines.map((line, i) => {
    try {
      const k = parsePublicKeyLine(line)
      return { type: k.type, fingerprint: k.fingerprint }
    } catch (err) {
      throw new CheckinRejected(400, `sshHostKeys.${i}: ${(err as Error).message}`)
    }
  })
  const sshHostKeys = uniqueBy(keys, (k) => k.fingerprint)
  if (sshHostKeys.length === 0) {
    throw new CheckinRejected(
      400,
      'sshHostKeys: no SSH host key reported; Midwife needs one to trust the host',
    )
  }

  const platform = parsePlatform(o.platform)
  const version = parseVersion(o.version)
  const vmk = parseIpv4Interfaces(o.ipv4)
  const mgmt = vmk.find((i) => i.name === 'vmk0') ?? vmk[0]
  const reportedHostname = o.hostname ? parseHostname(o.hostname).fqdn || null : null
  const bootMac = o.bootCmdLine ? bootMacFrom(parseBootOptions(o.bootCmdLine)) : null

  return {
    managementIp: mgmt?.address ?? null,
    nics,
    bootMac,
    serial: visible(platform.serial),
    uuid: visible(platform.uuid),
    vendor: visible(platform.vendor),
    model: visible(platform.model),
    esxiVersion: visible(version.version),
    esxiBuild: visible(version.build),
    reportedHostname: visible(reportedHostname),
    sshHostKeys,
  }
}

/**
 * What a server reports is shown on screens, in reports and in notices: a
 * control, direction-changing or zero-width character in it (a serial that
 * reads backwards, an escape sequence) is kept as a visible escape, as in the log.
 */
const visible = (text: string | null) => (text === null ? null : escapeControl(text))

function visibleNic(n: CheckinReport['nics'][number]): CheckinReport['nics'][number] {
  const plain = [n.name, n.driver, n.link, n.speed].every((t) => t === undefined || !hasControl(t))
  if (plain) return n
  return {
    ...n,
    name: escapeControl(n.name),
    ...(n.driver === undefined ? {} : { driver: escapeControl(n.driver) }),
    ...(n.link === undefined ? {} : { link: escapeControl(n.link) }),
    ...(n.speed === undefined ? {} : { speed: escapeControl(n.speed) }),
  }
}

/** Who the server says it is; it was reached from `sourceIp` if it reported no address. */
export function reportedIdentity(report: CheckinReport, sourceIp: string): ReportedIdentity {
  return {
    macs: report.nics.map((n) => n.mac),
    serial: report.serial,
    uuid: report.uuid,
    sshHostKeys: report.sshHostKeys,
    managementIp: report.managementIp ?? sourceIp,
  }
}

/**
 * The payload as it is kept: the body as received, with the credential it
 * carried masked wherever it appears (a reported boot line holds the
 * kickstart URL with the token in it), and any PBKEY= masked too.
 */
export function storablePayload(rawBody: string, credential: Credential): string {
  // The credential wherever it appears, then any other token in a listener URL.
  let text = rawBody
    // In any letter case, as every other mask: what a host prints back is not Midwife's to choose.
    .replace(secretPattern(credential.value), '***')
    .replace(/\/(ks|c)\/(discover\/)?[A-Za-z0-9_-]{16,128}\.(cfg|sh)/g, '/$1/$2***.$3')
  if (text.includes('PBKEY=')) text = text.replace(/(PBKEY=)[^\s"\\]+/g, '$1***')
  return text
}
