// The real CLI, built as `npm start` runs it, on a machine with no display:
// `start` must serve the UI on loopback, print a URL carrying a session token,
// and refuse requests without that token.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  damagedDataFolder,
  foreignDataFolder,
  repoRoot,
  tempDir,
  type PreparedDataFolder,
} from '../support/app'

const cli = join(repoRoot, 'dist', 'cli.js')
let child: ChildProcess | undefined
const dirs: Array<{ remove(): void }> = []

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)')
})

afterEach(() => {
  child?.kill('SIGTERM')
  child = undefined
  for (const d of dirs.splice(0)) d.remove()
})

/** Starts the CLI on a new data folder, or on `dataDir`; resolves with what it printed. */
function startCli(args: string[], env: NodeJS.ProcessEnv, dataDir?: string): Promise<string> {
  let path = dataDir
  if (path === undefined) {
    const data = tempDir('cli')
    dirs.push(data)
    path = data.path
  }
  child = spawn(process.execPath, [cli, ...args, '--data-dir', path, '--listen', '127.0.0.1:0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child?.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Stop with Ctrl+C')) resolve(out)
    })
    child?.on('exit', (code) => reject(new Error(`midwife exited with ${code}: ${out}`)))
  })
}

describe('midwife start without a display', () => {
  it('serves the UI on loopback and prints its URL with a session token', async () => {
    const { DISPLAY: _d, WAYLAND_DISPLAY: _w, ...env } = process.env
    const out = await startCli(['start'], env)
    expect(out).toMatch(/serving the UI: no display/)
    const url = /UI: +(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,})/.exec(out)?.[1]
    expect(url).toBeDefined()
    const base = new URL(url as string)

    const page = await fetch(url as string)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>Midwife</title>')
    // The API takes the printed token, and nothing without it.
    const status = (headers: Record<string, string>) =>
      fetch(`${base.origin}/api/getStatus`, { method: 'POST', headers, body: '{"args":[]}' })
    expect((await status({})).status).toBe(401)
    const token = base.searchParams.get('token') as string
    expect((await status({ Authorization: `Bearer ${token}` })).status).toBe(200)
  })

  it('does not download or launch Electron even when a display is claimed', async () => {
    // No runtime is installed here (path.txt absent): start must say so and serve.
    const out = await startCli(['start'], {
      ...process.env,
      DISPLAY: ':99',
      ELECTRON_OVERRIDE_DIST_PATH: join(repoRoot, 'no-such-dir'),
    })
    expect(out).toMatch(/no Electron runtime installed/)
  })
})

describe('midwife CLI arguments', () => {
  it('prints help, and refuses a bad --listen with a clear message', () => {
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' })
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('Usage: midwife <command>')
    const bad = spawnSync(process.execPath, [cli, 'serve', '--listen', 'nowhere'], {
      encoding: 'utf8',
    })
    expect(bad.status).toBe(2)
    expect(bad.stderr).toBe(
      'midwife: --listen wants host:port (like 0.0.0.0:8080), not "nowhere"\n',
    )
  })

  it('says what is wrong with an unknown option, a missing value, a port out of range, a UI address off loopback or a bare audit', () => {
    const said = (...args: string[]) => {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' })
      return { code: r.status, err: r.stderr }
    }
    expect(said('serve', '--bogus')).toEqual({
      code: 2,
      err: 'midwife: unknown option --bogus; midwife --help lists the options\n',
    })
    expect(said('serve', '--data-dir')).toEqual({
      code: 2,
      err: 'midwife: --data-dir wants a value; midwife --help lists the options\n',
    })
    expect(said('serve', '--port', '99999')).toEqual({
      code: 2,
      err: 'midwife: --port wants a port number from 0 to 65535 (0: any free port), not "99999"\n',
    })
    // Refused before anything starts: no listener log line first.
    expect(said('serve', '--host', '0.0.0.0')).toEqual({
      code: 2,
      err: 'midwife: serve mode listens on loopback only; 0.0.0.0 is not a loopback address\n',
    })
    expect(said('audit')).toEqual({
      code: 2,
      err: 'midwife: "audit" needs what to do; try: midwife audit verify\n',
    })
  })

  it('refuses a data folder that is a file, saying so, and changes nothing', () => {
    const dir = tempDir('cli-file')
    dirs.push(dir)
    const file = join(dir.path, 'not-a-folder')
    writeFileSync(file, 'kept\n')
    const run = spawnSync(
      process.execPath,
      [cli, 'serve', '--data-dir', file, '--listen', '127.0.0.1:0'],
      {
        encoding: 'utf8',
      },
    )
    expect(run.status).toBe(2)
    expect(run.stderr).toBe(
      `midwife: cannot use ${file} as the data folder: a file is in the way (it, or a folder above it, is not a folder); choose another data folder\n`,
    )
    expect(readFileSync(file, 'utf8')).toBe('kept\n')
  })

  /** `serve` on a prepared data folder: refused (exit 2), nothing started, the file as it was. */
  function serveRefuses(dir: PreparedDataFolder): string {
    dirs.push(dir)
    const run = spawnSync(
      process.execPath,
      [cli, 'serve', '--data-dir', dir.path, '--listen', '127.0.0.1:0'],
      { encoding: 'utf8' },
    )
    expect(run.status).toBe(2)
    expect(run.stdout).not.toMatch(/UI:/)
    expect(readFileSync(dir.file)).toEqual(dir.bytes)
    return run.stderr
  }

  it('refuses a data folder whose midwife.db is damaged, before writing to it', () => {
    const dir = damagedDataFolder('cli-damaged')
    expect(serveRefuses(dir)).toMatch(
      new RegExp(
        `^midwife: ${dir.file.replace(/[.]/g, '\\.')} is damaged: SQLite's check found .*Midwife will not start on it, so nothing more is written to it: restore the data folder from a backup`,
      ),
    )
  })

  it('refuses a data folder whose midwife.db another program made, and leaves it as it was', () => {
    const dir = foreignDataFolder('cli-foreign')
    expect(serveRefuses(dir)).toBe(
      `midwife: ${dir.file} is not a Midwife database: it holds tables Midwife did not make (notes). Midwife will not start over it: move it out of the data folder, or choose another one\n`,
    )
  })
})

describe('one Midwife per data folder', () => {
  it('refuses a second Midwife on a folder in use, naming the first, and frees it when the first dies', async () => {
    const { DISPLAY: _d, WAYLAND_DISPLAY: _w, ...env } = process.env
    const first = await startCli(['serve'], env)
    const data = /Data: +(\S+)/.exec(first)?.[1] as string
    const url = /UI: +(\S+)/.exec(first)?.[1] as string

    const second = spawnSync(
      process.execPath,
      [cli, 'serve', '--data-dir', data, '--listen', '127.0.0.1:0'],
      { encoding: 'utf8', env },
    )
    expect(second.status).toBe(2)
    expect(second.stderr).toMatch(
      new RegExp(
        `^midwife: another Midwife \\(serve mode, process ${child?.pid}, running since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\) is using the data folder ${data}; stop it first, or give this one another folder with --data-dir\\n$`,
      ),
    )
    // The first is unharmed: still serving, and the second printed no UI of its own.
    expect(second.stdout).toBe('')
    expect((await fetch(url)).status).toBe(200)

    // The lock is the OS's: a first Midwife killed outright leaves nothing to clear by hand.
    const killed = child as ChildProcess
    const gone = new Promise((resolve) => killed.once('exit', resolve))
    killed.kill('SIGKILL')
    await gone
    const third = await startCli(['serve'], env, data)
    expect(third).toContain(`Data:      ${data}`)
  })
})
