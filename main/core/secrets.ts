import { createCipheriv, createDecipheriv, hash, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'

/**
 * Seals secrets (root passwords, deployment tokens) before they reach SQLite.
 * The desktop app backs this with the OS keychain (Electron safeStorage); plain
 * Node has no keychain, so serve mode uses a key file beside the database.
 */
export interface SecretBox {
  /** Shown to the operator: where the sealing key lives. */
  readonly kind: string
  seal(plain: string): Buffer
  open(sealed: Buffer): string
}

const LOCAL_TAG = Buffer.from('L1')
/** What the desktop app's keychain box prefixes; see main/electron/secret-box.ts. */
export const KEYCHAIN_TAG = Buffer.from('K1')

/**
 * AES-256-GCM with a random key in `<data-dir>/secret.key` (mode 0600). A copied
 * database alone reveals nothing; a copied data folder does, which is why the
 * desktop app prefers the keychain.
 */
export class LocalKeySecretBox implements SecretBox {
  readonly kind = 'local key file (no OS keychain in this mode)'
  private readonly key: Buffer

  constructor(keyFile: string) {
    if (!existsSync(keyFile)) {
      writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' })
    }
    this.key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')
    if (this.key.length !== 32) throw new Error(`${keyFile} does not hold a 256-bit key`)
  }

  seal(plain: string): Buffer {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return Buffer.concat([LOCAL_TAG, iv, cipher.getAuthTag(), body])
  }

  open(sealed: Buffer): string {
    if (sealed.subarray(0, 2).equals(KEYCHAIN_TAG)) {
      throw new Error(
        'this secret was sealed by the desktop keychain; open Midwife as the desktop app or enter it again',
      )
    }
    const unreadable = new Error(
      'a stored secret cannot be opened with this data folder’s key; enter it again',
    )
    if (!sealed.subarray(0, 2).equals(LOCAL_TAG) || sealed.length < 30) throw unreadable
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(2, 14))
      decipher.setAuthTag(sealed.subarray(14, 30))
      return Buffer.concat([decipher.update(sealed.subarray(30)), decipher.final()]).toString(
        'utf8',
      )
    } catch {
      throw unreadable
    }
  }
}

/** Deployment tokens: 256 random bits, URL-safe, and looked up by hash only. */
export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function tokenHash(token: string): string {
  return hash('sha256', token, 'hex')
}

export function sameSecret(a: string, b: string): boolean {
  const ha = hash('sha256', a, 'buffer')
  const hb = hash('sha256', b, 'buffer')
  return timingSafeEqual(ha, hb)
}
