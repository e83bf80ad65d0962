// The run queue: bounded, in order, and one start per turn of the event loop
// so a burst of approvals leaves room for the check-ins that arrive meanwhile.
import { describe, expect, it } from 'vitest'
import { JobQueue } from '../../main/core/jobs/queue'

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('the job queue', () => {
  it('starts jobs in order, never more than its concurrency at once', async () => {
    const q = new JobQueue(3, (err) => {
      throw err
    })
    const started: number[] = []
    let running = 0
    let most = 0
    const releases: Array<() => void> = []
    for (let i = 0; i < 10; i++) {
      q.push(async () => {
        started.push(i)
        running++
        most = Math.max(most, running)
        await new Promise<void>((resolve) => releases.push(resolve))
        running--
      })
    }
    for (let i = 0; i < 5; i++) await turn()
    // Three started; the rest wait for room, however many turns go by.
    expect(started).toEqual([0, 1, 2])
    while (started.length < 10 || releases.length > 0) {
      releases.shift()?.()
      for (let i = 0; i < 3; i++) await turn()
    }
    await q.idle()
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(most).toBe(3)
  })

  it('starts one job per turn, so I/O that arrives in between is served in between', async () => {
    const q = new JobQueue(100, (err) => {
      throw err
    })
    const events: string[] = []
    for (let i = 0; i < 5; i++) {
      q.push(async () => {
        events.push(`job ${i}`)
        await new Promise<void>((resolve) => setTimeout(resolve, 5))
      })
    }
    // The first starts at once: a single approval is not delayed.
    expect(events).toEqual(['job 0'])
    // Something else that was waiting gets its turn before the burst is over.
    setImmediate(() => events.push('a check-in'))
    await q.idle()
    expect(events.indexOf('a check-in')).toBeGreaterThan(0)
    expect(events.indexOf('a check-in')).toBeLessThan(events.indexOf('job 4'))
    expect(events.filter((e) => e.startsWith('job'))).toHaveLength(5)
  })

  it('swallows a job that throws, and goes on with the next', async () => {
    const errors: unknown[] = []
    const q = new JobQueue(1, (err) => errors.push(err))
    const done: number[] = []
    q.push(() => Promise.reject(new Error('a bug')))
    q.push(() => {
      done.push(2)
      return Promise.resolve()
    })
    await q.idle()
    expect(done).toEqual([2])
    expect(errors).toHaveLength(1)
  })
})
