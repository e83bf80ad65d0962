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
  /** Throws SecretUnreadable for a blob this box cannot open. */
  open(sealed: Buffer): string
  /**
   * A key file was made at this start because there was none: whatever an
   * earlier key sealed (the file was lost, or the database copied without
   * it) cannot be opened.
   */
  readonly madeKey?: boolean
}

/**
 * A sealed secret this box cannot open: why, and how to get the key back. Its
 * message is the generic one; openNamed() names the secret and its own fix.
 */
export class SecretUnreadable extends Error {
  constructor(
    /** Why, e.g. "it was sealed with another key than …". */
    readonly reason: string,
    /** How to get the key it was sealed with back, e.g. "put … back and restart Midwife". */
    readonly remedy: string,
    message = `a stored secret cannot be opened: ${reason}. ${remedy}, or enter it again`,
  ) {
    super(message)
  }
}

/** What else the operator can do, per kind of secret, when its key is gone (for openNamed). */
export const OTHERWISE = {
  rootPassword: 'enter it again under Hosts, Edit',
  siteSecret: 'enter it again under Site',
  token: 'use Reinstall on the Hosts step to give the host a new token',
  enrollmentKey: 'make a new key under Site (boot lines with the old one stop working)',
  setting: 'enter it again where it is set (Profile, or the host under Hosts, Edit)',
} as const

/**
 * Opens a sealed secret; if it cannot be opened, the error names it (`what`)
 * and what else the operator can do (`otherwise`), beside how to get the key
 * back: "the root password of esx01 cannot be opened: …; put … back and
 * restart Midwife, or enter it again under Hosts, Edit".
 */
export function openNamed(box: SecretBox, sealed: Buffer, what: string, otherwise: string): string {
  try {
    return box.open(sealed)
  } catch (err) {
    if (!(err instanceof SecretUnreadable)) throw err
    throw new SecretUnreadable(
      err.reason,
      err.remedy,
      `${what} cannot be opened: ${err.reason}. ${err.remedy}, or ${otherwise}`,
    )
  }
}

const LOCAL_TAG = Buffer.from('L1')

/** Whether a blob was sealed with a key file (not the keychain): one a lost secret.key took. */
export function sealedWithKeyFile(sealed: Buffer): boolean {
  return sealed.subarray(0, 2).equals(LOCAL_TAG)
}
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
  readonly madeKey: boolean

  constructor(private readonly keyFile: string) {
    this.madeKey = !existsSync(keyFile)
    if (this.madeKey) {
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
      throw new SecretUnreadable(
        'it was sealed by the desktop app’s OS keychain',
        'Open Midwife as the desktop app',
      )
    }
    const unreadable = new SecretUnreadable(
      `it was sealed with another key than this data folder’s ${this.keyFile}`,
      'Put the secret.key it was sealed with back in its place and restart Midwife',
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
