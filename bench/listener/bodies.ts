// Check-in bodies as checkin.sh builds them (the fixture outputs of ESXi
// 8.0.2), one host per token, each request unique so nothing is counted as a
// repeat: the benchmark measures storing a new check-in every time.
import { checkinBody } from '../../test/fixtures/esxi-outputs'

export const HOSTS = 200

export function macOf(i: number): string {
  return `00:50:56:b3:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`
}

/** A body template per host; NONCE is replaced per request. */
export function templates(tokens: string[]): string[] {
  return tokens.map((token, i) => {
    const body = checkinBody(token) as { outputs: Record<string, string> }
    body.outputs.nicList = (body.outputs.nicList ?? '').replace('00:50:56:b3:b9:89', macOf(i))
    body.outputs.hostname = `${body.outputs.hostname}\n   Uptime: NONCE`
    return JSON.stringify(body)
  })
}
