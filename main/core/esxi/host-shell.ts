// Shell functions shared by the scripts Midwife writes for the host (the
// kickstart's %pre/%post, the management move). resources/client/checkin.sh
// is served as one file and cannot source them, so it carries its own copy,
// held equal to these by a unit test.

/**
 * `bounded SECS CMD...`: CMD, stopped after SECS seconds. esxi.md lists `timeout` but not how it
 * takes its seconds: BusyBox before 1.30 wants `timeout -t SECS CMD` and, given `timeout SECS
 * CMD`, tries to run SECS as the program; 1.30 on (like coreutils) wants `timeout SECS CMD`. The
 * first call finds out which (`timeout_style`: plain, t, or none when neither runs, where CMD
 * then runs unbounded).
 */
export const BOUNDED = String.raw`timeout_style() {
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
}`

/**
 * `nap N`: waits N whole seconds, and always returns 0. esxi.md does not list
 * `sleep` among the host's applets; where it is missing, python3 (there on
 * 7.x/8.x) waits instead, and failing that awk spins until `timeout` stops it
 * (never where timeout does not run). Needs BOUNDED.
 */
export const NAP = String.raw`nap() {
  [ "$1" -gt 0 ] 2>/dev/null || return 0
  sleep "$1" 2>/dev/null && return 0
  python3 -c "import time; time.sleep($1)" 2>/dev/null && return 0
  # Busy, the last resort: timeout is the one listed applet that keeps time.
  [ -n "$MW_TIMEOUT_STYLE" ] || MW_TIMEOUT_STYLE=$(timeout_style)
  [ "$MW_TIMEOUT_STYLE" = none ] || bounded "$1" awk 'BEGIN { while (1) {} }' >/dev/null 2>&1
  return 0
}`

/** Every function above, in the order they need each other. */
export const HOST_FUNCTIONS = `${BOUNDED}\n${NAP}`
