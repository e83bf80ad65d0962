import Database from 'better-sqlite3'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { App, type AppOptions } from '../../main/core/app'
import type { Logger } from '../../main/core/log'
import { defaultSettings, Store } from '../../main/core/store'

export const repoRoot = resolve(import.meta.dirname, '..', '..')

/** A logger that keeps every line, so tests can prove secrets never reach it. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  }
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `midwife-${prefix}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** A data folder whose midwife.db `write` made, and that file's bytes, to show it was left as it was. */
export interface PreparedDataFolder {
  path: string
  file: string
  bytes: Buffer
  remove: () => void
}

function dataFolderWith(prefix: string, write: (file: string) => void): PreparedDataFolder {
  const dir = tempDir(prefix)
  const file = join(dir.path, 'midwife.db')
  write(file)
  return { ...dir, file, bytes: readFileSync(file) }
}

/** A data folder whose midwife.db another program made (a table "notes" holding one row, "kept"). */
export function foreignDataFolder(prefix: string): PreparedDataFolder {
  return dataFolderWith(prefix, (file) => {
    const db = new Database(file)
    db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('kept')")
    db.close()
  })
}

/**
 * A data folder whose midwife.db is a real Midwife database with one page damaged (the hosts
 * table's root page overwritten, as a failing disk or a torn copy would leave it).
 */
export function damagedDataFolder(prefix: string): PreparedDataFolder {
  return dataFolderWith(prefix, (file) => {
    Store.open(file).close()
    const db = new Database(file)
    const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'hosts'").pluck().get()
    const pageSize = db.pragma('page_size', { simple: true }) as number
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.alloc(pageSize, 0x41), 0, pageSize, ((root as number) - 1) * pageSize)
    closeSync(fd)
  })
}

export interface TestApp {
  app: App
  dataDir: string
  logger: ReturnType<typeof memoryLogger>
  /** http://127.0.0.1:<port> of the real check-in listener. */
  listenerUrl: string
  close(): Promise<void>
}

/**
 * The real core on a fresh data folder, its listener on a free loopback port:
 * fixed like `--listen`, or (listenFromSettings) saved in Site settings first,
 * so that no test ever binds beyond 127.0.0.0/8.
 */
export async function startTestApp(
  opts: Partial<AppOptions> & { listenFromSettings?: boolean } = {},
): Promise<TestApp> {
  const { listenFromSettings, ...appOpts } = opts
  const dir = tempDir('app')
  const logger = memoryLogger()
  if (listenFromSettings) {
    const store = Store.open(join(dir.path, 'midwife.db'))
    store.settings.save({
      ...defaultSettings,
      listenerHost: '127.0.0.1',
      listenerPort: await freePort(),
    })
    store.close()
  }
  const app = await App.start({
    dataDir: dir.path,
    resourcesDir: join(repoRoot, 'resources'),
    version: 'test',
    logger,
    ...(listenFromSettings ? {} : { listen: { host: '127.0.0.1', port: 0 } }),
    ...appOpts,
  })
  return {
    app,
    dataDir: dir.path,
    logger,
    listenerUrl: app.listenerUrl(),
    async close() {
      await app.stop()
      dir.remove()
    },
  }
}

export const sampleHost = {
  hostname: 'esx01',
  domain: 'lab.local',
  mac: '00:50:56:aa:bb:01',
  spec: {
    dns: ['10.0.0.2', '10.0.0.3'],
    ntp: { servers: ['0.pool.ntp.org', '10.0.0.5'], enabled: true },
  },
  rootPassword: 'Rt!pw-"quote"-$HOME-12345',
}

/** The text of the one artifact of this boot kind in a host's material (the one-liner, the ISO options). */
export function artifactText(
  material: { artifacts: { kind: string; text: string | null }[] },
  kind: string,
): string {
  const found = material.artifacts.filter((a) => a.kind === kind)
  if (found.length !== 1 || found[0]?.text == null) {
    throw new Error(`expected one ${kind} artifact with text, got ${found.length}`)
  }
  return found[0].text
}

/** A host's deployment token, read the way an operator gets it: from its kickstart URL. */
export function hostToken(app: App, hostId: number): string {
  const url = app.getBootMaterial(hostId).kickstartUrl
  const token = /\/ks\/([^/]+)\.cfg$/.exec(url)?.[1]
  if (!token) throw new Error(`no token in ${url}`)
  return token
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}
