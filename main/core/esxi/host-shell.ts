// Shell functions shared by the scripts Midwife writes for the host (the
// kickstart's %pre/%post, the management move). resources/client/checkin.sh
// is served as one file and cannot source them, so it carries its own copy,
// held equal to these by a unit test.

/**
 * `nap N`: waits N whole seconds, and always returns 0. esxi.md does not list
 * `sleep` among the host's applets; where it is missing, python3 (there on
 * 7.x/8.x) waits instead, and failing that awk spins until `timeout` stops it.
 */
export const NAP = String.raw`nap() {
  [ "$1" -gt 0 ] 2>/dev/null || return 0
  sleep "$1" 2>/dev/null && return 0
  python3 -c "import time; time.sleep($1)" 2>/dev/null && return 0
  # Busy, the last resort: timeout is the one listed applet that keeps time.
  timeout "$1" awk 'BEGIN { while (1) {} }' >/dev/null 2>&1
  return 0
}`
