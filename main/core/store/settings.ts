import { z } from 'zod'
import { BootSettings, Settings } from '../../contract/schemas'
import { statements, type Db } from './db'

export const defaultSettings: Settings = {
  listenerHost: '0.0.0.0',
  listenerPort: 8080,
  advertisedAddress: '',
  mediaBaseUrl: '',
  autoMatch: false,
  boot: BootSettings.parse({}),
  runConcurrency: 200,
}

/** Site-wide secrets (the enrollment key, the discovery root password), sealed. */
export type SiteSecretName = 'enrollment_key' | 'discovery_root_password'

const Row = z.object({ key: z.string(), value: z.string() })

export class SettingsTable {
  private readonly q: ReturnType<typeof statements>

  constructor(private readonly db: Db) {
    this.q = statements(db)
  }

  secret(name: SiteSecretName): { sealed: Buffer; hash: string | null } | undefined {
    const row = this.q('SELECT sealed, hash FROM site_secrets WHERE name = ?').get(name) as
      { sealed: Buffer; hash: string | null } | undefined
    return row
  }

  /** The site profile: default setting values (secrets sealed) and install options. */
  profile(): { spec: Record<string, unknown>; install: Record<string, unknown> } {
    const row = this.q('SELECT spec, install FROM site_profile WHERE id = 1').get() as
      { spec: string; install: string } | undefined
    const obj = z.record(z.string(), z.unknown())
    return {
      spec: obj.parse(JSON.parse(row?.spec ?? '{}')),
      install: obj.parse(JSON.parse(row?.install ?? '{}')),
    }
  }

  saveProfile(spec: Record<string, unknown>, install: Record<string, unknown>): void {
    this.q(
      `INSERT INTO site_profile (id, spec, install) VALUES (1, ?, ?)
       ON CONFLICT(id) DO UPDATE SET spec = excluded.spec, install = excluded.install`,
    ).run(JSON.stringify(spec), JSON.stringify(install))
  }

  putSecret(name: SiteSecretName, sealed: Buffer, hash: string | null): void {
    this.q(
      `INSERT INTO site_secrets (name, sealed, hash) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET sealed = excluded.sealed, hash = excluded.hash`,
    ).run(name, sealed, hash)
  }

  get(): Settings {
    const rows = z.array(Row).parse(this.db.prepare('SELECT key, value FROM settings').all())
    const stored: Record<string, unknown> = {}
    for (const r of rows) stored[r.key] = JSON.parse(r.value)
    return Settings.parse({ ...defaultSettings, ...stored })
  }

  save(settings: Settings): Settings {
    const valid = Settings.parse(settings)
    const put = this.db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    )
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(valid)) put.run(k, JSON.stringify(v))
    })()
    return this.get()
  }
}
