import { createHash } from 'node:crypto';

/** A job id from the caller's key: hashed, so the key (often an email or user id) never shows in Redis keys. */
export function jobIdFor(idempotencyKey: string): string {
  return `idem-${createHash('sha256').update(idempotencyKey).digest('base64url')}`;
}
