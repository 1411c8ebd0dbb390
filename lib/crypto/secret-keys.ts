import { hkdfSync } from 'node:crypto';

/** The minimum length of the module `secret`, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** One key per purpose, derived from the module secret, so no two features ever share a key. */
export function deriveKey(secret: string, purpose: 'queue-payload' | 'token-hmac' | 'token-record' | 'credential' | 'rate-limit-key' | 'suppression-key' | 'suppression-address' | 'failure-address' | 'message-refs' | 'delivery-log' | 'delivery-log-key'): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `nestjs-email-workflow/${purpose}`, 32));
}
