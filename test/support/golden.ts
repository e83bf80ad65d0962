// Golden files: the expected text of every generated file, kept under
// test/fixtures/golden/ with a .golden suffix (so formatters leave them as
// generated). UPDATE_GOLDEN=1 rewrites them; review the diff before committing.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { expect } from 'vitest'
import { repoRoot } from './app'

export const goldenRoot = join(repoRoot, 'test', 'fixtures', 'golden')
const updating = process.env.UPDATE_GOLDEN === '1'

export function goldenPath(rel: string): string {
  return join(goldenRoot, `${rel}.golden`)
}

export function expectGolden(rel: string, actual: string): void {
  const path = goldenPath(rel)
  if (updating) {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, actual)
    return
  }
  if (!existsSync(path)) {
    throw new Error(
      `no golden file ${relative(repoRoot, path)}; run with UPDATE_GOLDEN=1 to create it`,
    )
  }
  expect(actual, relative(repoRoot, path)).toBe(readFileSync(path, 'utf8'))
}

/** Every golden file under a folder, relative to it, without the suffix. */
export function goldenFiles(rel: string): string[] {
  const root = join(goldenRoot, rel)
  if (!existsSync(root)) return []
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(root, p).replace(/\.golden$/, ''))
    }
  }
  walk(root)
  return out.sort()
}

/** In update mode, clears a folder so files no longer generated do not linger. */
export function resetGoldenDir(rel: string): void {
  if (updating) rmSync(join(goldenRoot, rel), { recursive: true, force: true })
}
