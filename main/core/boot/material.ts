import { installWarning, type InstallOptions } from '../../catalogue/install'
import { kickstartSections } from '../../catalogue/kickstart'
import type { KickstartPart } from '../../catalogue/types'
import { discoveryPostSection, postSection, preSection } from './install-callbacks'
import { fillTemplate } from './template'

/** Kernel command lines have a length limit; past this, warn the operator. */
export const KERNEL_LINE_WARN = 1024

export interface BootTemplates {
  kickstart: string
  /** The generic kickstart for servers no definition names (checks in with PBKEY). */
  discoveryKickstart: string
  /** resources/client/checkin.sh */
  client: string
}

export interface KickstartContext {
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
  /**
   * The listener as an IP literal, for the %pre/%post install callbacks (the
   * installer may have no DNS); null when it is advertised by name.
   */
  callbacks: { address: string; port: number } | null
}

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

/** %pre and %post: they report installing and installed, which disarms the host's netboot. */
function installCallbacks(c: KickstartContext): { pre: string; post: string } {
  if (c.callbacks === null) {
    const why =
      '# No install callbacks: the listener is advertised by name, and the installer may have no DNS.'
    return { pre: why, post: '# Set an IP address under Site to have Midwife disarm netboot.' }
  }
  const options = { listener: c.callbacks, token: c.token }
  return { pre: preSection(options), post: postSection(options) }
}

export function renderKickstart(t: BootTemplates, c: KickstartContext): string {
  const sections = kickstartSections({
    install: c.install,
    mac: c.host.mac,
    rootPasswordHash: c.rootPasswordHash,
    parts: c.parts,
  })
  return fillTemplate(t.kickstart, {
    ...installCallbacks(c),
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
  /** The listener as an IP literal, for the %post report; null when it is advertised by name. */
  callbacks: { address: string; port: number } | null
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

/** Where the generic kickstart's %pre writes the network line its command section includes. */
export const DISCOVERY_NETWORK_FILE = '/tmp/midwife-network.cfg'

/**
 * The generic kickstart's `%pre`: the installed host's management network goes on the NIC the
 * server booted from (mboot's BOOTIF=01-aa-bb-cc-dd-ee-ff; vsish's output around it is
 * unconfirmed, so BOOTIF= is found wherever it sits in a word), with DHCP as on every NIC. A
 * `network` line without --device leaves the choice to the installer, whose NIC need not be the
 * one that reached Midwife, and the installed host would then check in from nowhere. Without a
 * BOOTIF (an ISO boot) the line stays as it was.
 */
export const DISCOVERY_NETWORK_PRE = String.raw`%pre --interpreter=busybox
# Midwife: the management network on the NIC this server booted from (BOOTIF), over DHCP.
MW_NET=${'$'}{MIDWIFE_NETWORK_FILE:-${DISCOVERY_NETWORK_FILE}}
MW_MAC=$(vsish -e get /system/bootCmdLine 2>/dev/null | awk '{
  for (i = 1; i <= NF; i++)
    if (match($i, /BOOTIF=01-[0-9A-Fa-f][0-9A-Fa-f]-[0-9A-Fa-f][0-9A-Fa-f]-[0-9A-Fa-f][0-9A-Fa-f]-[0-9A-Fa-f][0-9A-Fa-f]-[0-9A-Fa-f][0-9A-Fa-f]-[0-9A-Fa-f][0-9A-Fa-f]/)) {
      v = substr($i, RSTART + 10, 17); gsub(/-/, ":", v); print tolower(v); exit
    }
}')
if [ -n "$MW_MAC" ]; then
  echo "network --bootproto=dhcp --device=$MW_MAC" > "$MW_NET"
else
  echo "network --bootproto=dhcp" > "$MW_NET"
fi
exit 0`

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
    commands: sections.commands
      .map((l) => (l.startsWith('network ') ? `%include ${DISCOVERY_NETWORK_FILE}` : l))
      .join('\n'),
    pre: DISCOVERY_NETWORK_PRE,
    post:
      c.callbacks === null
        ? '# No %post report: the listener is advertised by name, and the installer may have no DNS.\n# Set an IP address under Site to have Midwife stop offering the installer to servers it installed.'
        : discoveryPostSection({ listener: c.callbacks, token: c.enrollmentKey }),
    listenerUrl: c.listenerUrl,
    checkinScript: compactScript(enrollmentClient(t.client, c.listenerUrl, c.enrollmentKey)),
  })
}

/** Kernel options an install needs besides ks= (allowLegacyCPU=true). */
export function installBootOptions(c: Pick<KickstartContext, 'install' | 'parts'>): string[] {
  return kickstartSections({ install: c.install, mac: null, rootPasswordHash: '', parts: c.parts })
    .bootOptions
}
