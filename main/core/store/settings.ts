import { z } from 'zod'
import { Settings } from '../../contract/schemas'
import type { Db } from './db'

export const defaultSettings: Settings = {
  listenerHost: '0.0.0.0',
  listenerPort: 8080,
  advertisedAddress: '',
  mediaBaseUrl: '',
}

const Row = z.object({ key: z.string(), value: z.string() })

export class SettingsTable {
  constructor(private readonly db: Db) {}

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
