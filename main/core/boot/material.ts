import { installWarning, type InstallOptions } from '../../catalogue/install'
import { kickstartSections } from '../../catalogue/kickstart'
import type { KickstartPart } from '../../catalogue/types'
import type { BootMaterial, DiscoveryMaterial } from '../../contract/schemas'
import { fillTemplate } from './template'

/** Kernel command lines have a length limit; past this, warn the operator. */
export const KERNEL_LINE_WARN = 1024

export interface BootTemplates {
  kickstart: string
  /** The generic kickstart for servers no definition names (checks in with PBKEY). */
  discoveryKickstart: string
  ipxe: string
  pxelinux: string
  /** resources/client/checkin.sh */
  client: string
}

export interface BootContext {
  host: { id: number; hostname: string; domain: string; mac: string }
  /** The site's install options (disk, keyboard, unsupported CPUs). */
  install: InstallOptions
  /** What the host's settings decide at install time (a static address, DNS, VLAN...). */
  parts: KickstartPart[]
  token: string
  /** http://address:port of the check-in listener, as hosts reach it. */
  listenerUrl: string
  /** $6$ crypt of the root password, never the password itself. */
  rootPasswordHash: string
  mediaBaseUrl: string
}

const MEDIA_PLACEHOLDER = 'http://PXE-SERVER/esxi'

export function kickstartUrl(listenerUrl: string, token: string): string {
  return `${listenerUrl}/ks/${token}.cfg`
}

/** Single-quotes a value for BusyBox ash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** checkin.sh with its settings preset ahead of the script body. */
function presetClient(client: string, vars: Record<string, string>): string {
  const body = client.replace(/^#!.*\n/, '')
  return [
    '#!/bin/sh',
    ...Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v)}`),
    `export ${Object.keys(vars).join(' ')}`,
    body,
  ].join('\n')
}

/** checkin.sh with this host's listener and token preset. */
export function personalClient(client: string, listenerUrl: string, token: string): string {
  return presetClient(client, { MIDWIFE_URL: listenerUrl, MIDWIFE_TOKEN: token })
}

/** checkin.sh with the listener and the site enrollment key preset, for unknown servers. */
export function enrollmentClient(client: string, listenerUrl: string, key: string): string {
  return presetClient(client, { MIDWIFE_URL: listenerUrl, MIDWIFE_ENROLL: key })
}

/**
 * The script without comment lines and blank lines, for embedding in a
 * kickstart an operator reads. Safe for checkin.sh: no heredocs, and no line
 * of its awk program starts with `#`.
 */
export function compactScript(script: string): string {
  return script
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s*#/.test(l))
    .join('\n')
}

export function renderKickstart(t: BootTemplates, c: BootContext): string {
  const sections = kickstartSections({
    install: c.install,
    mac: c.host.mac,
    rootPasswordHash: c.rootPasswordHash,
    parts: c.parts,
  })
  return fillTemplate(t.kickstart, {
    fqdn: `${c.host.hostname}.${c.host.domain}`,
    installWarning: installWarning(c.install),
    commands: sections.commands.join('\n'),
    firstboot: sections.firstboot.join('\n'),
    listenerUrl: c.listenerUrl,
    checkinScript: compactScript(personalClient(t.client, c.listenerUrl, c.token)),
  })
}

/**
 * The one-liner for a host installed by hand. The outbound firewall drops a
 * fetch from a listener on a non-standard port, so it is off only for the
 * fetch and the check-in, then set back to what it was (on if unreadable).
 */
export function oneLiner(listenerUrl: string, token: string): string {
  return [
    `F=$(esxcli network firewall get|awk '/Enabled:/{print $2}')`,
    'esxcli network firewall set --enabled false',
    `wget -qO- ${listenerUrl}/c/${token}.sh|sh`,
    'esxcli network firewall set --enabled ${F:-true}',
  ].join(';')
}

export interface DiscoveryContext {
  listenerUrl: string
  install: InstallOptions
  enrollmentKey: string
  /** $6$ crypt of the site's discovery root password; null until one is set. */
  rootPasswordHash: string | null
}

export function discoveryKickstartUrl(listenerUrl: string, key: string): string {
  return `${listenerUrl}/ks/discover/${key}.cfg`
}

/**
 * PBHOST names the listener (host:port, no scheme) and PBKEY the enrollment
 * key; checkin.sh finds both on the kernel command line.
 */
export function pbhostOptions(listenerUrl: string, key: string): string {
  return `PBHOST=${listenerUrl.replace(/^https?:\/\//, '')} PBKEY=${key}`
}

export function renderDiscoveryKickstart(
  t: BootTemplates,
  c: DiscoveryContext & { rootPasswordHash: string },
): string {
  // No per-host settings: DHCP on the NIC it booted from.
  const sections = kickstartSections({
    install: c.install,
    mac: null,
    rootPasswordHash: c.rootPasswordHash,
    parts: [],
  })
  return fillTemplate(t.discoveryKickstart, {
    installWarning: installWarning(c.install),
    commands: sections.commands.join('\n'),
    listenerUrl: c.listenerUrl,
    checkinScript: compactScript(enrollmentClient(t.client, c.listenerUrl, c.enrollmentKey)),
  })
}

/** Kernel options every boot line of this host carries: the kickstart, and what the install needs. */
export function kernelOptionsFor(ksUrl: string, c: Pick<BootContext, 'install' | 'parts'>): string {
  const { bootOptions } = kickstartSections({
    install: c.install,
    mac: null,
    rootPasswordHash: '',
    parts: c.parts,
  })
  return [`ks=${ksUrl}`, ...bootOptions].join(' ')
}

/** The lines for servers no definition names: a PXE menu or stateless boot serves one to all. */
export function discoveryMaterial(t: BootTemplates, c: DiscoveryContext): DiscoveryMaterial {
  const warnings = listenerWarnings(c.listenerUrl)
  const bootOptions = pbhostOptions(c.listenerUrl, c.enrollmentKey)
  const kickstartUrl = discoveryKickstartUrl(c.listenerUrl, c.enrollmentKey)
  if (!c.rootPasswordHash) {
    warnings.push(
      'Set a discovery root password under Site: until then the generic kickstart is not served.',
    )
  }
  return {
    bootOptions,
    kickstartUrl,
    kickstart: c.rootPasswordHash
      ? renderDiscoveryKickstart(t, { ...c, rootPasswordHash: c.rootPasswordHash })
      : null,
    pxelinuxAppend: fillTemplate(t.pxelinux, {
      kernelOptions: `${kernelOptionsFor(kickstartUrl, { install: c.install, parts: [] })} ${bootOptions}`,
    }).trimEnd(),
    hasRootPassword: c.rootPasswordHash !== null,
    erases: installWarning(c.install),
    secrets: [c.enrollmentKey, ...(c.rootPasswordHash ? [c.rootPasswordHash] : [])],
    warnings,
  }
}

function listenerWarnings(listenerUrl: string): string[] {
  return /^http:\/\/(127\.|localhost|\[::1\])/.test(listenerUrl)
    ? [
        `The listener is advertised as ${listenerUrl}, which only this machine can reach; set the advertised address under Site.`,
      ]
    : []
}

export function bootMaterial(t: BootTemplates, c: BootContext): BootMaterial {
  const warnings = listenerWarnings(c.listenerUrl)
  const ksUrl = kickstartUrl(c.listenerUrl, c.token)
  const kernelOptions = kernelOptionsFor(ksUrl, c)
  const fqdn = `${c.host.hostname}.${c.host.domain}`
  let media = c.mediaBaseUrl.replace(/\/+$/, '')
  if (media === '') {
    media = MEDIA_PLACEHOLDER
    warnings.push(
      `The installer media URL is not set, so the iPXE script points at ${MEDIA_PLACEHOLDER}; set it under Site.`,
    )
  }
  const pxelinuxAppend = fillTemplate(t.pxelinux, { kernelOptions }).trimEnd()
  const ipxeScript = fillTemplate(t.ipxe, { fqdn, mediaBaseUrl: media, kernelOptions })
  for (const line of [pxelinuxAppend, ...ipxeScript.split('\n')]) {
    if (line.length > KERNEL_LINE_WARN) {
      warnings.push(
        `A boot line is ${line.length} characters; ESXi's kernel command line limit is near ${KERNEL_LINE_WARN}.`,
      )
    }
  }
  return {
    hostId: c.host.id,
    kickstartUrl: ksUrl,
    kickstart: renderKickstart(t, c),
    erases: installWarning(c.install),
    pxelinuxAppend,
    ipxeScript,
    oneLiner: oneLiner(c.listenerUrl, c.token),
    secrets: [c.token, c.rootPasswordHash],
    warnings,
  }
}
