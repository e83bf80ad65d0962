// The site's media library as the running app knows it: each version's
// folder checked on disk when it is saved, at start and when the operator
// asks, and the last result kept so the listener can serve files without
// walking the folder on every request.
import { ApiCallError } from '../../contract/api'
import { ESXI_VERSIONS, type EsxiVersion } from '../../contract/schemas'
import { validateMedia, type MediaReport } from './library'

/** Each version's folder as set under Site; '' for none. */
export type MediaPaths = Record<EsxiVersion, string>

const SHOWN_PROBLEMS = 5

export class MediaLibrary {
  private reports = new Map<EsxiVersion, { path: string; report: MediaReport }>()

  /** Checks every folder in `paths`; versions without one are left out. */
  static async check(paths: MediaPaths): Promise<Map<EsxiVersion, MediaReport>> {
    const out = new Map<EsxiVersion, MediaReport>()
    for (const v of ESXI_VERSIONS) {
      if (paths[v] !== '') out.set(v, await validateMedia(paths[v], v))
    }
    return out
  }

  /**
   * Checks the folders about to be saved. Any that cannot be used is refused
   * with every reason (up to a few per version), so the operator can fix the
   * folder before anything is stored; then the reports are kept.
   */
  async accept(paths: MediaPaths): Promise<void> {
    const checked = await MediaLibrary.check(paths)
    const bad = [...checked.entries()].filter(([, r]) => !r.ok)
    if (bad.length > 0) {
      throw new ApiCallError(
        'invalid',
        bad
          .map(([v, r]) => {
            const more = r.problems.length - SHOWN_PROBLEMS
            const shown = r.problems.slice(0, SHOWN_PROBLEMS).join(' ')
            return `boot.media.${v}: ${shown}${more > 0 ? ` (and ${more} more problems)` : ''}`
          })
          .join('; '),
      )
    }
    this.keep(paths, checked)
  }

  /** Checks the folders again and keeps what was found, usable or not (a folder may have gone). */
  async refresh(paths: MediaPaths): Promise<MediaReport[]> {
    const checked = await MediaLibrary.check(paths)
    this.keep(paths, checked)
    return [...checked.values()]
  }

  private keep(paths: MediaPaths, checked: Map<EsxiVersion, MediaReport>): void {
    this.reports = new Map(
      [...checked.entries()].map(([v, report]) => [v, { path: paths[v], report }]),
    )
  }

  /** The last report for a version, with the folder as it was set. */
  entry(v: EsxiVersion): { path: string; report: MediaReport } | undefined {
    return this.reports.get(v)
  }

  reportsNow(): MediaReport[] {
    return [...this.reports.values()].map((e) => e.report)
  }

  /** The real folder of a usable version, for serving its files. */
  root(v: EsxiVersion): string | undefined {
    const r = this.reports.get(v)?.report
    return r?.ok ? r.root : undefined
  }

  /** Every usable version's real folder. */
  roots(): Partial<Record<EsxiVersion, string>> {
    const out: Partial<Record<EsxiVersion, string>> = {}
    for (const v of ESXI_VERSIONS) {
      const root = this.root(v)
      if (root !== undefined) out[v] = root
    }
    return out
  }

  usable(): MediaReport[] {
    return this.reportsNow().filter((r) => r.ok)
  }
}
