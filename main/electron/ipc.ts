import { dispatch, methodNames, type ApiHandlers, type Reply } from '../contract/api'
import type { EventBus } from '../core/events'

/** The part of Electron's ipcMain this binding uses, so tests pass a plain object. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

export interface IpcEventLike {
  senderFrame?: { url: string } | null
}

export const callChannel = (method: string) => `api:${method}`
export const eventChannel = (event: string) => `event:${event}`

/**
 * Registers one handler per contract method. Arguments are parsed by the
 * contract's schemas in `dispatch`; calls from any frame but our own page are refused.
 */
export function bindIpc(
  ipcMain: IpcMainLike,
  handlers: ApiHandlers,
  isTrustedUrl: (url: string) => boolean,
): () => void {
  for (const name of methodNames) {
    ipcMain.handle(callChannel(name), (event, args): Promise<Reply> | Reply => {
      const url = event.senderFrame?.url ?? ''
      if (!isTrustedUrl(url)) {
        return {
          ok: false,
          error: { code: 'invalid', message: 'call from an untrusted frame refused' },
        }
      }
      return dispatch(handlers, name, args)
    })
  }
  return () => {
    for (const name of methodNames) ipcMain.removeHandler(callChannel(name))
  }
}

/** Forwards core events to a window; `send` is webContents.send in the app. */
export function forwardEvents(
  bus: EventBus,
  send: (channel: string, payload: unknown) => void,
): () => void {
  return bus.subscribe((event, payload) => send(eventChannel(event), payload))
}
