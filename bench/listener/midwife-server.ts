// Midwife's check-in listener as it runs in production (the real App, its
// consoleLogger, SQLite in WAL mode with synchronous=NORMAL), with rate
// limits lifted because the benchmark sends everything from one address.
// Prints {"port": N, "tokens": [...]} once ready.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { App } from '../../main/core/app'
import { consoleLogger } from '../../main/core/log'
import { HOSTS, macOf } from './bodies'

const dataDir = mkdtempSync(join(tmpdir(), 'midwife-bench-'))
const app = await App.start({
  dataDir,
  resourcesDir: join(process.cwd(), 'resources'),
  version: 'bench',
  logger: consoleLogger(),
  listen: { host: '127.0.0.1', port: 0 },
  listenerLimits: {
    sourceBurst: 1e9,
    sourcePerMinute: 1e9,
    credentialBurst: 1e9,
    credentialPerMinute: 1e9,
    connectionsPerSource: 1024,
    connectionsTotal: 1024,
  },
})
const tokens: string[] = []
for (let i = 0; i < HOSTS; i++) {
  const host = app.saveHost({
    hostname: `esx${i}`,
    domain: 'bench.local',
    mac: macOf(i),
    spec: { dns: ['10.0.0.2'], ntp: { servers: ['10.0.0.3'] } },
    rootPassword: 'Bench-pw-1!',
  })
  const url = app.getBootMaterial(host.id).kickstartUrl
  tokens.push(/\/ks\/([^/]+)\.cfg$/.exec(url)?.[1] as string)
}
const port = Number(new URL(app.listenerUrl()).port)
process.stdout.write(`${JSON.stringify({ port, tokens, pid: process.pid })}\n`)
// A run stores hundreds of MB of check-ins: the folder goes with the server.
process.on(
  'SIGTERM',
  () =>
    void app.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true })
      process.exit(0)
    }),
)
