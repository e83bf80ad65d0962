import type { SafeStorage } from 'electron'
import { KEYCHAIN_TAG, LocalKeySecretBox, type SecretBox } from '../core/secrets'

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
  if (weak) return local
  return {
    kind: 'OS keychain',
    seal: (plain) => Buffer.concat([KEYCHAIN_TAG, safeStorage.encryptString(plain)]),
    open: (sealed) =>
      sealed.subarray(0, 2).equals(KEYCHAIN_TAG)
        ? safeStorage.decryptString(sealed.subarray(2))
        : local.open(sealed),
  }
}
