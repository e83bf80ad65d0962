// The layering rules live in eslint.config.js; these prove they are live, by
// linting forbidden imports as if they were in each layer's real files.
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../support/app'

const eslint = new ESLint({ cwd: repoRoot })

async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals')
    .map((m) => m.message.replace(/^.* is restricted from being used( by a pattern)?\. /, ''))
}

describe('layering, enforced by lint', () => {
  it('main/core may not import electron', async () => {
    const msgs = await restricted(
      "import { app } from 'electron'\nexport const x = app\n",
      'main/core/app.ts',
    )
    expect(msgs).toEqual(['main/core is plain Node: Electron belongs in main/electron.'])
  }, 60_000)

  it('the contract may not import Node built-ins, electron or the core, nor use process', async () => {
    const code = [
      "import { readFileSync } from 'node:fs'",
      "import { App } from '../core/app'",
      'export const x = [readFileSync, App, process.env]',
      '',
    ].join('\n')
    const msgs = await restricted(code, 'main/contract/api.ts')
    expect(msgs).toHaveLength(3)
    expect(msgs.join('\n')).toContain('no Node built-ins')
    expect(msgs.join('\n')).toContain('The contract depends on nothing but zod.')
  }, 60_000)

  it('the catalogue may not import Node built-ins, electron or the core', async () => {
    const code = [
      "import { spawn } from 'node:child_process'",
      "import { Store } from '../core/store'",
      'export const x = [spawn, Store]',
      '',
    ].join('\n')
    const msgs = await restricted(code, 'main/catalogue/registry.ts')
    expect(msgs).toHaveLength(2)
    expect(msgs.join('\n')).toContain('The catalogue is pure data and logic')
  }, 60_000)

  it('the renderer reaches the core only through the contract', async () => {
    const code = "import { App } from '../../../main/core/app'\nexport const x = App\n"
    const msgs = await restricted(code, 'renderer/src/lib/api.ts')
    expect(msgs).toEqual(['The renderer reaches the core only through main/contract.'])
  }, 60_000)

  it('allows what each layer is for', async () => {
    expect(
      await restricted(
        "import { app } from 'electron'\nexport const x = app\n",
        'main/electron/main.ts',
      ),
    ).toEqual([])
    expect(
      await restricted("import { z } from 'zod'\nexport const x = z\n", 'main/contract/api.ts'),
    ).toEqual([])
  }, 60_000)
})
