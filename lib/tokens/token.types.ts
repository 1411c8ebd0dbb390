/** What a token is for. A token of one purpose is refused for every other. */
export type TokenPurpose = 'verify-email' | 'reset-password' | 'sign-in' | 'confirm-email-change' | 'revert-email-change';

/** `active` → `claimed` (being redeemed) → `used`; `revoked` when a password reset voids its siblings. */
export type TokenState = 'active' | 'claimed' | 'used' | 'revoked';

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
}

export type ClaimOutcome = 'claimed' | 'unknown' | 'busy' | 'used' | 'revoked';

/**
 * Storage of token hashes. Implementations must make `claim` and `markUsed` atomic across every
 * process that shares the store: a token is redeemed at most once, and of a user's tokens of one
 * purpose at most one is redeemed (redeeming one voids the others in the same step).
 * A claim is held by its `claimId`; it lapses `windowMs` after its last `claim` or `renew` as the
 * store's own clock tells (Redis `TIME` for Redis), so only a crashed redemption's claim lapses.
 */
export interface TokenStore {
  save(hash: string, record: TokenRecord): Promise<void>;
  find(hash: string): Promise<TokenRecord | undefined>;
  /**
   * Moves an active token (or one whose claim has lapsed) to `claimed` under `claimId`. 'busy' while
   * the token or another token of its user and purpose holds a live claim.
   */
  claim(hash: string, claimId: string, windowMs: number): Promise<ClaimOutcome>;
  /** Restarts the window of the claim held by `claimId`; false when that claim is no longer held. */
  renew(hash: string, claimId: string): Promise<boolean>;
  /** `claimed` → `used`, and the user's other tokens of that purpose revoked, in one atomic step. */
  markUsed(hash: string, claimId: string): Promise<void>;
  /** `claimed` → `active`, when the action behind the token failed. */
  release(hash: string, claimId: string): Promise<void>;
  /** Revokes every active token of that user and purpose except `keepHash`. */
  revokeOthers(userId: string, purpose: TokenPurpose, keepHash: string): Promise<void>;
  /**
   * Revokes every active token of that user with one of `purposes`, except those hashed as in
   * `keepHashes`; with `claimed`, also those being redeemed right now (their redemption then sees
   * its claim lost: `renew` answers false), in the same atomic step.
   */
  revokeAll(userId: string, purposes: readonly TokenPurpose[], keepHashes: readonly string[], options?: { claimed?: boolean }): Promise<void>;
}

export const EMAIL_TOKEN_STORE = 'EMAIL_WORKFLOW:TOKEN_STORE';
