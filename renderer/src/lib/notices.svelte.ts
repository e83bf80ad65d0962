// What the operator is told without looking: in serve mode, the browser's
// notifications (only once permitted, asked from a button, never on load) and
// the count of servers waiting in the tab's title. The desktop app notifies
// from its main process instead (main/electron/notifications.ts).
import { NEEDS_OPERATOR } from '../../../main/contract/lifecycle'
import type { MidwifeState } from './state.svelte'

type Permission = 'default' | 'granted' | 'denied' | 'unsupported'

export class Notices {
  private readonly app: MidwifeState
  permission = $state<Permission>('unsupported')
  /** How many servers wait for the operator. */
  get waiting(): number {
    return this.app.hosts.filter((h) => NEEDS_OPERATOR.includes(h.state)).length
  }

  constructor(app: MidwifeState) {
    this.app = app
    const desktop = app.transport.kind === 'ipc'
    if (!desktop && typeof Notification !== 'undefined') {
      this.permission = Notification.permission
    }
    const base = typeof document === 'undefined' ? 'Midwife' : document.title || 'Midwife'
    $effect.root(() => {
      $effect(() => {
        document.title = this.waiting > 0 ? `(${this.waiting}) ${base}` : base
      })
    })
    app.transport.on('notice', (n) => {
      if (desktop || this.permission !== 'granted') return
      new Notification(n.title, { body: n.body, tag: n.kind === 'checkin' ? 'checkin' : undefined })
    })
  }

  /** Serve mode: asks the browser, from the operator's click. */
  async enable(): Promise<void> {
    if (typeof Notification === 'undefined') return
    this.permission = await Notification.requestPermission()
  }
}
