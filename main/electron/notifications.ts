// The desktop app's notifications: an OS notification for what the core says
// is worth one (a check-in, a failed run, a batch done), and the dock/taskbar
// badge counting the servers that wait for the operator. Electron's objects
// come in as small interfaces, so the decisions are tested without Electron.
import type { Notice } from '../contract/schemas'
import type { EventBus } from '../core/events'

export interface NotificationLike {
  show(): void
  on(event: 'click', listener: () => void): unknown
}

export interface NotificationClass {
  new (options: { title: string; body: string }): NotificationLike
  isSupported(): boolean
}

export interface DesktopNotificationOptions {
  Notification: NotificationClass
  /** Electron's app: setBadgeCount works on macOS and Linux (Unity); elsewhere it is a no-op. */
  app: { setBadgeCount(count: number): boolean }
  /** Servers waiting for the operator, as the core counts them. */
  needsOperator: () => number
  /** A notification was clicked: bring the window forward. */
  onClick?: () => void
  /** Host changes arriving together update the badge once. */
  badgeDelayMs?: number
  /** Where the notifications show (process.platform): Linux reads their body as markup. */
  platform?: NodeJS.Platform
}

/**
 * A body as the freedesktop notification spec wants it: its servers read the body as markup
 * (`<b>`, `<a href>`, `<img>`), and a run's error quotes what the host printed, so a host could
 * put a link in the operator's notification, or a stray `&` or `<` could blank it.
 */
export function plainBody(body: string, platform: NodeJS.Platform): string {
  if (platform !== 'linux') return body
  return body.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function desktopNotifications(bus: EventBus, o: DesktopNotificationOptions): () => void {
  let timer: NodeJS.Timeout | null = null
  let shown = -1
  const badge = () => {
    timer = null
    const n = o.needsOperator()
    if (n === shown) return
    shown = n
    o.app.setBadgeCount(n)
  }
  const later = () => {
    timer ??= setTimeout(badge, o.badgeDelayMs ?? 250)
  }
  badge()
  const off = bus.subscribe((event, payload) => {
    if (event === 'host.changed' || event === 'host.removed') later()
    if (event !== 'notice' || !o.Notification.isSupported()) return
    const n = payload as Notice
    const shownNow = new o.Notification({
      title: n.title,
      body: plainBody(n.body, o.platform ?? process.platform),
    })
    if (o.onClick) shownNow.on('click', o.onClick)
    shownNow.show()
  })
  return () => {
    off()
    if (timer) clearTimeout(timer)
  }
}
