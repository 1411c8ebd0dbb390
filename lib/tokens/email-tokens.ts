import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidTokenError } from '../errors';
import { DEFAULT_CLAIM_WINDOW_MS } from './token.options';
import type { TokenPurpose, TokenRecord, TokenStore } from './token.types';

const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const CLAIM_ID_BYTES = 16;

interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** The token's record, once it has passed every check. */
export type RedeemableToken = TokenRecord & { hash: string };

/** The fields of a record its MAC covers; `state` is not, as the store changes it. */
function macInput(hash: string, { userId, email, purpose, expiresAt }: TokenRecord): string {
  return JSON.stringify([hash, userId, email, purpose, expiresAt]);
}

/**
 * Single-use expiring tokens: 32 CSPRNG bytes, base64url, stored only as HMAC-SHA256 under a key
 * derived from the module secret. A leaked store holds nothing a link can be made from, nor the
 * address (only its keyed hash); a record edited by someone without the secret fails its MAC.
 */
export class EmailTokens {
  constructor(
    private readonly store: TokenStore,
    private readonly hmacKey: Buffer,
    private readonly ttlSeconds: Record<TokenPurpose, number>,
    private readonly claimWindowMs = DEFAULT_CLAIM_WINDOW_MS,
    /** Keys the record MAC and the address hash (the module derives it apart from the token key). */
    private readonly recordKey: Buffer = hmacKey,
  ) {}

  async issue(user: { id: string; email: string }, purpose: TokenPurpose): Promise<IssuedToken> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const expiresAt = Date.now() + this.ttlSeconds[purpose] * 1000;
    const hash = this.hash(token);
    const record: TokenRecord = { userId: user.id, purpose, email: this.addressHash(user.email), expiresAt, state: 'active' };
    await this.store.save(hash, { ...record, mac: this.mac(hash, record) });
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Whether the record was issued to `address` (compared as keyed hashes, trimmed and lower-cased). */
  issuedTo(record: TokenRecord, address: string): boolean {
    return equal(record.email, this.addressHash(address));
  }

  private addressHash(address: string): string {
    return createHmac('sha256', this.recordKey).update(`address:${address.trim().toLowerCase()}`).digest('base64url');
  }

  private mac(hash: string, record: TokenRecord): string {
    return createHmac('sha256', this.recordKey).update(`record:${macInput(hash, record)}`).digest('base64url');
  }

  /** A token's HMAC, also computed for tokens that do not exist, so both paths cost the same. */
  hash(token: string): string {
    return createHmac('sha256', this.hmacKey).update(token).digest('base64url');
  }

  /** Checks a token without using it up. */
  async inspect(token: string, purpose: TokenPurpose): Promise<RedeemableToken> {
    const hash = this.hash(token);
    const record = TOKEN_SHAPE.test(token) ? await this.store.find(hash) : undefined;
    // Edited in the store by someone without the secret (another user's id, say): as good as absent.
    if (!record || !equal(record.mac, this.mac(hash, record))) throw new InvalidTokenError('unknown');
    if (record.purpose !== purpose) throw new InvalidTokenError('wrong-purpose');
    if (record.state === 'used') throw new InvalidTokenError('used');
    if (record.state === 'revoked' || record.expiresAt <= Date.now()) throw new InvalidTokenError('expired');
    return { ...record, hash };
  }

  /**
   * Runs `action` while holding the token, atomically across processes. The token is used up only
   * if the action succeeds, and the user's other tokens of that purpose are voided in the same step;
   * if it throws, the token stays valid. While one of a user's tokens is being redeemed, their other
   * tokens of that purpose are refused as used, so of two links redeemed at once one wins.
   */
  async redeem<T>(token: string, purpose: TokenPurpose, action: (record: RedeemableToken) => Promise<T>): Promise<T> {
    const record = await this.inspect(token, purpose);
    const claimId = randomBytes(CLAIM_ID_BYTES).toString('base64url');
    const outcome = await this.store.claim(record.hash, claimId, this.claimWindowMs);
    if (outcome === 'unknown') throw new InvalidTokenError('unknown');
    if (outcome === 'used' || outcome === 'busy') throw new InvalidTokenError('used');
    if (outcome === 'revoked') throw new InvalidTokenError('expired');
    let result: T;
    const renewal = this.keepClaimed(record.hash, claimId);
    try {
      result = await action(record);
    } catch (error) {
      clearInterval(renewal);
      await this.store.release(record.hash, claimId);
      throw error;
    }
    clearInterval(renewal);
    await this.store.markUsed(record.hash, claimId);
    return result;
  }

  /**
   * Renews the claim three times per window, so it lapses only when this process stops renewing it
   * (it died). A failed renewal is not an error of the redemption: the next one, a third of a window
   * later, still keeps the claim live.
   */
  private keepClaimed(hash: string, claimId: string): NodeJS.Timeout {
    const timer = setInterval(() => void this.store.renew(hash, claimId).catch(() => undefined), Math.floor(this.claimWindowMs / 3));
    // Renewal alone must not keep the process alive; the action's own work does, while it runs.
    timer.unref();
    return timer;
  }

  /** Revokes the user's active tokens of `purpose` but the one hashed `hash`: a new link voids the earlier ones. */
  revokeOthers(record: Pick<RedeemableToken, 'userId' | 'purpose' | 'hash'>): Promise<void> {
    return this.store.revokeOthers(record.userId, record.purpose, record.hash);
  }
}

function equal(a: string | undefined, b: string): boolean {
  return a !== undefined && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
