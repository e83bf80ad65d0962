// Builds what `start` and the desktop app run: the main-process bundles
// (esbuild; node_modules stay external) and the renderer (vite).
import { build } from 'esbuild'
import { build as viteBuild } from 'vite'
import { rmSync } from 'node:fs'

rmSync('dist', { recursive: true, force: true })

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
}

await Promise.all([
  build({
    ...node,
    entryPoints: ['main/cli.ts'],
    outfile: 'dist/cli.js',
    format: 'esm',
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({
    ...node,
    entryPoints: ['main/electron/main.ts'],
    outfile: 'dist/electron/main.js',
    format: 'esm',
  }),
  // Sandboxed preloads cannot require local files: one self-contained CommonJS file.
  build({
    ...node,
    packages: undefined,
    external: ['electron'],
    entryPoints: ['main/electron/preload.ts'],
    outfile: 'dist/electron/preload.cjs',
    format: 'cjs',
  }),
])

await viteBuild({ configFile: 'vite.config.ts', logLevel: 'warn' })
