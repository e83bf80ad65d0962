import { timingSafeEqual } from 'node:crypto'
import type { Settings } from '../../contract/schemas'
import { newToken, openNamed, OTHERWISE, tokenHash, type SecretBox } from '../secrets'
import type { Store } from '../store'

/**
 * The site's own configuration and secrets: settings, the enrollment key
 * servers without a per-host token check in with (PBKEY), and the root
 * password the generic kickstart installs on them.
 */
export class SiteService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
  ) {
    if (!store.settings.secret('enrollment_key')) this.setEnrollmentKey(newToken(), 'created')
  }

  settings(): Settings {
    return this.store.settings.get()
  }

  private setEnrollmentKey(key: string, how: 'created' | 'rotated'): void {
    this.store.transaction(() => {
      this.store.settings.putSecret('enrollment_key', this.secrets.seal(key), tokenHash(key))
      this.store.events.append(`site.enrollment_key_${how}`, 'site', {})
    })
  }

  enrollmentKey(): string {
    const s = this.store.settings.secret('enrollment_key')
    if (!s) throw new Error('the site has no enrollment key')
    return openNamed(this.secrets, s.sealed, 'the site’s enrollment key', OTHERWISE.enrollmentKey)
  }

  /** Compared by hash, in constant time: the key itself is never held for this. */
  enrollmentMatches(value: string): boolean {
    const stored = this.store.settings.secret('enrollment_key')?.hash
    if (!stored) return false
    return timingSafeEqual(Buffer.from(tokenHash(value)), Buffer.from(stored))
  }

  /** A new key: every boot line with the old one stops working at once. */
  rotateEnrollmentKey(): void {
    this.setEnrollmentKey(newToken(), 'rotated')
  }

  discoveryPassword(): string | null {
    const s = this.store.settings.secret('discovery_root_password')
    return s
      ? openNamed(
          this.secrets,
          s.sealed,
          'the site’s discovery root password',
          OTHERWISE.siteSecret,
        )
      : null
  }

  /** The discovery password as stored (sealed), for what only needs to know which one it is. */
  sealedDiscoveryPassword(): Buffer | null {
    return this.store.settings.secret('discovery_root_password')?.sealed ?? null
  }

  setDiscoveryPassword(password: string): void {
    this.store.transaction(() => {
      this.store.settings.putSecret('discovery_root_password', this.secrets.seal(password), null)
      this.store.events.append('site.discovery_password_set', 'site', {})
    })
  }
}
