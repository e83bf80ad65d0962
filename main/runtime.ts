import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/**
 * The Electron binary, if it is really on disk. Reads electron's path.txt
 * instead of requiring the module: requiring it downloads the binary when
 * missing, and `start` must never trigger a download by itself.
 */
export function findElectronBinary(root: string): string | null {
  const pkgDir = join(root, 'node_modules', 'electron')
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH
  const pathFile = join(pkgDir, 'path.txt')
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null
  const candidate = override
    ? join(override, rel ?? 'electron')
    : rel
      ? join(pkgDir, 'dist', rel)
      : null
  return candidate && existsSync(candidate) ? candidate : null
}

/** Whether a window could be shown: Linux needs an X11 or Wayland display. */
export function hasDisplay(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): boolean {
  if (platform !== 'linux' && platform !== 'freebsd' && platform !== 'openbsd') return true
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY)
}

/** Where Electron keeps userData for "Midwife", so desktop and serve share one data folder. */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): string {
  if (env.MIDWIFE_DATA_DIR) return env.MIDWIFE_DATA_DIR
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Midwife')
  if (platform === 'win32')
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Midwife')
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'Midwife')
}

/** Builds better-sqlite3 against Electron's ABI inside `projectDir` (a copy, never our node_modules). */
export type RebuildForElectron = (projectDir: string, electronVersion: string) => Promise<void>

const rebuildWithElectronRebuild: RebuildForElectron = async (projectDir, electronVersion) => {
  const { rebuild } = await import('@electron/rebuild')
  await rebuild({
    buildPath: projectDir,
    electronVersion,
    onlyModules: ['better-sqlite3'],
    force: true,
  })
}

/**
 * The better-sqlite3 binary for Electron. node_modules holds the one built
 * for Node (tests and serve mode need it), and Electron's ABI differs, so the
 * desktop app loads a second build kept in node_modules/.cache. It is made
 * once per Electron version, from a copy of the package, and needs Electron's
 * headers (a download) the first time. Packaged apps do not need this:
 * electron-builder rebuilds for Electron at package time.
 */
export async function ensureElectronSqlite(
  root: string,
  version: string,
  rebuildFn: RebuildForElectron = rebuildWithElectronRebuild,
): Promise<string> {
  const target = join(
    root,
    'node_modules',
    '.cache',
    'midwife',
    `electron-${version}`,
    'better_sqlite3.node',
  )
  if (existsSync(target)) return target
  const work = mkdtempSync(join(tmpdir(), 'midwife-sqlite-'))
  try {
    const source = join(root, 'node_modules', 'better-sqlite3')
    cpSync(source, join(work, 'node_modules', 'better-sqlite3'), {
      recursive: true,
      filter: (src) => !src.startsWith(join(source, 'build')),
    })
    writeFileSync(
      join(work, 'package.json'),
      JSON.stringify({
        name: 'midwife-sqlite-for-electron',
        private: true,
        dependencies: { 'better-sqlite3': packageVersion(source) },
      }),
    )
    try {
      await rebuildFn(work, version)
    } catch (err) {
      throw new Error(
        `could not build better-sqlite3 for Electron ${version}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    const built = join(
      work,
      'node_modules',
      'better-sqlite3',
      'build',
      'Release',
      'better_sqlite3.node',
    )
    if (!existsSync(built))
      throw new Error(`building better-sqlite3 for Electron ${version} produced no binary`)
    mkdirSync(dirname(target), { recursive: true })
    copyFileSync(built, target)
    return target
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** The version in a package folder's package.json. */
function packageVersion(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }
  return pkg.version
}

export function electronVersion(root: string): string {
  return packageVersion(join(root, 'node_modules', 'electron'))
}
