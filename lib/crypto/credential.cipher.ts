import { PayloadCipher } from './payload.cipher';
import { deriveKey } from './secret-keys';

const ENCRYPTED_CREDENTIAL_PREFIX = 'enc:v1:';
export const CREDENTIAL_KEY_ENV = 'EMAIL_WORKFLOW_SECRET_KEY';

function cipherFor(key: string): PayloadCipher {
  return new PayloadCipher(deriveKey(key, 'credential'), ENCRYPTED_CREDENTIAL_PREFIX);
}

export function isEncryptedCredential(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENCRYPTED_CREDENTIAL_PREFIX);
}

/** Encrypts an SMTP password under the current key: `enc:v1:<iv>.<tag>.<ciphertext>`. */
export function encryptCredential(plain: string, key: string): string {
  return cipherFor(key).seal(plain);
}

/**
 * Decrypts with the first key that opens it, so old keys can be listed after a rotation.
 * Returns undefined for a tampered value or one sealed under none of the keys.
 */
export function decryptCredential(sealed: string, keys: string[]): string | undefined {
  for (const key of keys) {
    try {
      return cipherFor(key).open<string>(sealed);
    } catch {
      continue;
    }
  }
  return undefined;
}

/** Keys from the option, else from EMAIL_WORKFLOW_SECRET_KEY (comma-separated: current first, then old ones). */
export function credentialKeysFrom(option: string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (option && option.length > 0) return option;
  return (env[CREDENTIAL_KEY_ENV] ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
}
