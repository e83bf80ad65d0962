// A throwaway program from test/support, bundled for plain Node: a test runs it
// in its own process when what it checks is the process itself (V8's heap,
// whether the event loop stays alive). Built beside node_modules, so the
// packages it imports (better-sqlite3, zod) resolve as they do for the app.
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export interface Probe {
  /** The bundled program, for `node <file> args...`. */
  file: string
  remove(): void
}

/** Bundles test/support/<name>.ts. */
export async function buildProbe(name: string): Promise<Probe> {
  const dir = mkdtempSync(join(process.cwd(), 'node_modules', '.probe-'))
  const file = join(dir, `${name}.mjs`)
  await build({
    entryPoints: [fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
    },
  })
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
