// `midwife start | serve`: the desktop app when it can show one, otherwise the
// same UI served on loopback.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import pkg from '../package.json'
import { verification } from './core/audit/audit-service'
import { App } from './core/app'
import { backupDataFolder } from './core/backup'
import { consoleLogger, escapeControl } from './core/log'
import { Store } from './core/store'
import { parseListen } from './options'
import {
  defaultDataDir,
  electronVersion,
  ensureElectronSqlite,
  findElectronBinary,
  hasDisplay,
} from './runtime'
import { serveHostProblem, startServe } from './serve/server'

const USAGE = `Usage: midwife <command> [options]

Commands:
  start              Open the desktop app. Without a display or an Electron
                     runtime, serve the same UI on loopback and print its URL.
  serve              Serve the UI on loopback and print its URL.
  audit verify       Check the audit log's hash chain in --data-dir and name
                     the first entry that is not as written (exit 1 if one is).
  backup --to DIR    Copy --data-dir's database and secret.key into DIR (new or
                     empty), consistently, while Midwife runs or not.

Options:
  --data-dir DIR     Data folder (env MIDWIFE_DATA_DIR; default ${defaultDataDir()})
  --listen HOST:PORT Check-in listener address for this run (default: Site settings, 0.0.0.0:8080)
  --host ADDR        serve: loopback address for the UI (default 127.0.0.1)
  --port N           serve: UI port (default: a free port)
  --to DIR           backup: the folder to write the backup into
  -h, --help         Show this help
  -v, --version      Show the version
`

const root = join(dirname(new URL(import.meta.url).pathname), '..')

async function serve(values: Record<string, string | boolean | undefined>, why: string | null) {
  const logger = consoleLogger()
  const dataDir = (values['data-dir'] as string | undefined) ?? defaultDataDir()
  const listen = (values.listen as string | undefined) ?? process.env.MIDWIFE_LISTEN
  const app = await App.start({
    dataDir,
    resourcesDir: join(root, 'resources'),
    version: pkg.version,
    logger,
    holder: 'serve mode',
    ...(listen ? { listen: parseListen(listen) } : {}),
  })
  const ui = await startServe({
    handlers: app,
    events: app.events,
    staticDir: join(root, 'dist', 'renderer'),
    host: (values.host as string | undefined) ?? '127.0.0.1',
    port: values.port ? Number(values.port) : 0,
    logger,
    downloads: (r) => app.download(r),
  })
  const status = app.getStatus().listener
  const lines = [
    `Midwife ${pkg.version}${why ? ` (serving the UI: ${why})` : ''}`,
    `  UI:        ${ui.url}`,
    `  Listener:  ${status.address ?? `not listening: ${status.error}`}; hosts reach it at ${status.advertisedUrl}`,
    `  Data:      ${dataDir}`,
    '  Stop with Ctrl+C.',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)

  let stopping = false
  const stop = () => {
    if (stopping) {
      // A second Ctrl+C: what is still running is interrupted, as after a crash, and the next
      // start says so and offers Resume.
      process.stderr.write(
        'Stopped without waiting: runs still in progress show as interrupted at the next start; Resume continues them.\n',
      )
      process.exit(130)
    }
    stopping = true
    const busy = app.runsInProgress()
    if (busy.length > 0) {
      const which = busy.map((r) => `run ${r.id} on ${escapeControl(r.hostName)}`).join(', ')
      process.stdout.write(
        `Stopping: waiting for ${which} to finish, so no host is left half configured. ` +
          'Press Ctrl+C again to stop now (the run shows as interrupted, and Resume continues it).\n',
      )
    }
    void ui
      .close()
      .then(() => app.stop())
      .finally(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

async function desktop(electron: string, values: Record<string, string | boolean | undefined>) {
  let sqliteBinding: string
  try {
    sqliteBinding = await ensureElectronSqlite(root, electronVersion(root))
  } catch (err) {
    return serve(values, (err as Error).message)
  }
  const args = [root]
  if (values['data-dir']) args.push('--data-dir', values['data-dir'] as string)
  if (values.listen) args.push('--listen', values.listen as string)
  const child = spawn(electron, args, {
    stdio: 'inherit',
    env: { ...process.env, MIDWIFE_SQLITE_BINDING: sqliteBinding },
  })
  child.on('exit', (code) => process.exit(code ?? 1))
}

/** Reads the database without migrating or writing it: it may be a running Midwife's, or a copy. */
function auditVerify(values: Record<string, string | boolean | undefined>, what?: string) {
  if (what !== 'verify') {
    throw new Error(
      what === undefined
        ? '"audit" needs what to do; try: midwife audit verify'
        : `unknown command "audit ${what}"; try: midwife audit verify`,
    )
  }
  const dataDir = (values['data-dir'] as string | undefined) ?? defaultDataDir()
  const result = verification(Store.verifyAuditFile(join(dataDir, 'midwife.db')))
  process.stdout.write(`${result.ok ? 'ok' : 'BROKEN'}: ${result.message}\n`)
  process.exitCode = result.ok ? 0 : 1
}

/** Reads the database through SQLite's online backup: it may be a running Midwife's. */
async function backup(values: Record<string, string | boolean | undefined>) {
  const to = values.to as string | undefined
  if (!to) throw new Error('"backup" needs the folder to write to: midwife backup --to DIR')
  const dataDir = (values['data-dir'] as string | undefined) ?? defaultDataDir()
  const result = await backupDataFolder(dataDir, to)
  process.stdout.write(`${result.lines.join('\n')}\n`)
}

const OPTIONS = {
  'data-dir': { type: 'string' },
  listen: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

/** parseArgs, with its errors said in Midwife's words (its own name a JavaScript-shaped hint). */
function parsed(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS })
  } catch (err) {
    const code = (err as { code?: string }).code
    const option = /'(-[^']*)'/.exec((err as Error).message)?.[1]
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
      throw new Error(`unknown option ${option}; midwife --help lists the options`, { cause: err })
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
      throw new Error(`${option.split(' ')[0]} wants a value; midwife --help lists the options`, {
        cause: err,
      })
    }
    throw err
  }
}

async function main(argv: string[]) {
  const { values, positionals } = parsed(argv)
  if (values.help) return void process.stdout.write(USAGE)
  if (values.version) return void process.stdout.write(`${pkg.version}\n`)
  if (values.listen) parseListen(values.listen)
  const hostProblem = values.host ? serveHostProblem(values.host) : null
  if (hostProblem) throw new Error(hostProblem)
  if (values.port && !(/^\d{1,5}$/.test(values.port) && Number(values.port) <= 65535))
    throw new Error(
      `--port wants a port number from 0 to 65535 (0: any free port), not "${values.port}"`,
    )

  const command = positionals[0] ?? 'start'
  if (command === 'audit') return auditVerify(values, positionals[1])
  if (command === 'backup') return backup(values)
  if (command === 'serve') return serve(values, null)
  if (command === 'start') {
    const electron = findElectronBinary(root)
    if (electron && hasDisplay()) return desktop(electron, values)
    const why = !hasDisplay()
      ? 'no display'
      : 'no Electron runtime installed; `npx install-electron` fetches it for the desktop window'
    return serve(values, why)
  }
  throw new Error(`unknown command "${command}"\n\n${USAGE}`)
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`midwife: ${(err as Error).message}\n`)
  process.exit(2)
})
