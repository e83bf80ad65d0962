// The dashboard as a browser loads it, in its own process so its memory is
// not counted as Midwife's: the event stream connected, then what the screen
// loads at start (status, settings, the host list in pages) over HTTP. Prints one JSON
// line with what it received, then stays connected until stdin closes.
// `node scripts/run-ts.mjs bench/memory/dashboard-client.ts <port>` with the
// session token in MIDWIFE_BENCH_TOKEN.
import WebSocket from 'ws'

const port = Number(process.argv[2])
const token = process.env.MIDWIFE_BENCH_TOKEN ?? ''
const headers = { Authorization: `Bearer ${token}` }

const ws = new WebSocket(`ws://127.0.0.1:${port}/events`, { headers })
await new Promise((resolve, reject) => {
  ws.once('open', resolve)
  ws.once('error', reject)
})

interface Loaded {
  bytes: number
  ms: number
  items: number
}

async function call(method: string, args: unknown[] = []): Promise<Loaded & { result: unknown }> {
  const t0 = process.hrtime.bigint()
  const res = await fetch(`http://127.0.0.1:${port}/api/${method}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ args }),
  })
  const text = await res.text()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const reply = JSON.parse(text) as { ok: boolean; result?: unknown }
  if (!reply.ok) throw new Error(`${method} failed`)
  return {
    bytes: Buffer.byteLength(text),
    ms,
    items: Array.isArray(reply.result) ? reply.result.length : 1,
    result: reply.result,
  }
}

/** The host list as the screen loads it: pages of 1,000 in id order. */
async function hosts(): Promise<Loaded> {
  const total: Loaded = { bytes: 0, ms: 0, items: 0 }
  for (let afterId = 0; ;) {
    const page = await call('listHostsPage', [{ afterId, limit: 1000 }])
    const r = page.result as { hosts: Array<{ id: number }>; more: boolean }
    total.bytes += page.bytes
    total.ms += page.ms
    total.items += r.hosts.length
    const last = r.hosts.at(-1)
    if (!r.more || !last) return total
    afterId = last.id
  }
}

const strip = ({ bytes, ms, items }: Loaded): Loaded => ({ bytes, ms, items })
const loaded = await Promise.all([
  call('getStatus').then(strip),
  call('getSettings').then(strip),
  hosts(),
])
process.stdout.write(`${JSON.stringify({ loaded })}\n`)
process.stdin.resume()
process.stdin.on('end', () => {
  ws.close()
  process.exit(0)
})
