import type { BootMaterial, Host } from '../../contract/schemas'
import { fillTemplate } from './template'

/** Kernel command lines have a length limit; past this, warn the operator. */
export const KERNEL_LINE_WARN = 1024

export interface BootTemplates {
  kickstart: string
  ipxe: string
  pxelinux: string
  /** resources/client/checkin.sh */
  client: string
}

export interface BootContext {
  host: Host
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

/** checkin.sh with this host's listener and token preset ahead of the script body. */
export function personalClient(client: string, listenerUrl: string, token: string): string {
  const body = client.replace(/^#!.*\n/, '')
  return [
    '#!/bin/sh',
    `MIDWIFE_URL=${shellQuote(listenerUrl)}`,
    `MIDWIFE_TOKEN=${shellQuote(token)}`,
    'export MIDWIFE_URL MIDWIFE_TOKEN',
    body,
  ].join('\n')
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
  return fillTemplate(t.kickstart, {
    fqdn: `${c.host.hostname}.${c.host.domain}`,
    rootpwHash: c.rootPasswordHash,
    mac: c.host.mac,
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

export function bootMaterial(t: BootTemplates, c: BootContext): BootMaterial {
  const warnings: string[] = []
  const ksUrl = kickstartUrl(c.listenerUrl, c.token)
  const kernelOptions = `ks=${ksUrl}`
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
  if (/^http:\/\/(127\.|localhost|\[::1\])/.test(c.listenerUrl)) {
    warnings.push(
      `The listener is advertised as ${c.listenerUrl}, which only this machine can reach; set the advertised address under Site.`,
    )
  }
  return {
    hostId: c.host.id,
    kickstartUrl: ksUrl,
    kickstart: renderKickstart(t, c),
    pxelinuxAppend,
    ipxeScript,
    oneLiner: oneLiner(c.listenerUrl, c.token),
    secrets: [c.token, c.rootPasswordHash],
    warnings,
  }
}
