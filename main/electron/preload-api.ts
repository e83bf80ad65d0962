import { eventNames, methodNames, type PreloadApi } from '../contract/api'
import { callChannel, eventChannel } from './ipc'

/** The slice of ipcRenderer the preload uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown
}

/**
 * One named function per contract method (each resolves to the Reply
 * envelope, unwrapped by the renderer), plus `onEvent` for contract events.
 */
export function buildPreloadApi(ipc: IpcRendererLike): PreloadApi {
  const api: Partial<PreloadApi> = {}
  for (const name of methodNames) {
    api[name] = (...args: unknown[]) => ipc.invoke(callChannel(name), args)
  }
  api.onEvent = (event, callback) => {
    if (!eventNames.includes(event)) throw new Error(`unknown event "${String(event)}"`)
    const listener = (_e: unknown, payload: unknown) => callback(payload)
    ipc.on(eventChannel(event), listener)
    return () => {
      ipc.removeListener(eventChannel(event), listener)
    }
  }
  return api as PreloadApi
}
