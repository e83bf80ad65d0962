// `midwife backup --to DIR`, the built CLI as an operator runs it, beside a running `midwife
// serve`: the copy is one consistent, owner-only, startable data folder whose secrets open.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, expect, it } from 'vitest'
import { App } from '../../main/core/app'
import {
  damagedDataFolder,
  freePort,
  memoryLogger,
  repoRoot,
  sampleHost,
  tempDir,
} from '../support/app'
import { startServeProcess } from '../support/serve-process'

const cli = join(repoRoot, 'dist', 'cli.js')
const cleanup: Array<() => unknown> = []

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)')
})
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

function backup(dataDir: string, to?: string) {
  const r = spawnSync(
    process.execPath,
    [cli, 'backup', '--data-dir', dataDir, ...(to ? ['--to', to] : [])],
    { encoding: 'utf8' },
  )
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function folder(prefix: string) {
  const d = tempDir(prefix)
  cleanup.push(d.remove)
  return d.path
}

it('copies a running Midwife’s database and key into a startable, owner-only folder', async () => {
  const data = folder('backup-src')
  const serve = await startServeProcess(data, ['--port', String(await freePort())])
  cleanup.push(() => serve.child.kill('SIGTERM'))
  const hosts = []
  for (let i = 1; i <= 3; i++) {
    hosts.push(
      await serve.api.saveHost({
        ...sampleHost,
        hostname: `esx0${i}`,
        mac: `00:50:56:aa:bb:0${i}`,
      }),
    )
  }
  const material = await serve.api.getBootMaterial(hosts[0]?.id ?? 0)

  const to = join(folder('backup-dst'), 'midwife-backup')
  const { code, out, err } = backup(data, to)
  expect(err).toBe('')
  expect(code).toBe(0)
  expect(out).toContain(`Backed up ${join(data, 'midwife.db')} (`)
  expect(out).toMatch(/The copy's audit log: the audit log's \d+ entries are intact/)
  expect(out).toContain(
    'To restore: stop Midwife, move midwife.db, midwife.db-wal and midwife.db-shm',
  )
  // One self-contained file and its key, nothing else, owner-only.
  expect(readdirSync(to).sort()).toEqual(['midwife.db', 'secret.key'])
  expect(statSync(to).mode & 0o777).toBe(0o700)
  for (const f of readdirSync(to)) expect(statSync(join(to, f)).mode & 0o777).toBe(0o600)
  // The running Midwife was not disturbed.
  expect((await serve.api.listHosts()).map((h) => h.name)).toHaveLength(3)

  // The backup starts as a data folder: the same hosts, and their sealed token opens.
  const app = await App.start({
    dataDir: to,
    resourcesDir: join(repoRoot, 'resources'),
    version: 'test',
    logger: memoryLogger(),
    listen: { host: '127.0.0.1', port: 0 },
  })
  cleanup.push(() => app.stop())
  expect(app.listHosts().map((h) => h.name)).toEqual(hosts.map((h) => h.name))
  expect(app.getStatus().secretWarning).toBeNull()
  const path = (url: string) => new URL(url).pathname
  expect(path(app.getBootMaterial(hosts[0]?.id ?? 0).kickstartUrl)).toBe(
    path(material.kickstartUrl),
  )
})

it('never writes into a folder that holds files, or over the data folder itself', () => {
  const data = folder('backup-src2')
  const store = join(data, 'midwife.db')
  expect(backup(data, data).err).toBe(
    'midwife: --to names the data folder itself; give a new or empty folder for the backup\n',
  )
  const to = folder('backup-busy')
  writeFileSync(join(to, 'notes.txt'), 'mine\n')
  const r = backup(data, to)
  expect(r.code).toBe(2)
  expect(r.err).toBe(
    `midwife: ${to} already holds files, and a backup never overwrites one; give a new or empty folder\n`,
  )
  expect(readdirSync(to)).toEqual(['notes.txt'])
  expect(existsSync(store)).toBe(false)
  expect(backup(data).err).toBe(
    'midwife: "backup" needs the folder to write to: midwife backup --to DIR\n',
  )
})

it('refuses a damaged database, leaving no half copy', () => {
  const damaged = damagedDataFolder('backup-damaged')
  cleanup.push(damaged.remove)
  const to = join(folder('backup-dst3'), 'b')
  mkdirSync(to)
  const r = backup(damaged.path, to)
  expect(r.code).toBe(2)
  expect(r.err).toMatch(/is damaged: SQLite's check found/)
  expect(readdirSync(to)).toEqual([])
  // A folder it would have made is not left behind either.
  const fresh = join(folder('backup-dst4'), 'new')
  expect(backup(damaged.path, fresh).code).toBe(2)
  expect(existsSync(fresh)).toBe(false)
})
