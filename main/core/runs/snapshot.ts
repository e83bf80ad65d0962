import { z } from 'zod'

/**
 * What an approval froze: the settings to apply (in catalogue order, secrets
 * still sealed) and the identity to trust. The run executes this, not
 * whatever the host's row holds when it runs, and the audit log records it
 * (secrets left out).
 */
export const RunSnapshot = z.object({
  host: z.object({
    name: z.string(),
    hostname: z.string(),
    domain: z.string(),
    sshUser: z.string(),
    sshPort: z.number().int(),
  }),
  identity: z.object({
    /** The management address bound to the host: SSH connects here and nowhere else. */
    address: z.string(),
    /** The bound SSH host key fingerprints: any other key is refused before login. */
    fingerprints: z.array(z.string()).min(1),
    checkinId: z.number().int().nullable(),
  }),
  /** The resolved spec, as stored (a secret value is { $sealed }). */
  settings: z.array(z.object({ key: z.string(), value: z.unknown() })),
  planId: z.string(),
})
export type RunSnapshot = z.infer<typeof RunSnapshot>
