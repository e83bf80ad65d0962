#!/bin/sh
# Midwife check-in client for VMware ESXi.
#
# Runs on the host (BusyBox ash) at first boot, or by hand, and announces the
# host to a Midwife listener: what esxcli says about its NICs, hardware,
# version and management address, plus its SSH host public keys. Midwife
# configures nothing until an operator approves the check-in.
#
# Uses only what esxi.md says ESXi ships: ash, awk, sed, grep, wget (plain
# HTTP), timeout, esxcli, vsish; sleep or python3 where the host has them (see
# nap). No curl, no bash.
#
# Settings (environment):
#   MIDWIFE_URL          http://listener:port
#   MIDWIFE_TOKEN        this host's deployment token, or
#   MIDWIFE_ENROLL       the site enrollment key, for a server no host names yet
#   With none of them set, the listener and the key come from the kernel
#   command line (vsish -e get /system/bootCmdLine): PBHOST=<host:port> and
#   PBKEY=<enrollment key>, as a generic PXE menu or a stateless boot gives them.
#   MIDWIFE_ATTEMPTS     tries before giving up (default 8)
#   MIDWIFE_BACKOFF      first wait between tries in seconds, doubled each time (default 5)
#   MIDWIFE_BACKOFF_MAX  longest wait between tries in seconds (default 120)
#   MIDWIFE_TIMEOUT      seconds allowed for one HTTP call (default 20)
#   MIDWIFE_SSH_KEY_DIR  where the SSH host keys are (default /etc/ssh)

MIDWIFE_ATTEMPTS=${MIDWIFE_ATTEMPTS:-8}
MIDWIFE_BACKOFF=${MIDWIFE_BACKOFF:-5}
MIDWIFE_BACKOFF_MAX=${MIDWIFE_BACKOFF_MAX:-120}
MIDWIFE_TIMEOUT=${MIDWIFE_TIMEOUT:-20}
MIDWIFE_SSH_KEY_DIR=${MIDWIFE_SSH_KEY_DIR:-/etc/ssh}
CLIENT_VERSION=checkin.sh/1

log() { echo "midwife-checkin: $*" >&2; }
die() { log "$*"; exit 1; }

# bounded SECS CMD...: CMD, stopped after SECS seconds, whichever way this BusyBox's timeout
# takes them (-t SECS before 1.30, SECS since); nap N waits N whole seconds. The same functions
# as Midwife's other host scripts.
timeout_style() {
  if timeout 9 awk 'BEGIN { }' </dev/null >/dev/null 2>&1; then echo plain
  elif timeout -t 9 awk 'BEGIN { }' </dev/null >/dev/null 2>&1; then echo t
  else echo none
  fi
}
bounded() {
  [ -n "$MW_TIMEOUT_STYLE" ] || MW_TIMEOUT_STYLE=$(timeout_style)
  case "$MW_TIMEOUT_STYLE" in
    plain) timeout "$@" ;;
    t) timeout -t "$@" ;;
    *) shift; "$@" ;;
  esac
}
nap() {
  [ "$1" -gt 0 ] 2>/dev/null || return 0
  sleep "$1" 2>/dev/null && return 0
  python3 -c "import time; time.sleep($1)" 2>/dev/null && return 0
  # Busy, the last resort: timeout is the one listed applet that keeps time.
  [ -n "$MW_TIMEOUT_STYLE" ] || MW_TIMEOUT_STYLE=$(timeout_style)
  [ "$MW_TIMEOUT_STYLE" = none ] || bounded "$1" awk 'BEGIN { while (1) {} }' >/dev/null 2>&1
  return 0
}

BOOTCMD=$(vsish -e get /system/bootCmdLine 2>/dev/null)

# The value of key=value on the kernel command line, whatever surrounds it:
# quotes, braces, or a label glued on (bootCmdLine:"BOOTIF=...), and a value
# quoted itself (PBHOST="host:port"). The key starts after the last of :"'{(
# before the first =, so values keep theirs (host:port). Words split at CRs
# too, so lines that end in CR LF read alike.
boot_option() {
  set -f
  ifs=$IFS
  IFS=" $(printf '\t\r')
"
  for word in $BOOTCMD; do
    IFS=$ifs
    case "$word" in *=*) ;; *) continue ;; esac
    key=${word%%=*}
    key=${key##*[:\"\'{(]}
    [ "$key" = "$1" ] || continue
    value=${word#*=}
    while :; do
      case "$value" in
        *[\"\'\}\)]) value=${value%?} ;;
        [\"\']*) value=${value#?} ;;
        *) break ;;
      esac
    done
    echo "$value"
    set +f
    return 0
  done
  IFS=$ifs
  set +f
  return 1
}

if [ -z "$MIDWIFE_URL" ] && PBHOST=$(boot_option PBHOST); then
  MIDWIFE_URL="http://$PBHOST"
fi
if [ -z "$MIDWIFE_TOKEN" ] && [ -z "$MIDWIFE_ENROLL" ] && PBKEY=$(boot_option PBKEY); then
  MIDWIFE_ENROLL=$PBKEY
fi
[ -n "$MIDWIFE_URL" ] ||
  die "no listener: set MIDWIFE_URL (http://listener:port) or boot with PBHOST=<host:port>"
[ -n "$MIDWIFE_TOKEN" ] || [ -n "$MIDWIFE_ENROLL" ] ||
  die "no credential: set MIDWIFE_TOKEN or MIDWIFE_ENROLL, or boot with PBKEY=<enrollment key>"
case "$MIDWIFE_URL" in
  http://*) ;;
  *) die "MIDWIFE_URL must be plain http:// (BusyBox wget on ESXi cannot do HTTPS reliably)" ;;
esac
MIDWIFE_URL=${MIDWIFE_URL%/}

# JSON string of $1: quotes, backslashes and control characters escaped, lines joined by \n.
jstr() {
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
}

# ---- what this host is ------------------------------------------------------
# Raw outputs travel as they are; Midwife parses them, so a format change on a
# new ESXi release is fixed in one place, not on every host.
NICS=$(esxcli network nic list 2>&1)
PLATFORM=$(esxcli hardware platform get 2>&1)
VERSION=$(esxcli system version get 2>&1)
IPV4=$(esxcli network ip interface ipv4 get 2>&1)
HOSTNAME_OUT=$(esxcli system hostname get 2>&1)

KEYS=
for f in "$MIDWIFE_SSH_KEY_DIR/ssh_host_rsa_key.pub" "$MIDWIFE_SSH_KEY_DIR/ssh_host_ecdsa_key.pub"; do
  line=
  # read fails on a last line with no newline after it, yet sets it: the line is what counts.
  [ -r "$f" ] && { read -r line < "$f" || :; }
  if [ -n "$line" ]; then
    KEYS="$KEYS${KEYS:+,}$(jstr "$line")"
  fi
done
[ -n "$KEYS" ] || log "warning: no SSH host public key found in $MIDWIFE_SSH_KEY_DIR"

if [ -n "$MIDWIFE_TOKEN" ]; then
  CREDENTIAL="\"token\":$(jstr "$MIDWIFE_TOKEN")"
else
  CREDENTIAL="\"enrollment\":$(jstr "$MIDWIFE_ENROLL")"
fi

BODY="{$CREDENTIAL,\"client\":\"$CLIENT_VERSION\",\"outputs\":{\
\"nicList\":$(jstr "$NICS"),\
\"platform\":$(jstr "$PLATFORM"),\
\"version\":$(jstr "$VERSION"),\
\"ipv4\":$(jstr "$IPV4"),\
\"hostname\":$(jstr "$HOSTNAME_OUT"),\
\"bootCmdLine\":$(jstr "$BOOTCMD")},\
\"sshHostKeys\":[$KEYS]}"

# ---- the outbound firewall ----------------------------------------------------
# ESXi drops outbound traffic unless a ruleset allows it. httpClient opens TCP
# 80/443; a listener on any other port is only reachable with the firewall off,
# so it is off for the moment of each call and put back straight after.
HOSTPORT=${MIDWIFE_URL#http://}
HOSTPORT=${HOSTPORT%%/*}
case "$HOSTPORT" in
  *:*) PORT=${HOSTPORT##*:} ;;
  *) PORT=80 ;;
esac

# Each prints true, false, or nothing when it cannot tell (a value is read with
# its blanks and any CR dropped, in lower case).
firewall_enabled() {
  esxcli network firewall get 2>/dev/null |
    awk -F: '/^[ \t]*Enabled[ \t]*:/ { v = $2; gsub(/[ \t\r]/, "", v); print tolower(v); exit }'
}
ruleset_enabled() {
  esxcli network firewall ruleset list 2>/dev/null |
    awk -v r="$1" '$1 == r { v = $2; gsub(/[ \t\r]/, "", v); print tolower(v); exit }'
}

FW_RESTORE=
restore_firewall() {
  case "$FW_RESTORE" in
    firewall) esxcli network firewall set --enabled true || log "could not re-enable the firewall" ;;
    httpClient) esxcli network firewall ruleset set -r httpClient -e false ;;
  esac
  FW_RESTORE=
}
trap 'restore_firewall' EXIT
trap 'restore_firewall; exit 130' INT TERM

# Only a firewall that says it is off is left alone: one Midwife cannot read
# is taken as on, since a call it drops never arrives. httpClient is put back
# off only when it read off before; one it cannot read stays on (harmless).
open_firewall() {
  [ "$(firewall_enabled)" = "false" ] && return 0
  if [ "$PORT" = 80 ] || [ "$PORT" = 443 ]; then
    HC=$(ruleset_enabled httpClient)
    if [ "$HC" != "true" ]; then
      esxcli network firewall ruleset set -r httpClient -e true && [ "$HC" = "false" ] && FW_RESTORE=httpClient
    fi
  else
    esxcli network firewall set --enabled false && FW_RESTORE=firewall
  fi
}

# ---- post, with retries -------------------------------------------------------
post_once() {
  open_firewall
  OUT=$(bounded "$MIDWIFE_TIMEOUT" wget -q -O - \
    --header "Content-Type: application/json" \
    --post-data "$BODY" "$MIDWIFE_URL/checkin" 2>&1)
  RC=$?
  restore_firewall
  return $RC
}

attempt=1
wait=$MIDWIFE_BACKOFF
while :; do
  if post_once && echo "$OUT" | grep -q '"accepted":true'; then
    log "checked in with $MIDWIFE_URL: $OUT"
    exit 0
  fi
  case "$OUT" in
    *" 401 "*|*" 403 "*) die "the listener refused this host's $(if [ -n "$MIDWIFE_TOKEN" ]; then echo "deployment token (MIDWIFE_TOKEN)"; elif [ -n "$PBKEY" ]; then echo "enrollment key (PBKEY= on its boot line)"; else echo "enrollment key (MIDWIFE_ENROLL)"; fi): $OUT" ;;
    *" 410 "*) die "the listener says this token no longer works (host configured or re-armed): $OUT" ;;
    *" 400 "*|*" 413 "*) die "the listener refused the report: $OUT" ;;
  esac
  [ "$attempt" -ge "$MIDWIFE_ATTEMPTS" ] &&
    die "giving up after $attempt attempts; last error: ${OUT:-no answer within ${MIDWIFE_TIMEOUT}s}"
  log "attempt $attempt failed (${OUT:-no answer within ${MIDWIFE_TIMEOUT}s}); retrying in ${wait}s"
  nap "$wait"
  attempt=$((attempt + 1))
  wait=$((wait * 2))
  [ "$wait" -gt "$MIDWIFE_BACKOFF_MAX" ] && wait=$MIDWIFE_BACKOFF_MAX
done
