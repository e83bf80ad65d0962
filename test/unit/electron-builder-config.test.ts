// electron-builder.yml, checked offline: never runs electron-builder (it would
// download Electron and rebuild better-sqlite3 for Electron's ABI). The parser,
// the JSON schema, the validator and the glob matcher are the ones
// electron-builder itself resolves, so this needs no extra devDependencies and
// cannot drift from the installed electron-builder.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { crc32, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}
interface Validate {
  (data: unknown): boolean
  errors?: AjvError[] | null
}
interface Ajv {
  addKeyword(def: { keyword: string; validate: (schema: unknown, data: unknown) => boolean }): Ajv
  compile(schema: object): Validate
}
interface Ajvs {
  default: new (options: Record<string, unknown>) => Ajv
}
interface Yaml {
  load: (this: void, text: string) => unknown
}
interface Minimatch {
  minimatch: (this: void, path: string, pattern: string, options: { dot: boolean }) => boolean
}

const fromRoot = createRequire(join(root, 'package.json'))
const builderLib = dirname(
  createRequire(fromRoot.resolve('electron-builder')).resolve('app-builder-lib/package.json'),
)
const fromBuilder = createRequire(join(builderLib, 'package.json'))
const { load } = fromBuilder('js-yaml') as Yaml
const { default: AjvClass } = fromBuilder('ajv') as Ajvs
const { minimatch } = fromBuilder('minimatch') as Minimatch

type Config = Record<string, unknown>
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>
const config = load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Config
const schema = JSON.parse(readFileSync(join(builderLib, 'scheme.json'), 'utf8')) as object

// Stricter than electron-builder's own check (strict: false, coerceTypes:
// true), so whatever passes here passes there. Strict mode needs union types
// allowed and the schema's one non-standard keyword, `typeof: "function"`
// (JS configs may pass hooks), declared: electron-builder ignores it, which
// turns those anyOf branches into "anything goes".
const validate = new AjvClass({ allErrors: true, strict: true, allowUnionTypes: true })
  .addKeyword({ keyword: 'typeof', validate: (type, data) => typeof data === type })
  .compile(schema)

function schemaErrors(data: unknown): string[] {
  if (validate(structuredClone(data))) return []
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.keyword}: ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  )
}

// electron-builder's file filter (app-builder-lib fileMatcher + util/filter):
// patterns in order, the last one that decides wins, `!` excludes, a plain
// name without a dot also means everything under it, package.json is always in.
const filePatterns = (config.files as unknown[]).map((p) => {
  if (typeof p !== 'string')
    throw new Error(`files: only string patterns are checked here: ${JSON.stringify(p)}`)
  return p.replace(/^\.\//, '')
})
const matcherPatterns = [...filePatterns, 'package.json'].flatMap((p) =>
  /[*?[{(!]/.test(p) || p.includes('.') ? [p] : [p, `${p}/**/*`],
)
function isPackaged(file: string): boolean {
  let included = false
  for (const pattern of matcherPatterns) {
    if (included !== pattern.startsWith('!')) continue
    included = minimatch(file, pattern, { dot: true })
  }
  return included
}

function walk(dir: string): string[] {
  const abs = join(root, dir)
  if (!existsSync(abs)) return []
  return readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'))
}

function expectBuilt(file: string): void {
  expect(existsSync(join(root, file)), `${file} is missing: run \`npm run build\` first`).toBe(true)
}

describe('electron-builder.yml', () => {
  it('is the config electron-builder loads (package.json has no "build" key to shadow it)', () => {
    expect(pkg).not.toHaveProperty('build')
    expect(config).toMatchObject({ appId: 'io.midwife.app', productName: pkg.productName })
  })

  it('validates against the schema shipped with app-builder-lib', () => {
    expect(schemaErrors(config)).toEqual([])
  })

  it('fails validation when broken, so the validator is live', () => {
    expect(schemaErrors({ ...config, asar: 'yes' }).join('\n')).toMatch(/^\/asar /m)
    expect(schemaErrors({ ...config, iconn: 'x.png' }).join('\n')).toMatch(
      /additionalProperty.*iconn/,
    )
    const linux = { ...(config.linux as Config), categroy: 'Network' }
    expect(schemaErrors({ ...config, linux }).join('\n')).toMatch(/categroy/)
    const mac = { ...(config.mac as Config), sign: 42 }
    expect(schemaErrors({ ...config, mac }).join('\n')).toMatch(/^\/mac\/sign /m)
  })

  // The schema takes any string for these: a typo would only show at package time.
  it('builds the intended targets with valid categories', () => {
    expect(config.linux).toMatchObject({ target: ['AppImage', 'deb'] })
    expect(config.mac).toMatchObject({ target: 'dmg' })
    expect(config.win).toMatchObject({ target: 'nsis' })
    const freedesktopMain = [
      'AudioVideo',
      'Audio',
      'Video',
      'Development',
      'Education',
      'Game',
      'Graphics',
      'Network',
      'Office',
      'Science',
      'Settings',
      'System',
      'Utility',
    ]
    expect(freedesktopMain).toContain((config.linux as Config).category)
    expect((config.mac as Config).category).toBe('public.app-category.developer-tools')
  })

  // The deb target refuses to build without a maintainer and a homepage
  // (app-builder-lib FpmTarget.computeFpmMetaInfoOptions).
  it('gives the deb target the metadata it requires', () => {
    const author = pkg.author as { email?: string } | string | undefined
    const authorEmail = typeof author === 'string' ? /<[^>]+@[^>]+>/.test(author) : !!author?.email
    expect(
      authorEmail || !!(config.linux as Config).maintainer || !!(config.deb as Config)?.maintainer,
      'deb needs package.json "author" with an email, or linux.maintainer',
    ).toBe(true)
    expect(
      !!pkg.homepage || !!pkg.repository,
      'deb needs package.json "homepage" (or a GitHub "repository")',
    ).toBe(true)
  })

  it('packages what the app reads at run time', () => {
    const runtime = [
      'package.json',
      'dist/electron/main.js',
      'dist/electron/preload.cjs',
      'dist/renderer/index.html',
      'resources/client/checkin.sh',
      'resources/templates/ks.cfg',
      'resources/templates/ks-discover.cfg',
    ]
    for (const file of runtime) {
      expectBuilt(file)
      expect(isPackaged(file), `${file} is not matched by files`).toBe(true)
    }
  })

  it('packages package.json "main"', () => {
    const main = pkg.main as string
    expectBuilt(main)
    expect(isPackaged(main), `"main" (${main}) is not matched by files`).toBe(true)
  })

  it('has every include pattern match something that exists', () => {
    expectBuilt('dist/electron/main.js')
    const existing = ['package.json', ...walk('dist'), ...walk('resources')]
    for (const pattern of filePatterns.filter((p) => !p.startsWith('!'))) {
      expect(
        existing.some((f) => minimatch(f, pattern, { dot: true })),
        `files pattern ${pattern} matches nothing (run \`npm run build\` first?)`,
      ).toBe(true)
    }
  })

  it('packages all of the build output but sourcemaps, and no sources or tests', () => {
    expectBuilt('dist/electron/main.js')
    for (const file of [
      ...walk('dist'),
      ...walk('resources/client'),
      ...walk('resources/templates'),
    ])
      expect(isPackaged(file), file).toBe(!file.endsWith('.map'))
    const sources = ['main', 'renderer', 'test', 'scripts', 'bench', 'resources/icons']
      .flatMap(walk)
      .concat(['electron-builder.yml', 'tsconfig.json', 'vite.config.ts', 'vitest.config.ts'])
    expect(sources.length).toBeGreaterThan(10)
    expect(sources.filter(isPackaged)).toEqual([])
  })

  it('unpacks better-sqlite3 from the asar and rebuilds it for Electron', () => {
    expect(pkg.dependencies).toHaveProperty('better-sqlite3')
    const binaries = walk('node_modules/better-sqlite3').filter((f) => f.endsWith('.node'))
    expect(binaries).toContain('node_modules/better-sqlite3/build/Release/better_sqlite3.node')
    const unpack = config.asarUnpack as string[]
    for (const file of binaries)
      expect(
        unpack.some((p) => minimatch(file, p, { dot: true })),
        file,
      ).toBe(true)
    expect(config.npmRebuild).toBe(true)
  })

  it('has a square PNG icon of at least 512x512', () => {
    const png = readFileSync(join(root, config.icon as string))
    expect(png.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    )
    const chunks: { type: string; data: Buffer }[] = []
    for (let at = 8; at < png.length;) {
      const length = png.readUInt32BE(at)
      const body = png.subarray(at + 4, at + 8 + length)
      expect(png.readUInt32BE(at + 8 + length), 'chunk CRC').toBe(crc32(body))
      chunks.push({ type: body.subarray(0, 4).toString('latin1'), data: body.subarray(4) })
      at += 12 + length
    }
    expect(chunks[0]?.type).toBe('IHDR')
    expect(chunks.at(-1)?.type).toBe('IEND')
    const ihdr = chunks[0]!.data
    const [width, height] = [ihdr.readUInt32BE(0), ihdr.readUInt32BE(4)]
    const [bitDepth, colorType, , , interlace] = ihdr.subarray(8)
    expect(width).toBeGreaterThanOrEqual(512)
    expect(height).toBe(width)
    expect({ bitDepth, colorType, interlace }).toEqual({ bitDepth: 8, colorType: 6, interlace: 0 })
    const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data))
    expect(inflateSync(idat).length).toBe(height * (1 + width * 4))
  })
})
