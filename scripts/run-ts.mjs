// Runs a TypeScript entry point (benchmarks) in plain Node: bundled by esbuild
// to a temp file first, node_modules left external.
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const [entry, ...args] = process.argv.slice(2)
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <file.ts> [args...]')
  process.exit(2)
}
const dir = mkdtempSync(join(process.cwd(), 'node_modules', '.run-ts-'))
const outfile = join(dir, 'entry.mjs')
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __runTsRequire } from 'node:module'; const require = __runTsRequire(import.meta.url);",
  },
})
const child = spawn(process.execPath, [outfile, ...args], { stdio: 'inherit' })
// A signal to this runner is meant for the program it runs (a benchmark stops
// its servers with SIGTERM): pass it on rather than leave the program orphaned.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal))
}
child.on('exit', (code, signal) => {
  rmSync(dir, { recursive: true, force: true })
  process.exit(code ?? (signal ? 1 : 0))
})
