import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openSpec, sealSpec } from '../../main/core/hosts/spec'
import {
  LocalKeySecretBox,
  newToken,
  openNamed,
  sameSecret,
  SecretUnreadable,
  tokenHash,
} from '../../main/core/secrets'

const otherKey = (file: string) =>
  `a stored secret cannot be opened: it was sealed with another key than this data folder’s ${file}. Put the secret.key it was sealed with back in its place and restart Midwife, or enter it again`

let dir: string
let keyFile: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-secrets-'))
  keyFile = join(dir, 'secret.key')
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('LocalKeySecretBox', () => {
  it('creates secret.key readable by the owner only, holding a 32-byte key', () => {
    const box = new LocalKeySecretBox(keyFile)
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32)
    expect(box.kind).toBe('local key file (no OS keychain in this mode)')
  })

  it('keeps an existing key file as it is', () => {
    new LocalKeySecretBox(keyFile)
    const before = readFileSync(keyFile, 'utf8')
    new LocalKeySecretBox(keyFile)
    expect(readFileSync(keyFile, 'utf8')).toBe(before)
  })

  it('refuses a key file that does not hold 256 bits', () => {
    writeFileSync(keyFile, Buffer.alloc(16).toString('base64'))
    expect(() => new LocalKeySecretBox(keyFile)).toThrow(`${keyFile} does not hold a 256-bit key`)
  })

  it('seals and opens, unicode included, without the plain text in the blob', () => {
    const box = new LocalKeySecretBox(keyFile)
    for (const plain of ['VMware1!', '', 'pässwörd ✓ 日本語 🔑', 'it\'s a "quote"\n']) {
      const sealed = box.seal(plain)
      expect(sealed.subarray(0, 2).toString('latin1')).toBe('L1')
      expect(box.open(sealed)).toBe(plain)
      if (plain !== '') expect(sealed.includes(Buffer.from(plain, 'utf8'))).toBe(false)
    }
  })

  it('seals the same text differently each time', () => {
    const box = new LocalKeySecretBox(keyFile)
    const a = box.seal('same')
    const b = box.seal('same')
    expect(a.equals(b)).toBe(false)
    expect(box.open(a)).toBe('same')
    expect(box.open(b)).toBe('same')
  })

  it('refuses a tampered blob with a clear message', () => {
    const box = new LocalKeySecretBox(keyFile)
    const sealed = box.seal('VMware1!')
    const message = otherKey(keyFile)
    const body = Buffer.from(sealed)
    body[body.length - 1] = (body[body.length - 1] as number) ^ 0x01
    expect(() => box.open(body)).toThrow(message)
    const tag = Buffer.from(sealed)
    tag[20] = (tag[20] as number) ^ 0x80
    expect(() => box.open(tag)).toThrow(message)
    const iv = Buffer.from(sealed)
    iv[2] = (iv[2] as number) ^ 0x01
    expect(() => box.open(iv)).toThrow(message)
  })

  it('refuses a truncated blob with the same clear message', () => {
    const box = new LocalKeySecretBox(keyFile)
    const sealed = box.seal('VMware1!')
    const message = otherKey(keyFile)
    expect(() => box.open(sealed.subarray(0, sealed.length - 1))).toThrow(message)
    expect(() => box.open(sealed.subarray(0, 30))).toThrow(message)
    // Cut inside the auth tag, and inside the IV.
    expect(() => box.open(sealed.subarray(0, 20))).toThrow(message)
    expect(() => box.open(sealed.subarray(0, 2))).toThrow(message)
  })

  it('refuses a blob sealed by the desktop keychain', () => {
    const box = new LocalKeySecretBox(keyFile)
    const keychainBlob = Buffer.concat([Buffer.from('K1'), Buffer.alloc(40, 7)])
    expect(() => box.open(keychainBlob)).toThrow(
      'a stored secret cannot be opened: it was sealed by the desktop app’s OS keychain. Open Midwife as the desktop app, or enter it again',
    )
  })

  it('opens blobs sealed by another instance on the same key file', () => {
    const first = new LocalKeySecretBox(keyFile)
    const sealed = first.seal('shared secret')
    expect(new LocalKeySecretBox(keyFile).open(sealed)).toBe('shared secret')
  })

  it('cannot open blobs sealed with another data folder’s key', () => {
    const other = new LocalKeySecretBox(join(dir, 'other.key'))
    const sealed = other.seal('elsewhere')
    expect(() => new LocalKeySecretBox(keyFile).open(sealed)).toThrow(otherKey(keyFile))
  })

  it('says whether it made its key file at this start', () => {
    expect(new LocalKeySecretBox(keyFile).madeKey).toBe(true)
    expect(new LocalKeySecretBox(keyFile).madeKey).toBe(false)
  })
})

describe('openNamed', () => {
  it('names the secret and the other way out when the key cannot open it', () => {
    const sealed = new LocalKeySecretBox(join(dir, 'other.key')).seal('VMware1!')
    const box = new LocalKeySecretBox(keyFile)
    const open = () =>
      openNamed(box, sealed, 'the root password of esx01', 'enter it again under Hosts')
    expect(open).toThrow(SecretUnreadable)
    expect(open).toThrow(
      `the root password of esx01 cannot be opened: it was sealed with another key than this data folder’s ${keyFile}. Put the secret.key it was sealed with back in its place and restart Midwife, or enter it again under Hosts`,
    )
    expect(openNamed(box, box.seal('VMware1!'), 'x', 'y')).toBe('VMware1!')
  })
})

describe('sealSpec', () => {
  const KEY = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'

  it('keeps a secret given again as it is stored sealed as it was, and seals a new one', () => {
    const box = new LocalKeySecretBox(keyFile)
    const stored = sealSpec(box, { licence: KEY, dns: ['10.0.0.2'] }, {}, [])
    const again = sealSpec(box, { licence: KEY, dns: ['10.0.0.9'] }, stored, [])
    expect(again).toEqual({ licence: stored.licence, dns: ['10.0.0.9'] })
    const other = sealSpec(box, { licence: 'ZZ12C-3DE45-F6G7H-8JK9L-0MN1P' }, stored, [])
    expect(other.licence).not.toEqual(stored.licence)
    expect(openSpec(box, other).licence).toBe('ZZ12C-3DE45-F6G7H-8JK9L-0MN1P')
  })

  it('seals again, without an error, a stored secret this box cannot open', () => {
    const box = new LocalKeySecretBox(keyFile)
    const elsewhere = sealSpec(
      new LocalKeySecretBox(join(dir, 'other.key')),
      { licence: KEY },
      {},
      [],
    )
    const keychain = {
      licence: {
        $sealed: Buffer.concat([Buffer.from('K1'), Buffer.alloc(40, 7)]).toString('base64'),
      },
    }
    for (const previous of [elsewhere, keychain]) {
      const next = sealSpec(box, { licence: KEY }, previous, [])
      expect(next.licence).not.toEqual(previous.licence)
      expect(openSpec(box, next).licence).toBe(KEY)
    }
  })
})

describe('tokens', () => {
  it('newToken gives 43 URL-safe characters (256 bits), different every time', () => {
    const tokens = Array.from({ length: 200 }, () => newToken())
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(new Set(tokens).size).toBe(200)
    expect(Buffer.from(tokens[0] as string, 'base64url')).toHaveLength(32)
  })

  it('tokenHash is the hex SHA-256 of the token, stable across calls', () => {
    expect(tokenHash('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
    const t = newToken()
    expect(tokenHash(t)).toBe(tokenHash(t))
    expect(tokenHash(t)).toMatch(/^[0-9a-f]{64}$/)
    expect(tokenHash(t)).not.toBe(tokenHash(newToken()))
  })

  it('sameSecret compares by value, lengths may differ', () => {
    expect(sameSecret('s3cret', 's3cret')).toBe(true)
    expect(sameSecret('s3cret', 's3creT')).toBe(false)
    expect(sameSecret('s3cret', 's3cret-longer')).toBe(false)
    expect(sameSecret('', '')).toBe(true)
    expect(sameSecret('', 'x')).toBe(false)
  })
})
