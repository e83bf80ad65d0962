// Electron glue: a window, the IPC binding and the security guards around the
// same core that serve mode runs. Nothing here does Midwife's job.
import { app, BrowserWindow, dialog, ipcMain, Notification, safeStorage, session } from 'electron'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { App } from '../core/app'
import { consoleLogger } from '../core/log'
import { parseListen } from '../options'
import pkg from '../../package.json'
import { bindIpc, forwardEvents } from './ipc'
import { folderPicker } from './folder-dialog'
import { desktopNotifications } from './notifications'
import { applySecurityRestrictions } from './security'
import { keychainSecretBox } from './secret-box'
import { windowOptions } from './window'

const flag = (name: string) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return
  }
  await app.whenReady()
  applySecurityRestrictions(app, session.defaultSession)

  const root = app.getAppPath()
  const dataDir = flag('--data-dir') ?? process.env.MIDWIFE_DATA_DIR ?? app.getPath('userData')
  const listen = flag('--listen') ?? process.env.MIDWIFE_LISTEN
  // The window the folder dialog is modal to, once it exists.
  const shown: { window?: BrowserWindow } = {}
  const core = await App.start({
    dataDir,
    resourcesDir: join(root, 'resources'),
    version: pkg.version,
    secrets: (dir) => keychainSecretBox(safeStorage, join(dir, 'secret.key')),
    logger: consoleLogger(),
    holder: 'desktop app',
    pickFolder: folderPicker(dialog, () => shown.window),
    ...(process.env.MIDWIFE_SQLITE_BINDING
      ? { sqliteBinding: process.env.MIDWIFE_SQLITE_BINDING }
      : {}),
    ...(listen ? { listen: parseListen(listen) } : {}),
  })

  const indexHtml = join(root, 'dist', 'renderer', 'index.html')
  const pageUrl = pathToFileURL(indexHtml).href
  bindIpc(ipcMain, core, (url) => url.split('#')[0] === pageUrl)

  const win = new BrowserWindow(windowOptions(join(root, 'dist', 'electron', 'preload.cjs')))
  shown.window = win
  forwardEvents(core.events, (channel, payload) => {
    if (!win.isDestroyed()) win.webContents.send(channel, payload)
  })
  desktopNotifications(core.events, {
    Notification,
    app,
    needsOperator: () => core.needsOperator(),
    onClick: () => {
      if (win.isDestroyed()) return
      if (win.isMinimized()) win.restore()
      win.show()
      win.focus()
    },
  })
  win.once('ready-to-show', () => win.show())
  await win.loadFile(indexHtml)

  app.on('second-instance', () => {
    if (win.isMinimized()) win.restore()
    win.focus()
  })
  app.on('window-all-closed', () => {
    core
      .stop()
      .catch(() => undefined)
      .finally(() => app.quit())
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`midwife: ${(err as Error).stack ?? String(err)}\n`)
  // Started from a desktop icon, nobody reads stderr: the reason goes in a dialog too.
  dialog.showErrorBox('Midwife cannot start', err instanceof Error ? err.message : String(err))
  app.exit(1)
})
