import type { SafeStorage } from 'electron'
import { KEYCHAIN_TAG, LocalKeySecretBox, SecretUnreadable, type SecretBox } from '../core/secrets'

/**
 * Secrets sealed by the OS keychain (Keychain, DPAPI, libsecret/kwallet).
 * Linux without a keyring makes safeStorage fall back to a fixed key
 * ("basic_text"), which is no protection; then the local key file is used and
 * the Status screen says so.
 */
export function keychainSecretBox(safeStorage: SafeStorage, localKeyFile: string): SecretBox {
  const weak =
    !safeStorage.isEncryptionAvailable() ||
    (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text')
  const local = new LocalKeySecretBox(localKeyFile)
  if (weak) {
    // Not "open the desktop app" (the serve-mode wording): this is the desktop app, and what is
    // missing is its keychain, which sealed secrets saved in an earlier session.
    return {
      kind: 'local key file (the OS keychain is not available)',
      madeKey: local.madeKey,
      seal: (plain) => local.seal(plain),
      open: (sealed) => {
        if (sealed.subarray(0, 2).equals(KEYCHAIN_TAG)) {
          throw new SecretUnreadable(
            'it was sealed by the OS keychain, which Midwife cannot reach now',
            'Unlock the keyring (or log in to the desktop session that has it) and restart Midwife',
          )
        }
        return local.open(sealed)
      },
    }
  }
  return {
    kind: 'OS keychain',
    madeKey: local.madeKey,
    seal: (plain) => Buffer.concat([KEYCHAIN_TAG, safeStorage.encryptString(plain)]),
    open: (sealed) => {
      if (!sealed.subarray(0, 2).equals(KEYCHAIN_TAG)) return local.open(sealed)
      try {
        return safeStorage.decryptString(sealed.subarray(2))
      } catch {
        // Another user's or another machine's keychain sealed it (a copied data folder).
        throw new SecretUnreadable(
          'the OS keychain cannot open it: it was sealed by another user’s or machine’s keychain',
          'Open Midwife as the user, on the machine, that saved it',
        )
      }
    },
  }
}
