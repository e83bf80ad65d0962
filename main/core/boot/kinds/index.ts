// The registry of boot kinds. The boot-material screen and the downloads
// loop over it; a new kind is one module added to BOOT_KINDS.
import { bootContext, type Artifact, type BootInput, type BootKind } from '../input'
import { isTextArtifact } from '../input'
import { enrollment } from './enrollment'
import { ipxe } from './ipxe'
import { iso } from './iso'
import { oneLiner } from './one-liner'
import { pxelinuxBios } from './pxelinux-bios'
import { uefiHttp } from './uefi-http'
import { uefiPxe } from './uefi-pxe'

export const BOOT_KINDS: readonly BootKind[] = [
  pxelinuxBios,
  uefiPxe,
  uefiHttp,
  ipxe,
  iso,
  oneLiner,
  enrollment,
]

export type BootKindId = (typeof BOOT_KINDS)[number]['id']

export function bootKind(id: string): BootKind {
  const k = BOOT_KINDS.find((x) => x.id === id)
  if (k === undefined) {
    throw new Error(`unknown boot kind "${id}"; known: ${BOOT_KINDS.map((x) => x.id).join(', ')}`)
  }
  return k
}

export interface KindReport {
  id: string
  label: string
  firmware: BootKind['firmware']
  description: string
  applies: boolean
  /** Why it does not apply, when it does not. */
  reason?: string
  warnings: string[]
}

export interface BootRender {
  kinds: KindReport[]
  /** Every artifact once, even when two kinds need the same file. */
  artifacts: Artifact[]
  warnings: string[]
}

const sameArtifact = (a: Artifact, b: Artifact) =>
  isTextArtifact(a) && isTextArtifact(b)
    ? a.text === b.text
    : !isTextArtifact(a) &&
      !isTextArtifact(b) &&
      a.media.version === b.media.version &&
      a.media.file === b.media.file

/**
 * Renders the chosen kinds (all by default) for one input. Bad input throws
 * a ZodError naming the field; kinds that do not apply are reported, not run.
 */
export function renderBoot(input: BootInput, kindIds?: readonly string[]): BootRender {
  const c = bootContext(input)
  const chosen = kindIds === undefined ? BOOT_KINDS : kindIds.map(bootKind)
  const kinds: KindReport[] = []
  const artifacts = new Map<string, Artifact>()
  for (const k of chosen) {
    const a = k.applies(c)
    const base = { id: k.id, label: k.label, firmware: k.firmware, description: k.description }
    if (!a.applies) {
      kinds.push({ ...base, applies: false, reason: a.reason, warnings: [] })
      continue
    }
    const r = k.render(c)
    kinds.push({ ...base, applies: true, warnings: r.warnings })
    for (const art of r.artifacts) {
      const key = `${art.delivery}:${art.path}`
      const prev = artifacts.get(key)
      if (prev !== undefined && !sameArtifact(prev, art)) {
        throw new Error(
          `boot kinds ${prev.kind} and ${art.kind} both write ${key} with different contents`,
        )
      }
      if (prev === undefined) artifacts.set(key, art)
    }
  }
  return {
    kinds,
    artifacts: [...artifacts.values()],
    warnings: [...new Set(kinds.flatMap((k) => k.warnings))],
  }
}
