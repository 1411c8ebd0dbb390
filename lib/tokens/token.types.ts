/** What a token is for. A token of one purpose is refused for the other. */
export type TokenPurpose = 'verify-email' | 'reset-password';

/** `active` → `claimed` (being redeemed) → `used`; `revoked` when a password reset voids its siblings. */
export type TokenState = 'active' | 'claimed' | 'used' | 'revoked';

/** What the store keeps for a token: never the token itself, only its HMAC (the key). */
export interface TokenRecord {
  userId: string;
  purpose: TokenPurpose;
  /** The address the token was sent to; a changed address voids the token. */
  email: string;
  /** Epoch ms. */
  expiresAt: number;
  state: TokenState;
}

export type ClaimOutcome = 'claimed' | 'unknown' | 'busy' | 'used' | 'revoked';

/**
 * Storage of token hashes. Implementations must make `claim` atomic across every process that
 * shares the store, so a token is redeemed at most once.
 */
export interface TokenStore {
  save(hash: string, record: TokenRecord): Promise<void>;
  find(hash: string): Promise<TokenRecord | undefined>;
  /** Moves an active token (or one whose claim is older than `staleAfterMs`) to `claimed`. */
  claim(hash: string, now: number, staleAfterMs: number): Promise<ClaimOutcome>;
  /** `claimed` → `used`. */
  markUsed(hash: string): Promise<void>;
  /** `claimed` → `active`, when the action behind the token failed. */
  release(hash: string): Promise<void>;
  /** Revokes every active token of that user and purpose except `keepHash`. */
  revokeOthers(userId: string, purpose: TokenPurpose, keepHash: string): Promise<void>;
}

export const EMAIL_TOKEN_STORE = 'EMAIL_WORKFLOW:TOKEN_STORE';
