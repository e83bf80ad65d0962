import { connect, createServer, type Server } from 'node:net'

export interface Counted {
  port: number
  /** Connections accepted so far. */
  count(): number
  close(): Promise<void>
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve((server.address() as { port: number }).port))
  })
}

/** A TCP proxy that counts the connections it forwards: proof of who Midwife talked to. */
export async function countingProxy(targetPort: number, host = '127.0.0.1'): Promise<Counted> {
  let n = 0
  const server = createServer((client) => {
    n++
    const upstream = connect(targetPort, '127.0.0.1')
    client.pipe(upstream).pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  const port = await listen(server, host, 0)
  return {
    port,
    count: () => n,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** A listener that only counts connections and closes them: an address nothing should reach. */
export async function countingTrap(host: string, port = 0): Promise<Counted> {
  let n = 0
  const server = createServer((socket) => {
    n++
    socket.destroy()
  })
  const bound = await listen(server, host, port)
  return {
    port: bound,
    count: () => n,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
