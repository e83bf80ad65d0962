import { hash } from 'node:crypto'

/** OpenSSH's fingerprint form: SHA256:<base64 of sha256(key blob), unpadded>. */
export function fingerprint(blob: Buffer): string {
  const b64 = hash('sha256', blob, 'base64')
  let end = b64.length
  while (b64.charCodeAt(end - 1) === 61) end-- // '='
  return `SHA256:${b64.slice(0, end)}`
}

export interface PublicKey {
  type: string
  blob: Buffer
  fingerprint: string
}

/**
 * Parses one `.pub` line (`ecdsa-sha2-nistp256 AAAA... comment`). The blob must
 * name the same algorithm as the line, which catches truncated or pasted junk.
 */
export function parsePublicKeyLine(line: string): PublicKey {
  const [type, b64] = words(line)
  if (!type || !b64 || !BASE64.test(b64)) {
    throw new Error('not an OpenSSH public key line ("<type> <base64> [comment]")')
  }
  const blob = Buffer.from(b64, 'base64')
  // A key blob is a run of length-prefixed fields that uses up every byte;
  // anything cut short or padded out is not the key the host has.
  let fields = 0
  let typeEnd = 0
  for (let at = 0; at < blob.length; fields++) {
    if (at + 4 > blob.length) throw new Error('public key data is truncated')
    const end = at + 4 + blob.readUInt32BE(at)
    if (end > blob.length) throw new Error('public key data is truncated')
    if (fields === 0) typeEnd = end
    at = end
  }
  if (fields < 2) throw new Error('public key data is corrupt')
  const inner = blob.toString('latin1', 4, typeEnd)
  if (inner !== type) throw new Error(`public key says "${type}" but its data is "${inner}"`)
  return { type, blob, fingerprint: fingerprint(blob) }
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The first two white-space separated words of a line (a key's type and its base64). */
function words(line: string): [string?, string?] {
  const m = /^\s*(\S+)\s+(\S+)/.exec(line)
  return m ? [m[1], m[2]] : [line.trim() || undefined]
}
