import { storedInstallOptions, type InstallOptions } from '../../catalogue/install'
import { ProfileInput, type Profile, type ProfileImpact } from '../../contract/schemas'
import { ApiCallError } from '../../contract/api'
import { hostName } from '../hosts/host-view'
import { resolvedProblems } from '../hosts/hosts-service'
import { publicSpec, sealSpec } from '../hosts/spec'
import type { Notifier } from '../notify'
import type { SecretBox } from '../secrets'
import type { Store, StoredSpec } from '../store'
import { changedSettings, noteOutdated } from '../hosts/outdated'

/**
 * The site profile: defaults for any site-scoped setting (a host overrides
 * what differs) and the install options. Saving it says which hosts it
 * changes, setting by setting.
 */
export class ProfileService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly notify: Notifier,
  ) {}

  private stored(): { spec: StoredSpec; install: InstallOptions } {
    const p = this.store.settings.profile()
    return { spec: p.spec, install: storedInstallOptions(p.install) }
  }

  get(): Profile {
    const p = this.stored()
    return { ...publicSpec(p.spec), install: p.install }
  }

  install(): InstallOptions {
    return this.stored().install
  }

  private next(input: ProfileInput): { spec: StoredSpec; install: InstallOptions } {
    const parsed = ProfileInput.parse(input)
    return {
      spec: sealSpec(this.secrets, parsed.spec, this.stored().spec, parsed.clearSecrets),
      install: parsed.install,
    }
  }

  /** The hosts whose resolved spec would differ, and in which settings (a retired host runs nothing). */
  private impact(before: StoredSpec, after: StoredSpec): ProfileImpact['changes'] {
    const changes: ProfileImpact['changes'] = []
    for (const h of this.store.hosts.list()) {
      const d = h.definition
      if (!d || h.state === 'retired') continue
      const keys = changedSettings(
        { definition: d, profile: before },
        { definition: d, profile: after },
      )
      if (keys.length > 0) changes.push({ hostId: h.id, name: hostName(h), keys })
    }
    return changes
  }

  /** Hosts whose resolved spec this profile would make inconsistent (a gateway outside its subnet). */
  private problems(spec: StoredSpec): ProfileImpact['problems'] {
    return this.store.hosts.list().flatMap((h) =>
      h.definition
        ? resolvedProblems(h.definition, spec).map((message) => ({
            hostId: h.id,
            name: hostName(h),
            message,
          }))
        : [],
    )
  }

  preview(input: ProfileInput): ProfileImpact {
    const next = this.next(input)
    return {
      profile: { ...publicSpec(next.spec), install: next.install },
      changes: this.impact(this.stored().spec, next.spec),
      problems: this.problems(next.spec),
    }
  }

  save(input: ProfileInput): ProfileImpact {
    const before = this.stored().spec
    const next = this.next(input)
    const problems = this.problems(next.spec)
    if (problems.length > 0) {
      throw new ApiCallError('invalid', problems.map((p) => `${p.name}: ${p.message}`).join('; '))
    }
    const changes = this.impact(before, next.spec)
    // The notes on configured hosts go with the save: a failure between them would tell the
    // operator the save failed while the profile was saved, its hosts not told.
    this.store.transaction(() => {
      this.store.settings.saveProfile(next.spec, next.install)
      this.store.events.append('site.profile_saved', 'site', {
        spec: publicSpec(next.spec).spec,
        install: next.install,
        hostsChanged: changes.map((c) => c.hostId),
      })
      for (const c of changes) noteOutdated(this.store, c.hostId, c.keys, 'the site profile')
    })
    for (const c of changes) this.notify.host(c.hostId)
    return { profile: this.get(), changes, problems: [] }
  }
}
