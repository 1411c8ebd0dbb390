/** What a token is for. A token of one purpose is refused for every other. */
export type TokenPurpose = 'verify-email' | 'reset-password' | 'sign-in' | 'confirm-email-change' | 'revert-email-change';

/**
 * `active` → `claimed` (being redeemed; lapses if its process dies) → `applying` (committed: the app's
 * callback runs; never lapses, refused like `used`) → `used`; `revoked` when a newer token or a
 * redemption voids it.
 */
export type TokenState = 'active' | 'claimed' | 'applying' | 'used' | 'revoked';

/** What the store keeps for a token: never the token itself, only its HMAC (the key). */
export interface TokenRecord {
  userId: string;
  purpose: TokenPurpose;
  /**
   * The address the token was sent to, as EmailTokens stores it: a keyed hash (HMAC under a key from
   * `secret`), never the address. A changed address voids the token.
   */
  email: string;
  /** Epoch ms. */
  expiresAt: number;
  state: TokenState;
  /**
   * HMAC (under a key from `secret`) of the token hash, user id, address hash, purpose and expiry,
   * set by EmailTokens. A store must keep it and give it back: a record without a matching MAC is unknown.
   */
  mac?: string;
  /**
   * A short value sealed with the token (AES-256-GCM under a key from `secret`, bound to the token
   * hash), e.g. the address an email change moves to; covered by the MAC. A store must keep it like `mac`.
   */
  sealed?: string;
  /**
   * The request's place among the user's tokens of this purpose (`nextGeneration`): a newer request
   * voids only older ones, whatever order their emails are queued in. Covered by the MAC.
   */
  generation?: number;
}

export type ClaimOutcome = 'claimed' | 'unknown' | 'busy' | 'used' | 'revoked';

/**
 * Storage of token hashes and code try counters. Implementations must make `claim`, `commit` and
 * `revokeAll` atomic across every process that shares the store: a token is redeemed at most once,
 * and of a user's tokens of one purpose at most one is redeemed (committing one voids the others in
 * the same step, unless `keepSiblings`). A claim is held by its `claimId`; it lapses `windowMs` after
 * its last `claim` or `renew` as the store's own clock tells (Redis `TIME` for Redis), so only a
 * crashed redemption's claim lapses. A committed (`applying`) token never lapses.
 */
export interface TokenStore {
  /** Saves a record; a hash already stored is overwritten. */
  save(hash: string, record: TokenRecord): Promise<void>;
  find(hash: string): Promise<TokenRecord | undefined>;
  /** Every record of that user and purpose still kept, with its hash (for the chain of email changes). */
  findAll(userId: string, purpose: TokenPurpose): Promise<Array<{ hash: string; record: TokenRecord }>>;
  /** A number larger than every one given before for that user and purpose (atomic, shared). */
  nextGeneration(userId: string, purpose: TokenPurpose): Promise<number>;
  /**
   * Moves an active token (or one whose claim has lapsed) to `claimed` under `claimId`. 'busy' while
   * the token or another token of its user and purpose holds a live claim.
   */
  claim(hash: string, claimId: string, windowMs: number): Promise<ClaimOutcome>;
  /** Restarts the window of the claim held by `claimId`; false when that claim (claimed or applying) is no longer held. */
  renew(hash: string, claimId: string): Promise<boolean>;
  /**
   * `claimed` → `applying` under `claimId`, and (unless `keepSiblings`) the user's other active or
   * claimed tokens of that purpose revoked, marked as revoked by this claim, in one atomic step.
   * False when the claim is no longer held (revoked meanwhile).
   */
  commit(hash: string, claimId: string, options?: { keepSiblings?: boolean }): Promise<boolean>;
  /** `applying` → `used`: the app's callback succeeded. */
  markUsed(hash: string, claimId: string): Promise<void>;
  /**
   * Undoes `claim` or `commit` of `claimId` when the action behind it failed: the token and the
   * siblings its commit revoked become active again; revoked instead when a newer request superseded it.
   */
  release(hash: string, claimId: string): Promise<void>;
  /**
   * Revokes every active token of that user with one of `purposes`, except those hashed as in
   * `keepHashes`; with `claimed`, also those being redeemed right now (their redemption then sees
   * its claim lost: `renew` answers false); with `olderThan`, only tokens of a lower generation (those
   * being redeemed are then marked superseded, so a failed redemption revokes rather than frees them).
   */
  revokeAll(userId: string, purposes: readonly TokenPurpose[], keepHashes: readonly string[], options?: { claimed?: boolean; olderThan?: number }): Promise<void>;
  /** A code try counter's value, or undefined when there is none. */
  readCounter(key: string): Promise<string | undefined>;
  /**
   * Sets a counter to `value` for `ttlMs`; with `expected` (a value, or null for none), only if it
   * still holds that: false otherwise, and nothing changes.
   */
  writeCounter(key: string, value: string, ttlMs: number, expected?: string | null): Promise<boolean>;
}

export const EMAIL_TOKEN_STORE = 'EMAIL_WORKFLOW:TOKEN_STORE';
