// The install options being edited: which disk ESXi goes on (and is erased),
// the keyboard, and whether an unsupported CPU may be installed on. Checked by
// the same schema the API uses.
import { DISK_TYPES, InstallOptions, installWarning } from '../../../main/catalogue/install'
import { canonical } from '../spec/draft'

type DiskType = (typeof DISK_TYPES)[number]

export class InstallDraft {
  diskKind: 'first' | 'named' = $state('first')
  /** Every disk type, the chosen ones first in the order the installer tries them. */
  types: Array<{ type: DiskType; on: boolean }> = $state([])
  diskName = $state('')
  overwriteVmfs = $state(false)
  keyboard = $state('')
  allowLegacyCpu = $state(false)
  reviewing = $state(false)
  private readonly loaded: string

  constructor(o: InstallOptions) {
    const chosen = o.disk.kind === 'first' ? o.disk.types : ['local' as const]
    this.diskKind = o.disk.kind
    this.types = [
      ...chosen.map((type) => ({ type, on: true })),
      ...DISK_TYPES.filter((t) => !chosen.includes(t)).map((type) => ({ type, on: false })),
    ]
    this.diskName = o.disk.kind === 'named' ? o.disk.disk : ''
    this.overwriteVmfs = o.overwriteVmfs
    this.keyboard = o.keyboard ?? ''
    this.allowLegacyCpu = o.allowLegacyCpu
    this.loaded = canonical(InstallOptions.parse(o))
  }

  readonly input = $derived({
    disk:
      this.diskKind === 'first'
        ? { kind: 'first' as const, types: this.types.filter((t) => t.on).map((t) => t.type) }
        : { kind: 'named' as const, disk: this.diskName },
    overwriteVmfs: this.overwriteVmfs,
    ...(this.keyboard.trim() ? { keyboard: this.keyboard } : {}),
    allowLegacyCpu: this.allowLegacyCpu,
  })

  readonly parsed = $derived(InstallOptions.safeParse(this.input))

  /** Messages by field: disk (the types or the name) and keyboard. */
  readonly errors: Record<string, string> = $derived.by(() => {
    const out: Record<string, string> = {}
    if (this.parsed.success) return out
    for (const i of this.parsed.error.issues) {
      const at = i.path[0] === 'disk' ? 'disk' : String(i.path[0] ?? '')
      out[at] ??= i.message
    }
    return out
  })

  get changed(): boolean {
    return this.parsed.success && canonical(this.parsed.data) !== this.loaded
  }

  /** What the operator reads before anything is installed: the disk the install erases. */
  readonly warning = $derived(this.parsed.success ? installWarning(this.parsed.data) : null)

  move(i: number, by: -1 | 1): void {
    const list = [...this.types]
    const [t] = list.splice(i, 1)
    if (t) list.splice(i + by, 0, t)
    this.types = list
  }
}
