import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createClient, type Api } from '../../main/contract/api'
import { repoRoot } from './app'

export interface ServeProcess {
  child: ChildProcess
  /** The printed UI URL, with its session token. */
  url: string
  token: string
  /** The operator API over serve mode's HTTP transport, as the UI calls it. */
  api: Api
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  exited: Promise<number | null>
}

/** The built CLI (`midwife serve`) as a real child process on its own data folder. */
export function startServeProcess(dataDir: string, args: string[] = []): Promise<ServeProcess> {
  const cli = join(repoRoot, 'dist', 'cli.js')
  if (!existsSync(cli))
    throw new Error('dist/cli.js is missing: run `npm run build` (npm test does)')
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  return new Promise((resolve, reject) => {
    const ready = () => {
      const url = /UI: +(\S+)/.exec(out)?.[1]
      if (!url || !out.includes('Stop with Ctrl+C')) return
      child.stdout?.off('data', ready)
      const u = new URL(url)
      const token = u.searchParams.get('token') as string
      const api = createClient(async (name, callArgs) => {
        const res = await fetch(`${u.origin}/api/${name}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({ args: callArgs }),
        })
        return res.json()
      })
      resolve({ child, url, token, api, output: () => out, exited })
    }
    child.stdout?.on('data', ready)
    void exited.then((code) => reject(new Error(`midwife serve exited with ${code}: ${out}`)))
  })
}
