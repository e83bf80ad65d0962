// What a check-in keeps of its body: the body as received, with every
// credential masked wherever it appears.
import { describe, expect, it } from 'vitest'
import { storablePayload } from '../../main/core/listener/checkin'

const token = 'Tok3n-of-the-host_0123456789abcdef0123456'
const other = 'another-hosts-token_ABCDEFGHIJKLMNOPQRSTU'

describe('storablePayload', () => {
  it('masks the credential everywhere, and other tokens in listener URLs', () => {
    const raw = JSON.stringify({
      token,
      outputs: {
        bootCmdLine: `ks=http://10.0.0.5:8080/ks/${token}.cfg x=/c/${other}.sh y=/ks/discover/${other}.cfg PBKEY=enrol-secret-1 z=/c/readme`,
      },
    })
    const kept = storablePayload(raw, { kind: 'token', value: token })
    expect(kept).not.toContain(token)
    expect(kept).not.toContain(other)
    expect(kept).not.toContain('enrol-secret-1')
    expect(kept).toContain('/ks/***.cfg')
    expect(kept).toContain('/c/***.sh')
    expect(kept).toContain('/ks/discover/***.cfg')
    expect(kept).toContain('PBKEY=***')
    // What is not a token stays as reported.
    expect(kept).toContain('z=/c/readme')
  })

  it('masks the credential in any letter case', () => {
    const raw = JSON.stringify({ enrollment: token, outputs: { echo: token.toUpperCase() } })
    const kept = storablePayload(raw, { kind: 'enrollment', value: token })
    expect(kept).toBe(JSON.stringify({ enrollment: '***', outputs: { echo: '***' } }))
  })

  it('leaves a body with no credential in it as it was', () => {
    const raw = '{"enrollment":"x","outputs":{"nicList":"vmnic0 /c/ path"}}'
    expect(storablePayload(raw, { kind: 'enrollment', value: 'not-in-the-body-at-all' })).toBe(raw)
  })
})
