// What the installer decides and nothing after it can: which disk ESXi goes
// on (and that it is erased), the keyboard, and whether an unsupported CPU may
// be installed on. Part of the site profile; rendered into the kickstart.
import { z } from 'zod'
import { hasInvisible } from './values'

/**
 * Text that stays on its kickstart line. The installer reads ks.cfg in Python, where a text-mode
 * read ends lines at \r too and splitlines() at \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029:
 * any of them in a value would start a kickstart command of its own.
 */
const staysOnLine = (s: string) => !hasInvisible(s) && !/[\u2028\u2029]/.test(s)

export const DISK_TYPES = ['local', 'remote', 'usb'] as const

export const InstallDisk = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('first'),
    /** `install --firstdisk=local,remote,usb`: the first disk of these types, in this order. */
    types: z
      .array(z.enum(DISK_TYPES))
      .min(1, 'choose at least one disk type')
      .refine((t) => new Set(t).size === t.length, 'a disk type is listed twice'),
  }),
  z.object({
    kind: z.literal('named'),
    /** `install --disk=...`: a device name (mpx.vmhba0:C0:T0:L0), or a model or vendor. */
    disk: z
      .string()
      .trim()
      .min(1, 'name the disk: a device like mpx.vmhba0:C0:T0:L0, or a model or vendor')
      .max(200)
      .refine(
        (d) => !/[\s'"\\]/.test(d) && staysOnLine(d),
        'a disk name has no spaces, quotes or control characters',
      ),
  }),
])
export type InstallDisk = z.infer<typeof InstallDisk>

export const InstallOptions = z.object({
  disk: InstallDisk.default({ kind: 'first', types: ['local'] }),
  /**
   * Overwrite an existing VMFS datastore on the install disk. Without it the
   * installer stops on a disk that already holds one; with it, that data is gone.
   */
  overwriteVmfs: z.boolean().default(false),
  /** A layout name, like 'US Default' or 'German'. */
  keyboard: z
    .string()
    .trim()
    .max(64)
    .refine(
      (k) => !/['"\\]/.test(k) && staysOnLine(k),
      'a keyboard layout name has no quotes or control characters',
    )
    .optional(),
  /** Install on a CPU the release no longer supports (allowLegacyCPU=true, --forceunsupportedinstall). */
  allowLegacyCpu: z.boolean().default(false),
})
export type InstallOptions = z.infer<typeof InstallOptions>

/**
 * Install options as stored. A keyboard layout this Midwife refuses (one holding a CR, stored
 * before such a name was refused) is left out, so the profile still opens for the operator to
 * see and save again, and no kickstart carries it. Any other refused option still refuses the
 * read: falling back to the default disk would erase a disk the operator did not choose.
 */
export function storedInstallOptions(raw: unknown): InstallOptions {
  const parsed = InstallOptions.safeParse(raw)
  if (parsed.success) return parsed.data
  const keyboardOnly = parsed.error.issues.every((i) => i.path[0] === 'keyboard')
  if (!keyboardOnly || typeof raw !== 'object' || raw === null) throw parsed.error
  const { keyboard: _refused, ...rest } = raw as Record<string, unknown>
  return InstallOptions.parse(rest)
}

/** The kickstart's `install` and `keyboard` lines, and any boot options the choice needs. */
export function installLines(o: InstallOptions): { lines: string[]; bootOptions: string[] } {
  const install = ['install']
  if (o.disk.kind === 'first') install.push(`--firstdisk=${o.disk.types.join(',')}`)
  else install.push(`--disk=${o.disk.disk}`)
  if (o.overwriteVmfs) install.push('--overwritevmfs')
  if (o.allowLegacyCpu) install.push('--forceunsupportedinstall')
  const lines = [install.join(' ')]
  if (o.keyboard) lines.push(`keyboard '${o.keyboard}'`)
  return { lines, bootOptions: o.allowLegacyCpu ? ['allowLegacyCPU=true'] : [] }
}

/** The plain words an operator reads before copying boot material. */
export function installWarning(o: InstallOptions): string {
  const disk =
    o.disk.kind === 'first' ? `the first ${o.disk.types.join('/')} disk` : `disk ${o.disk.disk}`
  return o.overwriteVmfs
    ? `The install ERASES ${disk}, including any VMFS datastore on it.`
    : `The install ERASES ${disk}; it stops if that disk holds a VMFS datastore (overwrite is off).`
}
