// Runs sandboxed, before the page: exposes one `api` object, never
// ipcRenderer itself. Bundled to a single CommonJS file, because a sandboxed
// preload cannot require local modules.
import { contextBridge, ipcRenderer } from 'electron'
import { buildPreloadApi } from './preload-api'

contextBridge.exposeInMainWorld('api', buildPreloadApi(ipcRenderer))
