// %pre and %post sections that tell the listener an install started and
// finished. They run in the installer (BusyBox ash, network up, maybe no
// DNS), so they post to the listener's IP literal over plain HTTP with
// BusyBox wget, each call bounded by `timeout` (wget's own -T is not
// reliable there), and wait between attempts with nap (sleep may be
// missing). %post also runs with Secure Boot on, where %firstboot
// does not, so its report carries what the installer can read about the
// host: NICs and MACs, platform (serial, UUID), the installer's address,
// the boot command line, and Secure Boot where secureBoot.py answers.
// A failed report never fails the install: both sections end with exit 0.
// A refusal (4xx) ends the tries at once, but for 429 (rate-limited: a rack
// installing at once), which is tried again as checkin.sh does.
import { z } from 'zod'
import { Ipv4 } from '../../contract/schemas'
import { HOST_FUNCTIONS } from '../esxi/host-shell'
import { shellQuote } from './material'

export const INSTALL_STATES = ['installing', 'installed'] as const
export type InstallState = (typeof INSTALL_STATES)[number]

export const InstallCallbackOptions = z.object({
  listener: z.object({ address: Ipv4, port: z.number().int().min(1).max(65535) }),
  token: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{16,256}$/, 'the token must be 16-256 URL-safe characters'),
  /** Seconds one HTTP call may take. */
  timeoutSeconds: z.number().int().min(1).max(300).default(20),
  attempts: z.number().int().min(1).max(20).default(5),
  /** Seconds between attempts. */
  retrySeconds: z.number().int().min(0).max(300).default(5),
})
export type InstallCallbackOptions = z.input<typeof InstallCallbackOptions>

/** Where a state is reported: POST, JSON body (InstallReport). */
export function installCallbackPath(token: string, state: InstallState): string {
  return `/install/${token}/${state}`
}

/**
 * Where the generic kickstart reports `installed`: behind the site enrollment key, as there is no
 * host token. Same body (InstallReport); the listener keeps the boot MAC, so its per-MAC files
 * boot the disk from then on.
 */
export function discoveryInstalledPath(enrollmentKey: string): string {
  return `/install/discover/${enrollmentKey}/installed`
}

/** What the sections post; the listener parses it with this schema. */
export const InstallReport = z.object({
  state: z.enum(INSTALL_STATES),
  client: z.string().max(32),
  /** on | off | unknown: read from secureBoot.py where the installer has it. */
  secureBoot: z.enum(['on', 'off', 'unknown']),
  outputs: z.object({
    nicList: z.string().max(65536),
    platform: z.string().max(65536),
    ipv4: z.string().max(65536),
    bootCmdLine: z.string().max(65536),
  }),
})
export type InstallReport = z.infer<typeof InstallReport>

const SECURE_BOOT_TOOL = '/usr/lib/vmware/secureboot/bin/secureBoot.py'

// The JSON string encoder of checkin.sh: quotes, backslashes and control
// characters escaped, lines joined by \n.
const JSTR = String.raw`mw_jstr() {
  printf '%s' "$1" | awk '
    BEGIN { ORS = ""; printf "\"" }
    {
      gsub(/\\/, "\\\\")
      gsub(/"/, "\\\"")
      gsub(/\t/, "\\t")
      gsub(/\r/, "")
      gsub(/[\001-\010\013-\037]/, "")
      if (NR > 1) printf "\\n"
      printf "%s", $0
    }
    END { printf "\"" }'
}`

function body(
  o: z.output<typeof InstallCallbackOptions>,
  state: InstallState,
  path = installCallbackPath(o.token, state),
): string {
  const { address, port } = o.listener
  const url = `http://${address}:${port}${path}`
  const $ = '$'
  return String.raw`# Midwife: report "${state}". Plain HTTP to an IP literal: the installer may have no DNS.
MW_URL=${shellQuote(url)}
MW_PORT=${port}
MW_SB_TOOL=${$}{MIDWIFE_SECUREBOOT_TOOL:-${SECURE_BOOT_TOOL}}
${JSTR}
${HOST_FUNCTIONS}
MW_SB=unknown
if [ -x "$MW_SB_TOOL" ]; then
  case "$("$MW_SB_TOOL" -s 2>/dev/null)" in
    Enabled*) MW_SB=on ;;
    Disabled*) MW_SB=off ;;
  esac
fi
MW_BODY="{\"state\":\"${state}\",\"client\":\"ks-${state}/1\",\"secureBoot\":\"$MW_SB\",\"outputs\":{\
\"nicList\":$(mw_jstr "$(esxcli network nic list 2>&1)"),\
\"platform\":$(mw_jstr "$(esxcli hardware platform get 2>&1)"),\
\"ipv4\":$(mw_jstr "$(esxcli network ip interface ipv4 get 2>&1)"),\
\"bootCmdLine\":$(mw_jstr "$(vsish -e get /system/bootCmdLine 2>/dev/null)")}}"
# ESXi's firewall drops outbound traffic except to 80/443 with httpClient on.
# Where the installer has it on, checkin.sh's way: httpClient is on for a call
# to 80/443, the firewall off for any other port, and either is put back after.
# true, false, or nothing when unread (blanks and CR dropped, lower case); only
# false is left alone, and httpClient goes back off only if it read off.
MW_FW=$(esxcli network firewall get 2>/dev/null | awk -F: '/^[ \t]*Enabled[ \t]*:/ { v = $2; gsub(/[ \t\r]/, "", v); print tolower(v); exit }')
MW_RESTORE=
mw_restore() {
  case "$MW_RESTORE" in
    firewall) esxcli network firewall set --enabled true ;;
    httpClient) esxcli network firewall ruleset set -r httpClient -e false ;;
  esac
  MW_RESTORE=
}
trap 'mw_restore' EXIT
trap 'mw_restore; exit 0' INT TERM
mw_open() {
  [ "$MW_FW" = false ] && return 0
  if [ "$MW_PORT" = 80 ] || [ "$MW_PORT" = 443 ]; then
    MW_HC=$(esxcli network firewall ruleset list 2>/dev/null | awk '$1 == "httpClient" { v = $2; gsub(/[ \t\r]/, "", v); print tolower(v); exit }')
    if [ "$MW_HC" != true ]; then
      esxcli network firewall ruleset set -r httpClient -e true && [ "$MW_HC" = false ] && MW_RESTORE=httpClient
    fi
  else
    esxcli network firewall set --enabled false && MW_RESTORE=firewall
  fi
}
mw_post() {
  mw_open
  MW_OUT=$(bounded ${o.timeoutSeconds} wget -q -O - --header 'Content-Type: application/json' --post-data "$MW_BODY" "$MW_URL" 2>&1)
  MW_RC=$?
  mw_restore
  return $MW_RC
}
mw_try=1
while :; do
  if mw_post; then
    echo "midwife: reported ${state}"
    break
  fi
  case "$MW_OUT" in
    *" 429 "*) ;;
    *" 4"[0-9][0-9]" "*) echo "midwife: the listener refused the ${state} report: $MW_OUT"; break ;;
  esac
  if [ "$mw_try" -ge ${o.attempts} ]; then
    echo "midwife: could not report ${state} after $mw_try attempts: ${$}{MW_OUT:-no answer}"
    break
  fi
  mw_try=$((mw_try + 1))
  nap ${o.retrySeconds}
done
exit 0
`
}

/** The `%pre` section: reports `installing` before the disk is touched. */
export function preSection(options: InstallCallbackOptions): string {
  const o = InstallCallbackOptions.parse(options)
  return `%pre --interpreter=busybox\n${body(o, 'installing')}`
}

/**
 * The `%post` section: reports `installed` (identity included) once the
 * install is written, so the listener can disarm the host's netboot before
 * the reboot. --ignorefailure keeps a listener outage from failing the install.
 */
export function postSection(options: InstallCallbackOptions): string {
  const o = InstallCallbackOptions.parse(options)
  return postHeader(o) + body(o, 'installed')
}

/**
 * The generic kickstart's `%post`: reports `installed` to the enrollment key's address (`token`
 * is the site enrollment key), so the listener stops offering the installer to the MAC the server
 * booted from. Everything else as postSection.
 */
export function discoveryPostSection(options: InstallCallbackOptions): string {
  const o = InstallCallbackOptions.parse(options)
  return postHeader(o) + body(o, 'installed', discoveryInstalledPath(o.token))
}

function postHeader(o: z.output<typeof InstallCallbackOptions>): string {
  // Room for every attempt and pause, so the installer never kills it midway.
  const budget = o.attempts * (o.timeoutSeconds + o.retrySeconds) + 60
  return `%post --interpreter=busybox --ignorefailure=true --timeout=${budget}\n`
}

/** The script of a section without its `%pre`/`%post` line, as the installer runs it. */
export function sectionScript(section: string): string {
  return section.slice(section.indexOf('\n') + 1)
}
