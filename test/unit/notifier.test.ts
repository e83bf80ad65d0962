// Check-in notices: check-ins that arrive together make one notice, which
// names the first five servers and counts the rest.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { Checkin, Notice } from '../../main/contract/schemas'
import { EventBus } from '../../main/core/events'
import { Notifier } from '../../main/core/notify'
import { defaultSettings, Store } from '../../main/core/store'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function checkin(i: number): Checkin {
  return {
    id: i,
    hostId: null,
    kind: 'enrollment',
    receivedAt: '2026-01-01T00:00:00.000Z',
    lastSeenAt: '2026-01-01T00:00:00.000Z',
    repeats: 0,
    sourceIp: `10.0.0.${i}`,
    managementIp: null,
    nics: [],
    bootMac: null,
    serial: null,
    uuid: null,
    vendor: null,
    model: null,
    esxiVersion: null,
    esxiBuild: null,
    reportedHostname: null,
    sshHostKeys: [],
  }
}

it('gathers check-ins into one notice that names five and counts them all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midwife-notify-'))
  dirs.push(dir)
  const store = Store.open(join(dir, 'midwife.db'))
  try {
    const bus = new EventBus()
    const notices: Notice[] = []
    bus.subscribe((event, payload) => {
      if (event === 'notice') notices.push(payload as Notice)
    })
    const notify = new Notifier(bus, store, () => ({
      settings: defaultSettings,
      status: {} as never,
    }))
    for (let i = 1; i <= 7; i++) notify.checkin(checkin(i))
    // A repeat is not news.
    notify.checkin({ ...checkin(8), repeats: 1 })
    notify.flushCheckins()
    expect(notices).toEqual([
      {
        kind: 'checkin',
        title: '7 servers checked in',
        body: 'a server at 10.0.0.1, a server at 10.0.0.2, a server at 10.0.0.3, a server at 10.0.0.4, a server at 10.0.0.5, …: they wait on the Servers screen.',
        hostId: null,
      },
    ])
    // The next notice starts afresh.
    notify.checkin(checkin(9))
    notify.flushCheckins()
    expect(notices[1]).toMatchObject({ title: 'a server at 10.0.0.9 checked in' })
    notify.flushCheckins()
    expect(notices).toHaveLength(2)
  } finally {
    store.close()
  }
})

it('announces a host the caller just wrote without reading it unless a screen listens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midwife-notify-'))
  dirs.push(dir)
  const store = Store.open(join(dir, 'midwife.db'))
  try {
    const id = store.hosts.insertDiscovered(
      {
        macs: ['00:50:56:00:00:01'],
        serial: 'SN-1',
        uuid: null,
        sshHostKeys: [],
        managementIp: null,
        boundAt: '2026-01-01T00:00:00.000Z',
        how: 'discovered',
        checkinId: null,
      },
      'checked in',
    )
    const bus = new EventBus()
    const notify = new Notifier(bus, store, () => ({
      settings: defaultSettings,
      status: {} as never,
    }))
    const reads = { n: 0 }
    const get = store.hosts.get.bind(store.hosts)
    const has = store.hosts.has.bind(store.hosts)
    store.hosts.get = (i) => (reads.n++, get(i))
    store.hosts.has = (i) => (reads.n++, has(i))

    notify.hostWritten(id)
    expect(reads.n).toBe(0)
    // A screen that connects later still gets the host, as it is then.
    const replayed = bus.since(0).events
    expect(replayed).toHaveLength(1)
    expect(replayed[0]).toMatchObject({ event: 'host.changed', payload: { id } })

    const heard: unknown[] = []
    bus.subscribe((event, payload) => heard.push({ event, payload }))
    notify.hostWritten(id)
    expect(reads.n).toBeGreaterThan(0)
    expect(heard).toMatchObject([{ event: 'host.changed', payload: { id } }])
  } finally {
    store.close()
  }
})
