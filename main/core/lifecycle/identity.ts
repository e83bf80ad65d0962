// Identity is what a server reports about itself (MACs, serial, SMBIOS UUID,
// SSH host keys, management address), not the token it presented: a token
// only says a check-in may be stored. The first accepted check-in binds the
// identity to a host; every later one is compared with it.
import type {
  Attention,
  BindingKind,
  BoundIdentity,
  IdentityDifference,
  ReportedIdentity,
} from '../../contract/schemas'

const LABELS: Record<IdentityDifference['field'], string> = {
  sshHostKeys: 'SSH host keys',
  serial: 'Serial number',
  uuid: 'System UUID',
  macs: 'MACs',
  managementIp: 'Management address',
}

function showList(values: string[]): string {
  return values.length ? values.join(', ') : '(none)'
}

export function bind(
  reported: ReportedIdentity,
  how: BindingKind,
  checkinId: number | null,
  at = new Date().toISOString(),
): BoundIdentity {
  return { ...reported, boundAt: at, how, checkinId }
}

export interface Comparison {
  /** The server is not the one Midwife trusts (keys, serial, UUID or every MAC differ). */
  identityChanged: boolean
  /** Same server, reached at another address: still a conflict, never a silent redirect. */
  addressChanged: boolean
  differences: IdentityDifference[]
}

/**
 * Compares a report with the bound identity. A reported key Midwife does not
 * trust is a change (a subset of the trusted keys is not: one .pub file may be
 * unreadable); a serial or UUID is compared when both sides have one; MACs
 * differ only when none is shared (a NIC may be added). A reinstall the
 * operator asked for forgets the keys and the address (the new install has
 * new ones), so those are compared only while Midwife trusts some.
 */
export function compare(trusted: ReportedIdentity, reported: ReportedIdentity): Comparison {
  const differences: IdentityDifference[] = []
  const diff = (field: IdentityDifference['field'], a: string, b: string) =>
    differences.push({ field, label: LABELS[field], trusted: a, reported: b })

  const trustedKeys = new Set(trusted.sshHostKeys.map((k) => k.fingerprint))
  const keysChanged =
    trustedKeys.size > 0 &&
    (reported.sshHostKeys.length === 0 ||
      reported.sshHostKeys.some((k) => !trustedKeys.has(k.fingerprint)))
  if (keysChanged) {
    diff(
      'sshHostKeys',
      showList(trusted.sshHostKeys.map((k) => `${k.type} ${k.fingerprint}`)),
      showList(reported.sshHostKeys.map((k) => `${k.type} ${k.fingerprint}`)),
    )
  }
  const serialChanged = !!trusted.serial && !!reported.serial && trusted.serial !== reported.serial
  if (serialChanged) diff('serial', trusted.serial ?? '', reported.serial ?? '')
  const uuidChanged = !!trusted.uuid && !!reported.uuid && trusted.uuid !== reported.uuid
  if (uuidChanged) diff('uuid', trusted.uuid ?? '', reported.uuid ?? '')
  const macsChanged =
    trusted.macs.length > 0 && !reported.macs.some((m) => trusted.macs.includes(m))
  if (macsChanged) diff('macs', showList(trusted.macs), showList(reported.macs))
  const addressChanged =
    trusted.managementIp !== null && trusted.managementIp !== reported.managementIp
  if (addressChanged) {
    diff('managementIp', trusted.managementIp ?? '(none)', reported.managementIp ?? '(none)')
  }
  return {
    identityChanged: keysChanged || serialChanged || uuidChanged || macsChanged,
    addressChanged,
    differences,
  }
}

/** Why a check-in that does not match cannot simply update its host. */
export function attentionFor(
  c: Comparison,
  reported: ReportedIdentity,
  checkinId: number,
): Attention | null {
  if (c.identityChanged) {
    const what = c.differences
      .filter((d) => d.field !== 'managementIp')
      .map((d) => d.label)
      .join(', ')
    return {
      reason: 'identity_changed',
      message:
        `What this server reports (${what}) is not what Midwife trusts: ` +
        'a reinstall, or another machine using its token. Nothing runs on it until you trust it again.',
      checkinId,
      differences: c.differences,
      reported,
    }
  }
  if (c.addressChanged) {
    return {
      reason: 'address_changed',
      message:
        'The same server now reports another management address. Midwife connects only to the ' +
        'address it trusts until you accept the new one.',
      checkinId,
      differences: c.differences,
      reported,
    }
  }
  return null
}

/** A check-in for a definition whose MAC is not among the reported ones. */
export function macMismatch(
  definitionMac: string,
  reported: ReportedIdentity,
  checkinId: number,
): Attention | null {
  if (reported.macs.includes(definitionMac)) return null
  return {
    reason: 'mac_mismatch',
    message:
      `None of the MACs this server reported is ${definitionMac}, the MAC this host is defined with. ` +
      'It may be another server using this host’s token; assign it anyway only if you are sure.',
    checkinId,
    differences: [
      {
        field: 'macs',
        label: LABELS.macs,
        trusted: definitionMac,
        reported: showList(reported.macs),
      },
    ],
    reported,
  }
}

/**
 * A check-in whose serial, UUID or SSH host keys are bound to another host (`holder`): the
 * server is that host, whichever token it presented. Nothing may bind it here while the other
 * host holds it: retiring or deleting that host is the way on.
 */
export function boundElsewhere(
  holder: { name: string; state: string; identity: ReportedIdentity },
  reported: ReportedIdentity,
  checkinId: number,
): Attention {
  const differences: IdentityDifference[] = []
  const shared = (field: IdentityDifference['field'], value: string) =>
    differences.push({
      field,
      label: LABELS[field],
      trusted: `${holder.name}: ${value}`,
      reported: value,
    })
  if (reported.serial && reported.serial === holder.identity.serial)
    shared('serial', reported.serial)
  if (reported.uuid && reported.uuid === holder.identity.uuid) shared('uuid', reported.uuid)
  const keys = new Set(holder.identity.sshHostKeys.map((k) => k.fingerprint))
  const same = reported.sshHostKeys.filter((k) => keys.has(k.fingerprint))
  if (same.length > 0)
    shared('sshHostKeys', showList(same.map((k) => `${k.type} ${k.fingerprint}`)))
  const what = differences.map((d) => d.label).join(', ')
  return {
    reason: 'bound_elsewhere',
    message:
      `This server is ${holder.name} (${holder.state}): what it reports (${what}) is bound to ` +
      `that host. Nothing runs on it as this host while ${holder.name} holds it; retire or ` +
      `delete ${holder.name} first if the server was given a new role.`,
    checkinId,
    differences,
    reported,
  }
}
