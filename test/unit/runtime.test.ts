// Finding the Electron runtime and preparing what the desktop app needs,
// without ever downloading or launching Electron.
import Database from 'better-sqlite3'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import {
  defaultDataDir,
  ensureElectronSqlite,
  findElectronBinary,
  hasDisplay,
} from '../../main/runtime'
import { parseListen } from '../../main/options'
import { repoRoot, tempDir } from '../support/app'

const dirs: Array<{ remove: () => void }> = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove()
})
function temp(prefix: string) {
  const d = tempDir(prefix)
  dirs.push(d)
  return d.path
}

/** A fake project root with an electron package whose binary may or may not be on disk. */
function fakeRoot(opts: { pathTxt?: string; binary?: boolean }): string {
  const root = temp('root')
  const pkg = join(root, 'node_modules', 'electron')
  mkdirSync(join(pkg, 'dist'), { recursive: true })
  if (opts.pathTxt !== undefined) writeFileSync(join(pkg, 'path.txt'), opts.pathTxt)
  if (opts.binary) writeFileSync(join(pkg, 'dist', opts.pathTxt ?? 'electron'), '')
  return root
}

describe('finding the Electron runtime', () => {
  it('finds the binary named by path.txt only when it is on disk', () => {
    const saved = process.env.ELECTRON_OVERRIDE_DIST_PATH
    delete process.env.ELECTRON_OVERRIDE_DIST_PATH
    try {
      const present = fakeRoot({ pathTxt: 'electron', binary: true })
      expect(findElectronBinary(present)).toBe(
        join(present, 'node_modules', 'electron', 'dist', 'electron'),
      )
      expect(findElectronBinary(fakeRoot({ pathTxt: 'electron', binary: false }))).toBeNull()
      // Electron 45 as npm installs it: no path.txt until its first launch downloads the binary.
      expect(findElectronBinary(fakeRoot({}))).toBeNull()
    } finally {
      if (saved !== undefined) process.env.ELECTRON_OVERRIDE_DIST_PATH = saved
    }
  })

  it('needs an X11 or Wayland display on Linux only', () => {
    expect(hasDisplay({}, 'linux')).toBe(false)
    expect(hasDisplay({ DISPLAY: ':0' }, 'linux')).toBe(true)
    expect(hasDisplay({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true)
    expect(hasDisplay({}, 'darwin')).toBe(true)
    expect(hasDisplay({}, 'win32')).toBe(true)
  })

  it('uses the same data folder as Electron userData for "Midwife"', () => {
    expect(defaultDataDir({ MIDWIFE_DATA_DIR: '/srv/mw' }, 'linux')).toBe('/srv/mw')
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/x' }, 'linux')).toBe('/x/Midwife')
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\op\\AppData\\Roaming' }, 'win32')).toMatch(
      /Roaming.Midwife$/,
    )
    expect(defaultDataDir({}, 'darwin')).toMatch(/Library\/Application Support\/Midwife$/)
  })

  it('parses --listen', () => {
    expect(parseListen('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 })
    expect(parseListen('8080')).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 })
    expect(() => parseListen('host:99999')).toThrow('--listen wants host:port')
  })
})

describe('better-sqlite3 for Electron', () => {
  const nodeBinding = join(
    repoRoot,
    'node_modules',
    'better-sqlite3',
    'build',
    'Release',
    'better_sqlite3.node',
  )

  it('builds once from a copy of the package, never touching node_modules, and caches the binary', async () => {
    const root = temp('root')
    const source = join(root, 'node_modules', 'better-sqlite3')
    mkdirSync(join(source, 'build', 'Release'), { recursive: true })
    writeFileSync(
      join(source, 'package.json'),
      JSON.stringify({ name: 'better-sqlite3', version: '12.0.0' }),
    )
    writeFileSync(join(source, 'binding.gyp'), '{}')
    writeFileSync(join(source, 'build', 'Release', 'better_sqlite3.node'), 'node-abi')

    const calls: Array<{ dir: string; version: string; copied: string[] }> = []
    const fakeRebuild = (dir: string, version: string) => {
      // Stands in for @electron/rebuild, which needs Electron's headers from the network.
      const pkgDir = join(dir, 'node_modules', 'better-sqlite3')
      calls.push({
        dir,
        version,
        copied: [
          existsSync(join(pkgDir, 'binding.gyp')) ? 'binding.gyp' : '',
          existsSync(join(pkgDir, 'build')) ? 'build' : '',
        ],
      })
      mkdirSync(join(pkgDir, 'build', 'Release'), { recursive: true })
      writeFileSync(
        join(pkgDir, 'build', 'Release', 'better_sqlite3.node'),
        `electron-abi-${version}`,
      )
      return Promise.resolve()
    }
    const path = await ensureElectronSqlite(root, '45.5.0', fakeRebuild)
    expect(path).toBe(
      join(root, 'node_modules', '.cache', 'midwife', 'electron-45.5.0', 'better_sqlite3.node'),
    )
    expect(readFileSync(path, 'utf8')).toBe('electron-abi-45.5.0')
    expect(calls).toEqual([
      { dir: expect.any(String) as unknown, version: '45.5.0', copied: ['binding.gyp', ''] },
    ])
    expect(existsSync(calls[0]?.dir as string)).toBe(false)
    // Node's own build is untouched, and a second start reuses the cache.
    expect(readFileSync(join(source, 'build', 'Release', 'better_sqlite3.node'), 'utf8')).toBe(
      'node-abi',
    )
    await ensureElectronSqlite(root, '45.5.0', fakeRebuild)
    expect(calls).toHaveLength(1)
  })

  it('explains a failed build (offline, no compiler) instead of crashing later', async () => {
    const root = temp('root')
    mkdirSync(join(root, 'node_modules', 'better-sqlite3'), { recursive: true })
    writeFileSync(
      join(root, 'node_modules', 'better-sqlite3', 'package.json'),
      '{"version":"12.0.0"}',
    )
    await expect(
      ensureElectronSqlite(root, '45.5.0', () =>
        Promise.reject(new Error('getaddrinfo ENOTFOUND electronjs.org')),
      ),
    ).rejects.toThrow(
      'could not build better-sqlite3 for Electron 45.5.0: getaddrinfo ENOTFOUND electronjs.org',
    )
  })

  it('the store opens with an explicit binding, and names a wrong one', () => {
    const dir = temp('db')
    const store = Store.open(join(dir, 'a.db'), { nativeBinding: nodeBinding })
    expect(store.settings.get().listenerPort).toBe(8080)
    store.close()
    expect(
      () => new Database(join(dir, 'b.db'), { nativeBinding: join(dir, 'missing.node') }),
    ).toThrow(/missing/)
    expect(() =>
      Store.open(join(dir, 'c.db'), { nativeBinding: join(dir, 'missing.node') }),
    ).toThrow(/missing/)
  })
})
