// A database that refuses writes (another program holds it locked; a full
// disk and a read-only folder answer the same way): the real serve process
// tells the operator what is wrong and what to do, not SQLite's bare words,
// and stores nothing; once the database can be written, the same save works.
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { tempDir } from '../support/app'
import { startServeProcess } from '../support/serve-process'

const cleanup: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

it('a save the database refuses says why and what to do, and stores nothing', async () => {
  const data = tempDir('locked')
  cleanup.push(() => data.remove())
  const p = await startServeProcess(data.path)
  cleanup.push(async () => {
    p.child.kill('SIGTERM')
    await p.exited
  })
  const before = await p.api.getProfile()

  const db = new Database(join(data.path, 'midwife.db'))
  cleanup.push(() => {
    if (db.inTransaction) db.exec('ROLLBACK')
    db.close()
  })
  db.exec('BEGIN IMMEDIATE')
  await expect(p.api.saveProfile({ spec: { dns: ['10.0.0.9'] } })).rejects.toThrow(
    'Midwife could not write to its database (database is locked): another program holds it locked. Close whatever else has midwife.db open (a backup, a database browser) and try again',
  )
  const text =
    'hostname,domain,mac,root_password\nesx01,lab.local,00:50:56:aa:bb:01,Install-pw-42!\n'
  const { digest } = await p.api.previewCsvImport(text)
  await expect(p.api.importCsv(text, { confirm: true, digest })).rejects.toThrow(
    'Nothing was stored. Midwife could not write to its database (database is locked): another program holds it locked.',
  )
  db.exec('COMMIT')
  expect(await p.api.getProfile()).toEqual(before)
  expect(await p.api.listHosts()).toEqual([])

  await p.api.saveProfile({ spec: { dns: ['10.0.0.9'] } })
  expect((await p.api.getProfile()).spec.dns).toEqual(['10.0.0.9'])
})
