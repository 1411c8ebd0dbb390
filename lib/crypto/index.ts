export { ENVELOPE_TAG_LENGTH, MessageRefs } from './message-refs';
export { CREDENTIAL_KEY_ENV, credentialKeysFrom, decryptCredential, encryptCredential, isEncryptedCredential } from './credential.cipher';
export { PayloadCipher } from './payload.cipher';
export { CRYPTO_SETTINGS, resolveCryptoOptions } from './crypto.options';
export type { CryptoOptions, CryptoSettings } from './crypto.options';
export { deriveKey } from './secret-keys';
