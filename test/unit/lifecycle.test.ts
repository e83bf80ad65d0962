// The lifecycle table, exhaustively: every move it lists succeeds through the
// store's one transition operation, and every move it does not list is
// refused there, changing nothing and auditing nothing.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HostState, STATE_INFO } from '../../main/contract/lifecycle'
import { canMove, IllegalTransition, TRANSITIONS } from '../../main/core/lifecycle/table'
import { Store } from '../../main/core/store'

let dir: string
let store: Store
let hostId: number

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-lifecycle-'))
  store = Store.open(join(dir, 'midwife.db'))
  hostId = store.hosts.insertDefinition(
    {
      hostname: 'esx01',
      domain: 'lab.local',
      mac: '00:50:56:b3:b9:89',
      serial: null,
      spec: {},
      sshUser: 'root',
      sshPort: 22,
    },
    { rootPassword: null, token: null },
    'hash',
  )
})
afterAll(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Puts the host in `state` without the table (test setup only). */
function force(state: HostState) {
  store.hosts.setState(hostId, state, 'test setup')
}

const states = HostState.options
const pairs = states.flatMap((from) => states.map((to) => [from, to] as const))

describe('the lifecycle table', () => {
  it('names every state once, each with a label and a severity', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...states].sort())
    for (const s of states) {
      expect(STATE_INFO[s].label).not.toBe('')
      expect(['idle', 'busy', 'ok', 'warn', 'error']).toContain(STATE_INFO[s].severity)
      for (const to of TRANSITIONS[s]) expect(states).toContain(to)
    }
  })

  it('lets every state be left, and never moves a state onto itself', () => {
    for (const s of states) {
      expect(TRANSITIONS[s].length, s).toBeGreaterThan(0)
      expect(TRANSITIONS[s], s).not.toContain(s)
    }
  })

  it('makes a run the only way to configured, and approval the only way to a run', () => {
    const into = (to: HostState) => states.filter((s) => canMove(s, to))
    expect(into('configured')).toEqual(['configuring'])
    expect(into('configuring')).toEqual(['approved'])
    expect(into('approved').sort()).toEqual(
      ['configured', 'checked_in', 'failed', 'interrupted'].sort(),
    )
    // A conflict is left only by an operator decision, never straight to a run.
    expect(TRANSITIONS.needs_attention).not.toContain('approved')
    expect(TRANSITIONS.discovered).not.toContain('approved')
  })

  it.each(pairs)('%s -> %s is allowed exactly when the table lists it', (from, to) => {
    force(from)
    const auditBefore = store.events.about(`host:${hostId}`).length
    if (TRANSITIONS[from].includes(to)) {
      store.moveHost(hostId, to, `test: ${from} to ${to}`)
      expect(store.hosts.get(hostId)?.state).toBe(to)
      const last = store.events.about(`host:${hostId}`).at(-1)
      expect(last?.data).toEqual({ from, to, reason: `test: ${from} to ${to}` })
    } else {
      expect(() => store.moveHost(hostId, to, 'not allowed')).toThrow(IllegalTransition)
      expect(store.hosts.get(hostId)?.state).toBe(from)
      expect(store.hosts.get(hostId)?.stateReason).toBe('test setup')
      expect(store.events.about(`host:${hostId}`)).toHaveLength(auditBefore)
    }
  })
})
