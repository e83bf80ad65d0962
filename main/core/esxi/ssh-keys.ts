import { hash } from 'node:crypto'

/** OpenSSH's fingerprint form: SHA256:<base64 of sha256(key blob), unpadded>. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${hash('sha256', blob, 'base64').replace(/=+$/, '')}`
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
  const parts = line.trim().split(/\s+/)
  const type = parts[0]
  const b64 = parts[1]
  if (!type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new Error('not an OpenSSH public key line ("<type> <base64> [comment]")')
  }
  const blob = Buffer.from(b64, 'base64')
  // A key blob is a run of length-prefixed fields that uses up every byte;
  // anything cut short or padded out is not the key the host has.
  const fields: Buffer[] = []
  let at = 0
  while (at < blob.length) {
    if (at + 4 > blob.length) throw new Error('public key data is truncated')
    const len = blob.readUInt32BE(at)
    if (at + 4 + len > blob.length) throw new Error('public key data is truncated')
    fields.push(blob.subarray(at + 4, at + 4 + len))
    at += 4 + len
  }
  const inner = fields[0]?.toString('latin1')
  if (fields.length < 2 || inner === undefined) throw new Error('public key data is corrupt')
  if (inner !== type) throw new Error(`public key says "${type}" but its data is "${inner}"`)
  return { type, blob, fingerprint: fingerprint(blob) }
}
