// The console logger writes a turn's info lines in one write, never holds back
// a warning or an error, and never lets a message start a line of its own.
import { describe, expect, it } from 'vitest'
import { consoleLogger } from '../../main/core/log'

const nextTurn = () => new Promise((r) => setImmediate(r))
const SHAPE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z test (info|warn|error) /

describe('the console logger', () => {
  it("writes one turn's info lines together, in order, at the end of the turn", async () => {
    const writes: string[] = []
    const log = consoleLogger('test', (t) => writes.push(t))
    log.info('one')
    log.info('two')
    expect(writes).toEqual([])
    await nextTurn()
    expect(writes).toHaveLength(1)
    const lines = (writes[0] as string).split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((l) => l.replace(SHAPE, ''))).toEqual(['one', 'two'])
    for (const l of lines) expect(l).toMatch(SHAPE)
    await nextTurn()
    expect(writes).toHaveLength(1)
  })

  it('writes a warning or an error at once, after the info lines before it', () => {
    const writes: string[] = []
    const log = consoleLogger('test', (t) => writes.push(t))
    log.info('before')
    log.error('broken')
    expect(writes).toHaveLength(1)
    expect(
      (writes[0] as string)
        .split('\n')
        .slice(0, -1)
        .map((l) => l.replace(SHAPE, '')),
    ).toEqual(['before', 'broken'])
    log.warn('careful')
    expect(writes).toHaveLength(2)
    expect(writes[1]).toMatch(/ test warn careful\n$/)
  })

  it('escapes control characters, so a message is always one line', async () => {
    const writes: string[] = []
    const log = consoleLogger('test', (t) => writes.push(t))
    log.info('a\nfake line\r\u2028x')
    await nextTurn()
    expect(writes.join('').split('\n')).toHaveLength(2)
    expect(writes.join('')).toContain('a\\nfake line\\r\\u2028x')
  })
})
