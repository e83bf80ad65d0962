// Run in a process of its own (heap.test.ts): whether V8 still allocates a
// literal young after most of its objects have outlived scavenges. Prints
// {"young": n, "of": 100}. With argument "tuned", the listener's heap tuning
// runs first.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { tuneHeapForListener } from '../../main/core/heap'

if (process.argv[2] === 'tuned') tuneHeapForListener()
setFlagsFromString('--expose-gc')
setFlagsFromString('--allow-natives-syntax')
const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- V8's own test hook, only here
const inYoungGeneration = new Function('o', 'return %InYoungGeneration(o)') as (
  o: unknown,
) => boolean

const make = (i: number) => ({ i, name: `host-${i}` })
const kept: unknown[] = []
for (let round = 0; round < 20; round++) {
  for (let i = 0; i < 20_000; i++) kept.push(make(i))
  gc({ type: 'minor' })
}
let young = 0
for (let i = 0; i < 100; i++) if (inYoungGeneration(make(i))) young++
process.stdout.write(`${JSON.stringify({ young, of: 100, kept: kept.length })}\n`)
