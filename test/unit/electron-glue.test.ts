// The Electron layer, with the `electron` module mocked: these tests check
// the glue's decisions (window settings, guards, IPC wiring). Electron itself
// never runs here, and nothing in this file claims it did.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { app as electronApp, Notification as ElectronNotification } from 'electron'
import { eventNames, methodNames, type ApiHandlers } from '../../main/contract/api'
import { EventBus } from '../../main/core/events'
import { FolderLock } from '../../main/core/store/folder-lock'
import { bindIpc, forwardEvents, type IpcMainLike } from '../../main/electron/ipc'
import { desktopNotifications } from '../../main/electron/notifications'
import { buildPreloadApi } from '../../main/electron/preload-api'
import { SecretUnreadable } from '../../main/core/secrets'
import { keychainSecretBox } from '../../main/electron/secret-box'
import { applySecurityRestrictions } from '../../main/electron/security'
import { windowOptions } from '../../main/electron/window'

const mock = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>()
  const appListeners = new Map<string, (...args: unknown[]) => void>()
  const windows: Array<{ options: unknown; loaded: string[]; sent: Array<[string, unknown]> }> = []
  const exposed = new Map<string, unknown>()
  const notifications: Array<{ title: string; body: string; shown: boolean; click?: () => void }> =
    []
  const badges: number[] = []
  let loaded: () => void = () => undefined
  const windowLoaded = new Promise<void>((resolve) => (loaded = resolve))
  return {
    handlers,
    appListeners,
    windows,
    exposed,
    notifications,
    badges,
    windowLoaded,
    loaded: () => loaded(),
    dataDir: '',
    exits: [] as number[],
    errorBoxes: [] as Array<[string, string]>,
    openDialogs: [] as Array<{ modal: boolean; options: unknown }>,
    openDialogAnswer: { canceled: true, filePaths: [] as string[] },
  }
})

vi.mock('electron', () => {
  class BrowserWindow {
    private readonly record: (typeof mock.windows)[number]
    webContents = {
      send: (channel: string, payload: unknown) => this.record.sent.push([channel, payload]),
    }
    constructor(options: unknown) {
      this.record = { options, loaded: [], sent: [] }
      mock.windows.push(this.record)
    }
    once() {}
    isDestroyed() {
      return false
    }
    isMinimized() {
      return false
    }
    restore() {}
    focus() {}
    show() {}
    loadFile(path: string) {
      this.record.loaded.push(path)
      mock.loaded()
      return Promise.resolve()
    }
  }
  class Notification {
    private readonly record: (typeof mock.notifications)[number]
    static isSupported() {
      return true
    }
    constructor(o: { title: string; body: string }) {
      this.record = { ...o, shown: false }
      mock.notifications.push(this.record)
    }
    on(_event: 'click', fn: () => void) {
      this.record.click = fn
    }
    show() {
      this.record.shown = true
    }
  }
  return {
    Notification,
    app: {
      setBadgeCount: (n: number) => {
        mock.badges.push(n)
        return true
      },
      requestSingleInstanceLock: () => true,
      whenReady: () => Promise.resolve(),
      getAppPath: () => process.cwd(),
      getPath: (name: string) => (name === 'userData' ? mock.dataDir : '/nonexistent'),
      on: (event: string, fn: (...args: unknown[]) => void) => mock.appListeners.set(event, fn),
      quit: () => undefined,
      exit: (code: number) => void mock.exits.push(code),
    },
    dialog: {
      showErrorBox: (title: string, content: string) => void mock.errorBoxes.push([title, content]),
      showOpenDialog: (...args: unknown[]) => {
        mock.openDialogs.push({ modal: args.length === 2, options: args.at(-1) })
        return Promise.resolve(mock.openDialogAnswer)
      },
    },
    BrowserWindow,
    ipcMain: {
      handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) =>
        mock.handlers.set(channel, fn),
      removeHandler: (channel: string) => mock.handlers.delete(channel),
    },
    safeStorage: {
      isEncryptionAvailable: () => true,
      getSelectedStorageBackend: () => 'basic_text',
      encryptString: (s: string) => Buffer.from(s),
      decryptString: (b: Buffer) => b.toString(),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: () => undefined,
        setPermissionCheckHandler: () => undefined,
      },
    },
    contextBridge: {
      exposeInMainWorld: (key: string, value: unknown) => mock.exposed.set(key, value),
    },
    ipcRenderer: {
      invoke: (channel: string, ...args: unknown[]) => Promise.resolve({ channel, args }),
      on: () => undefined,
      removeListener: () => undefined,
    },
  }
})

const tmp = mkdtempSync(join(tmpdir(), 'midwife-electron-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function fakeHandlers(): ApiHandlers {
  const handlers: Partial<Record<string, (...args: unknown[]) => unknown>> = {}
  for (const name of methodNames) handlers[name] = (...args: unknown[]) => ({ called: name, args })
  // Results are not validated server-side, so any object proves the route.
  return handlers as unknown as ApiHandlers
}

describe('window settings', () => {
  it('isolates the page: context isolation, sandbox, no Node, web security on', () => {
    const o = windowOptions('/app/preload.cjs')
    expect(o.webPreferences).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
  })
})

describe('security restrictions', () => {
  it('denies permissions, navigation, redirects, webviews and new windows', () => {
    let requestHandler: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | undefined
    let checkHandler: (() => boolean) | undefined
    let created: ((e: unknown, contents: unknown) => void) | undefined
    applySecurityRestrictions(
      { on: ((_: string, fn: (e: unknown, c: unknown) => void) => (created = fn)) as never },
      {
        setPermissionRequestHandler: ((fn: typeof requestHandler) =>
          (requestHandler = fn)) as never,
        setPermissionCheckHandler: ((fn: typeof checkHandler) => (checkHandler = fn)) as never,
      },
    )
    const granted: boolean[] = []
    requestHandler?.(null, 'media', (ok) => granted.push(ok))
    expect(granted).toEqual([false])
    expect(checkHandler?.()).toBe(false)

    const guards = new Map<string, (e: { preventDefault(): void }) => void>()
    let openHandler: (() => { action: string }) | undefined
    created?.(null, {
      on: (event: string, fn: (e: { preventDefault(): void }) => void) => guards.set(event, fn),
      setWindowOpenHandler: (fn: () => { action: string }) => (openHandler = fn),
    })
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const prevent = vi.fn()
      guards.get(event)?.({ preventDefault: prevent })
      expect(prevent, event).toHaveBeenCalledOnce()
    }
    expect(openHandler?.()).toEqual({ action: 'deny' })
  })
})

describe('IPC binding', () => {
  function fakeIpcMain() {
    const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>()
    const ipc: IpcMainLike = {
      handle: (c, fn) => void handlers.set(c, fn as never),
      removeHandler: (c) => void handlers.delete(c),
    }
    return { ipc, handlers }
  }

  it('registers exactly one channel per contract method and removes them again', () => {
    const { ipc, handlers } = fakeIpcMain()
    const unbind = bindIpc(ipc, fakeHandlers(), () => true)
    expect([...handlers.keys()].sort()).toEqual(methodNames.map((n) => `api:${n}`).sort())
    unbind()
    expect(handlers.size).toBe(0)
  })

  it('validates arguments with the contract and refuses frames that are not the app page', async () => {
    const { ipc, handlers } = fakeIpcMain()
    bindIpc(ipc, fakeHandlers(), (url) => url === 'file:///app/index.html')
    const call = (url: string, channel: string, args: unknown[]) =>
      handlers.get(channel)?.({ senderFrame: { url } }, args)

    await expect(call('file:///app/index.html', 'api:getRun', [7])).resolves.toEqual({
      ok: true,
      result: { called: 'getRun', args: [7] },
    })
    await expect(call('file:///app/index.html', 'api:getRun', ['7'])).resolves.toMatchObject({
      ok: false,
      error: { code: 'invalid' },
    })
    expect(await call('https://evil.example/', 'api:getRun', [7])).toEqual({
      ok: false,
      error: { code: 'invalid', message: 'call from an untrusted frame refused' },
    })
  })

  it('forwards every core event to the window on its own channel', () => {
    const bus = new EventBus()
    const sent: Array<[string, unknown]> = []
    const stop = forwardEvents(bus, (c, p) => sent.push([c, p]))
    bus.emit('host.removed', { id: 3 })
    stop()
    bus.emit('host.removed', { id: 4 })
    expect(sent).toEqual([['event:host.removed', { id: 3 }]])
  })
})

describe('preload', () => {
  it('exposes one `api` object: a function per contract method plus onEvent, never ipcRenderer', async () => {
    await import('../../main/electron/preload')
    expect([...mock.exposed.keys()]).toEqual(['api'])
    const api = mock.exposed.get('api') as Record<string, unknown>
    expect(Object.keys(api).sort()).toEqual([...methodNames, 'onEvent'].sort())
    for (const v of Object.values(api)) expect(typeof v).toBe('function')
    expect(Object.values(api)).not.toContain(undefined)
    await expect((api.getRun as (id: number) => Promise<unknown>)(3)).resolves.toEqual({
      channel: 'api:getRun',
      args: [[3]],
    })
  })

  it('subscribes to known events only, and unsubscribes', () => {
    const listeners = new Map<string, Set<unknown>>()
    const api = buildPreloadApi({
      invoke: () => Promise.resolve(null),
      on: (c, l) => listeners.set(c, (listeners.get(c) ?? new Set()).add(l)),
      removeListener: (c, l) => listeners.get(c)?.delete(l),
    })
    const got: unknown[] = []
    const off = api.onEvent('run.changed', (p) => got.push(p))
    const [listener] = [...(listeners.get('event:run.changed') ?? [])] as Array<
      (e: unknown, p: unknown) => void
    >
    listener?.(null, { id: 1 })
    expect(got).toEqual([{ id: 1 }])
    off()
    expect(listeners.get('event:run.changed')?.size).toBe(0)
    expect(() => api.onEvent('nope' as never, () => undefined)).toThrow('unknown event "nope"')
    expect(eventNames).toContain('run.changed')
  })
})

describe('desktop notifications', () => {
  it('shows a notice as an OS notification and keeps the badge at the servers waiting', async () => {
    const bus = new EventBus()
    let waiting = 2
    let clicked = 0
    mock.notifications.length = 0
    mock.badges.length = 0
    const stop = desktopNotifications(bus, {
      Notification: ElectronNotification,
      app: electronApp,
      needsOperator: () => waiting,
      onClick: () => clicked++,
      badgeDelayMs: 5,
    })
    expect(mock.badges).toEqual([2])

    bus.emit('notice', {
      kind: 'run_failed',
      title: 'Run 7 failed on esx01.lab.local',
      body: 'DNS servers: exit 1',
      hostId: 1,
    })
    expect(mock.notifications).toMatchObject([
      { title: 'Run 7 failed on esx01.lab.local', body: 'DNS servers: exit 1', shown: true },
    ])
    mock.notifications[0]?.click?.()
    expect(clicked).toBe(1)

    // Host changes arriving together update the badge once, and only when the count moves.
    waiting = 5
    bus.emit('host.removed', { id: 3 })
    bus.emit('host.removed', { id: 4 })
    await new Promise((r) => setTimeout(r, 30))
    bus.emit('host.removed', { id: 5 })
    await new Promise((r) => setTimeout(r, 30))
    expect(mock.badges).toEqual([2, 5])

    stop()
    bus.emit('notice', { kind: 'checkin', title: 'x', body: 'y', hostId: null })
    expect(mock.notifications).toHaveLength(1)
  })

  it('shows what a host printed in a notification as text, not as Linux notification markup', () => {
    const said = 'Error: <a href="https://evil.example/">fix it here</a> & <img src="x">'
    const shown = (platform: NodeJS.Platform) => {
      const bus = new EventBus()
      mock.notifications.length = 0
      const stop = desktopNotifications(bus, {
        Notification: ElectronNotification,
        app: electronApp,
        needsOperator: () => 0,
        platform,
      })
      bus.emit('notice', { kind: 'run_failed', title: 'Run 7 failed', body: said, hostId: 1 })
      stop()
      return mock.notifications[0]?.body
    }
    // The freedesktop spec's servers read a body as markup; macOS and Windows show it as text.
    expect(shown('linux')).toBe(
      'Error: &lt;a href="https://evil.example/"&gt;fix it here&lt;/a&gt; &amp; &lt;img src="x"&gt;',
    )
    expect(shown('darwin')).toBe(said)
    expect(shown('win32')).toBe(said)
  })
})

describe('keychain secret box', () => {
  const storage = (backend: string, available = true) => ({
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (s: string) => Buffer.from(s).map((b) => b ^ 0x5a),
    decryptString: (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a)).toString(),
  })

  it('uses the OS keychain when safeStorage has a real backend', () => {
    const box = keychainSecretBox(storage('gnome_libsecret') as never, join(tmp, 'k1.key'))
    expect(box.kind).toBe('OS keychain')
    const sealed = box.seal('VMware1!')
    expect(sealed.subarray(0, 2).toString()).toBe('K1')
    expect(sealed.toString()).not.toContain('VMware1!')
    expect(box.open(sealed)).toBe('VMware1!')
  })

  it('falls back to the local key file when Linux has only basic_text or nothing', () => {
    const weak = keychainSecretBox(storage('basic_text') as never, join(tmp, 'k2.key'))
    if (process.platform === 'linux') expect(weak.kind).toMatch(/local key file/)
    const none = keychainSecretBox(storage('gnome_libsecret', false) as never, join(tmp, 'k3.key'))
    expect(none.kind).toMatch(/local key file/)
    expect(none.open(none.seal('s3cret'))).toBe('s3cret')
  })

  it('says the keychain is out of reach, not to open the desktop app, for a secret it sealed', () => {
    const sealed = keychainSecretBox(storage('gnome_libsecret') as never, join(tmp, 'k4.key')).seal(
      'VMware1!',
    )
    const locked = keychainSecretBox(
      storage('gnome_libsecret', false) as never,
      join(tmp, 'k4.key'),
    )
    expect(locked.kind).toBe('local key file (the OS keychain is not available)')
    expect(() => locked.open(sealed)).toThrow(
      /sealed by the OS keychain, which Midwife cannot reach now\. Unlock the keyring/,
    )
    expect(() => locked.open(sealed)).not.toThrow(/desktop app/)
  })

  it('says another keychain sealed a secret its own keychain cannot open', () => {
    const other = {
      ...storage('gnome_libsecret'),
      decryptString: () => {
        throw new Error(
          'Error while decrypting the ciphertext provided to safeStorage.decryptString.',
        )
      },
    }
    const box = keychainSecretBox(other as never, join(tmp, 'k5.key'))
    const sealed = box.seal('VMware1!')
    expect(() => box.open(sealed)).toThrow(SecretUnreadable)
    expect(() => box.open(sealed)).toThrow(
      'a stored secret cannot be opened: the OS keychain cannot open it: it was sealed by another user’s or machine’s keychain. Open Midwife as the user, on the machine, that saved it, or enter it again',
    )
  })

  it('passes on whether its key file was made at this start', () => {
    expect(
      keychainSecretBox(storage('gnome_libsecret') as never, join(tmp, 'k6.key')).madeKey,
    ).toBe(true)
    expect(keychainSecretBox(storage('basic_text') as never, join(tmp, 'k6.key')).madeKey).toBe(
      false,
    )
  })
})

describe('main process entry (mocked electron)', () => {
  it('starts the core in userData, binds every method, and loads the page into a sandboxed window', async () => {
    mock.dataDir = join(tmp, 'userData')
    process.env.MIDWIFE_LISTEN = '127.0.0.1:0'
    await import('../../main/electron/main')
    await mock.windowLoaded
    const [win] = mock.windows
    expect(win?.loaded).toEqual([join(process.cwd(), 'dist', 'renderer', 'index.html')])
    expect(win?.options).toMatchObject({
      webPreferences: {
        preload: join(process.cwd(), 'dist', 'electron', 'preload.cjs'),
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
      },
    })
    for (const name of methodNames) expect(mock.handlers.has(`api:${name}`), name).toBe(true)

    // A call through the bound channel reaches the real core behind it.
    const page = `file://${join(process.cwd(), 'dist', 'renderer', 'index.html')}`
    const reply = await mock.handlers.get('api:getStatus')?.({ senderFrame: { url: page } }, [])
    expect(reply).toMatchObject({ ok: true, result: { listener: { listening: true } } })

    // The backup folder comes from the native dialog, modal to the window; cancel gives null.
    const backupTo = join(tmp, 'backup-here')
    mock.openDialogAnswer = { canceled: false, filePaths: [backupTo] }
    const chosen = await mock.handlers.get('api:chooseBackupFolder')?.(
      { senderFrame: { url: page } },
      [],
    )
    expect(chosen).toEqual({ ok: true, result: { path: backupTo } })
    expect(mock.openDialogs).toHaveLength(1)
    expect(mock.openDialogs[0]?.modal).toBe(true)
    const { properties } = mock.openDialogs[0]?.options as { properties: string[] }
    expect(properties).toContain('openDirectory')
    expect(properties).toContain('createDirectory')
    mock.openDialogAnswer = { canceled: true, filePaths: [] }
    expect(
      await mock.handlers.get('api:chooseBackupFolder')?.({ senderFrame: { url: page } }, []),
    ).toEqual({ ok: true, result: { path: null } })

    // The badge starts at the servers waiting for the operator: none yet.
    expect(mock.badges.at(-1)).toBe(0)

    // Closing the last window stops the core (listener closed, database closed).
    mock.appListeners.get('window-all-closed')?.()
    delete process.env.MIDWIFE_LISTEN
    expect(mock.exits).toEqual([])
  })

  it('says in a dialog why it cannot start (another Midwife on its data folder) and exits', async () => {
    const dir = join(tmp, 'held')
    mkdirSync(dir, { mode: 0o700 })
    const held = FolderLock.take(dir, { what: 'serve mode' })
    mock.dataDir = dir
    process.env.MIDWIFE_LISTEN = '127.0.0.1:0'
    try {
      vi.resetModules()
      await import('../../main/electron/main')
      await vi.waitFor(() => expect(mock.exits).toEqual([1]))
      // Started from a desktop icon nobody reads stderr: the reason is in a dialog.
      expect(mock.errorBoxes).toEqual([
        [
          'Midwife cannot start',
          expect.stringMatching(
            /^another Midwife \(serve mode, process \d+, running since [\d-]+ [\d:]+ UTC\) is using the data folder .*held; stop it first/,
          ),
        ],
      ])
    } finally {
      held.release()
      delete process.env.MIDWIFE_LISTEN
    }
  })
})
