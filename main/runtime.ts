import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

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
