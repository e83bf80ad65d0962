import { z } from 'zod'
import { describeIssues } from '../../contract/api'
import {
  bootMacFrom,
  parseBootOptions,
  parseHostname,
  parseIpv4Interfaces,
  parseNicList,
  parsePlatform,
  parseVersion,
} from '../esxi/parse'
import { parsePublicKeyLine } from '../esxi/ssh-keys'
import type { CheckinReport } from '../store'

/**
 * What checkin.sh posts: the raw output of each command, so that parsing lives
 * here, in one tested place, rather than in BusyBox awk on every host.
 */
export const CheckinPayload = z.object({
  token: z.string(),
  client: z.string().max(64),
  outputs: z.object({
    nicList: z.string().max(16_384),
    platform: z.string().max(4_096),
    version: z.string().max(4_096),
    ipv4: z.string().max(8_192),
    hostname: z.string().max(2_048).optional(),
    bootCmdLine: z.string().max(4_096).optional(),
  }),
  sshHostKeys: z.array(z.string().max(4_096)).max(8),
})
export type CheckinPayload = z.infer<typeof CheckinPayload>

export class CheckinRejected extends Error {
  constructor(
    readonly status: 400 | 401 | 413,
    message: string,
  ) {
    super(message)
  }
}

/** The token, if the body carries one, read before anything else is looked at. */
export function tokenOf(body: unknown): string {
  const token = (body as { token?: unknown } | null)?.token
  if (typeof token !== 'string' || token === '') {
    throw new CheckinRejected(401, 'missing deployment token')
  }
  return token
}

/** Validates a check-in body and derives what Midwife needs from it. */
export function interpretCheckin(body: unknown): {
  payload: CheckinPayload
  report: CheckinReport
} {
  const parsed = CheckinPayload.safeParse(body)
  if (!parsed.success) throw new CheckinRejected(400, describeIssues(parsed.error))
  const payload = parsed.data
  const o = payload.outputs

  const nics = parseNicList(o.nicList)
  if (nics.length === 0) {
    throw new CheckinRejected(
      400,
      'outputs.nicList: no NIC with a MAC address in `esxcli network nic list` output',
    )
  }
  const sshHostKeys = payload.sshHostKeys.map((line, i) => {
    try {
      const k = parsePublicKeyLine(line)
      return { type: k.type, fingerprint: k.fingerprint }
    } catch (err) {
      throw new CheckinRejected(400, `sshHostKeys.${i}: ${(err as Error).message}`)
    }
  })
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
    payload,
    report: {
      managementIp: mgmt?.address ?? null,
      nics,
      bootMac,
      serial: platform.serial,
      uuid: platform.uuid,
      vendor: platform.vendor,
      model: platform.model,
      esxiVersion: version.version,
      esxiBuild: version.build,
      reportedHostname,
      sshHostKeys,
    },
  }
}
