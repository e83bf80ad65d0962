import type { App as ElectronApp, Session, WebContents } from 'electron'

/**
 * Deny by default: no navigation away from the app, no new windows, no
 * webviews, no permission prompts. The page is local; it never needs them.
 */
export function applySecurityRestrictions(
  app: Pick<ElectronApp, 'on'>,
  session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>,
): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  app.on('web-contents-created', (_event: unknown, contents: WebContents) => {
    contents.on('will-navigate', (e) => e.preventDefault())
    contents.on('will-redirect', (e) => e.preventDefault())
    contents.on('will-attach-webview', (e) => e.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
}
