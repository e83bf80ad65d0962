// A server's life in Midwife, as the operator sees it. The allowed moves
// between these states live in main/core/lifecycle (the only place that may
// change a state); this file is what both sides need to show one: its name,
// its words and how worried to be about it (Foreman's OK/WARN/ERROR mapping).
import { z } from 'zod'

export const HostState = z.enum([
  'defined',
  'booting',
  'installing',
  'installed',
  'discovered',
  'checked_in',
  'needs_attention',
  'approved',
  'configuring',
  'configured',
  'failed',
  'interrupted',
  'retired',
])
export type HostState = z.infer<typeof HostState>

/** How the overview colours a state: nothing to do, in progress, good, look at it, broken. */
export const Severity = z.enum(['idle', 'busy', 'ok', 'warn', 'error'])
export type Severity = z.infer<typeof Severity>

export const STATE_INFO: Record<HostState, { label: string; severity: Severity; meaning: string }> =
  {
    defined: {
      label: 'Defined',
      severity: 'idle',
      meaning: 'defined, waiting for the server to boot its installer or check in',
    },
    booting: {
      label: 'Booting',
      severity: 'busy',
      meaning: 'its kickstart was fetched; the installer is running',
    },
    installing: {
      label: 'Installing',
      severity: 'busy',
      meaning: "the installer's %pre reported: ESXi is being written to its disk",
    },
    installed: {
      label: 'Installed',
      severity: 'busy',
      meaning:
        "the installer's %post reported: ESXi is installed and its netboot is disarmed; waiting for it to check in",
    },
    discovered: {
      label: 'Discovered',
      severity: 'warn',
      meaning: 'checked in with the site enrollment key; no host definition claims it yet',
    },
    checked_in: {
      label: 'Checked in',
      severity: 'warn',
      meaning: 'checked in and identified; waiting for approval',
    },
    needs_attention: {
      label: 'Needs attention',
      severity: 'error',
      meaning: 'what the server reported does not match what Midwife trusts',
    },
    approved: { label: 'Approved', severity: 'busy', meaning: 'approved; the run is queued' },
    configuring: { label: 'Configuring', severity: 'busy', meaning: 'the run is in progress' },
    configured: {
      label: 'Configured',
      severity: 'ok',
      meaning: 'every setting applied and verified',
    },
    failed: { label: 'Failed', severity: 'error', meaning: 'the last run failed' },
    interrupted: {
      label: 'Interrupted',
      severity: 'error',
      meaning: 'Midwife stopped while a run was in progress',
    },
    retired: {
      label: 'Retired',
      severity: 'idle',
      meaning: 'out of service; its token no longer works',
    },
  }

/**
 * States where the server waits for the operator (to approve, assign, decide
 * what to trust, or look at a failure): the badge and the title count these.
 */
export const NEEDS_OPERATOR: readonly HostState[] = [
  'discovered',
  'checked_in',
  'needs_attention',
  'failed',
  'interrupted',
]
