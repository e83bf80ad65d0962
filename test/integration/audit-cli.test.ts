// `midwife audit verify --data-dir DIR`, the built CLI as an operator runs it:
// exit 0 and the head of the chain when it holds, exit 1 and the first
// broken entry when a row was changed (here in a copy, by a raw connection
// past the triggers), exit 2 with a plain reason when there is nothing to check.
import Database from 'better-sqlite3'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { damagedDataFolder, foreignDataFolder, repoRoot, tempDir } from '../support/app'

const cli = join(repoRoot, 'dist', 'cli.js')
const dirs: Array<{ remove(): void }> = []

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)')
})
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove()
})

function verify(dataDir: string) {
  const r = spawnSync(process.execPath, [cli, 'audit', 'verify', '--data-dir', dataDir], {
    encoding: 'utf8',
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** A data folder whose log holds three entries. */
function dataFolder(): string {
  const d = tempDir('audit-cli')
  dirs.push(d)
  const store = Store.open(join(d.path, 'midwife.db'))
  store.events.append('host.created', 'host:1', { fqdn: 'esx01.lab.local' })
  store.events.append('host.state', 'host:1', { from: 'defined', to: 'checked_in' })
  store.events.append('host.deleted', 'host:1', { name: 'esx01.lab.local' })
  store.close()
  return d.path
}

describe('midwife audit verify', () => {
  it('says the chain holds and gives its head', () => {
    const dir = dataFolder()
    const { code, out } = verify(dir)
    expect(code).toBe(0)
    expect(out).toMatch(
      /^ok: the audit log's 3 entries are intact; the last is entry 3, hash [0-9a-f]{64}\n$/,
    )
  })

  it('names the first broken entry of a tampered copy, and exits 1', () => {
    const dir = dataFolder()
    const copy = tempDir('audit-cli-copy')
    dirs.push(copy)
    copyFileSync(join(dir, 'midwife.db'), join(copy.path, 'midwife.db'))
    const db = new Database(join(copy.path, 'midwife.db'))
    db.exec('DROP TRIGGER events_append_only_update')
    db.prepare(`UPDATE events SET data = '{"to":"configured"}' WHERE id = 2`).run()
    db.close()
    const { code, out } = verify(copy.path)
    expect(code).toBe(1)
    expect(out).toMatch(
      /^BROKEN: the audit log is broken at entry 2 \(host\.state, \S+\): its content no longer matches its hash: it was changed after it was written\. The 1 entry before it checks out\.\n$/,
    )
    expect(verify(dir).code).toBe(0)
  })

  it('names a file another program made, or no database at all, rather than asking to upgrade it', () => {
    const foreign = foreignDataFolder('audit-cli-foreign')
    dirs.push(foreign)
    const { file } = foreign
    const other = verify(foreign.path)
    expect(other.code).toBe(2)
    expect(other.err).toMatch(
      /is not a Midwife database: it holds tables Midwife did not make \(notes\)/,
    )
    expect(other.err).not.toMatch(/upgrade/)
    expect(readFileSync(file)).toEqual(foreign.bytes)

    writeFileSync(file, 'not a database at all, just text that fills a page or so. '.repeat(80))
    const garbage = verify(foreign.path)
    expect(garbage.code).toBe(2)
    expect(garbage.err).toMatch(/cannot be read as a Midwife database \(file is not a database\)/)
  })

  it('says a damaged database is damaged, not that its chain is broken', () => {
    const damaged = damagedDataFolder('audit-cli-damaged')
    dirs.push(damaged)
    const { code, err } = verify(damaged.path)
    expect(code).toBe(2)
    expect(err).toMatch(
      new RegExp(
        `^midwife: ${damaged.file.replace(/[.]/g, '\\.')} is damaged: SQLite's check found`,
      ),
    )
    expect(readFileSync(damaged.file)).toEqual(damaged.bytes)
  })

  it('says plainly when there is no database to check', () => {
    const empty = tempDir('audit-cli-empty')
    dirs.push(empty)
    const { code, err } = verify(empty.path)
    expect(code).toBe(2)
    expect(err).toBe(`midwife: there is no Midwife database at ${join(empty.path, 'midwife.db')}\n`)
    expect(existsSync(join(empty.path, 'midwife.db'))).toBe(false)
  })
})
