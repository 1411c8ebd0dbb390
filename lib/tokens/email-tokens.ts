import { createHmac, randomBytes } from 'node:crypto';
import { InvalidTokenError } from '../errors';
import type { TokenPurpose, TokenRecord, TokenStore } from './token.types';

const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** A claim older than this is from a process that died mid-redemption; the token is usable again. */
const STALE_CLAIM_MS = 60_000;

interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** The token's record, once it has passed every check. */
export type RedeemableToken = TokenRecord & { hash: string };

/**
 * Single-use expiring tokens: 32 CSPRNG bytes, base64url, stored only as HMAC-SHA256 under a key
 * derived from the module secret. A leaked store holds nothing a link can be made from.
 */
export class EmailTokens {
  constructor(
    private readonly store: TokenStore,
    private readonly hmacKey: Buffer,
    private readonly ttlSeconds: Record<TokenPurpose, number>,
  ) {}

  async issue(user: { id: string; email: string }, purpose: TokenPurpose): Promise<IssuedToken> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const expiresAt = Date.now() + this.ttlSeconds[purpose] * 1000;
    await this.store.save(this.hash(token), { userId: user.id, purpose, email: user.email, expiresAt, state: 'active' });
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** A token's HMAC, also computed for tokens that do not exist, so both paths cost the same. */
  hash(token: string): string {
    return createHmac('sha256', this.hmacKey).update(token).digest('base64url');
  }

  /** Checks a token without using it up. */
  async inspect(token: string, purpose: TokenPurpose): Promise<RedeemableToken> {
    const hash = this.hash(token);
    const record = TOKEN_SHAPE.test(token) ? await this.store.find(hash) : undefined;
    if (!record) throw new InvalidTokenError('unknown');
    if (record.purpose !== purpose) throw new InvalidTokenError('wrong-purpose');
    if (record.state === 'used') throw new InvalidTokenError('used');
    if (record.state === 'revoked' || record.expiresAt <= Date.now()) throw new InvalidTokenError('expired');
    return { ...record, hash };
  }

  /**
   * Runs `action` while holding the token, atomically across processes. The token is used up only
   * if the action succeeds; if it throws, the token stays valid.
   */
  async redeem<T>(token: string, purpose: TokenPurpose, action: (record: RedeemableToken) => Promise<T>): Promise<T> {
    const record = await this.inspect(token, purpose);
    const outcome = await this.store.claim(record.hash, Date.now(), STALE_CLAIM_MS);
    if (outcome === 'unknown') throw new InvalidTokenError('unknown');
    if (outcome === 'used' || outcome === 'busy') throw new InvalidTokenError('used');
    if (outcome === 'revoked') throw new InvalidTokenError('expired');
    let result: T;
    try {
      result = await action(record);
    } catch (error) {
      await this.store.release(record.hash);
      throw error;
    }
    await this.store.markUsed(record.hash);
    return result;
  }

  revokeOthers(record: RedeemableToken): Promise<void> {
    return this.store.revokeOthers(record.userId, record.purpose, record.hash);
  }
}
