import { OptionsResolution, resolveUnless } from '../errors/options.resolution';
import type { RateLimitRule } from './rate-limiter';
import type { TokenPurpose, TokenStore } from './token.types';

/** Lifetimes of the single-use tokens behind the links, in seconds. */
export interface TokenOptions {
  /** @default 86400 (24 hours) */
  verifyEmailTtl?: number;
  /** @default 3600 (1 hour) */
  resetPasswordTtl?: number;
  /**
   * Milliseconds a redemption's claim on its token lasts without renewal. A running redemption renews
   * it (every third of the window) for as long as its action runs, however long that is; only the
   * claim of a process that died mid-redemption lapses, and the token is then usable again after the
   * window, timed by the store's clock (Redis `TIME` with the Redis store). Keep it well above a Redis
   * round trip. A whole number of 100 or more.
   * @default 60000 (60 s)
   */
  claimWindow?: number;
  /** Where token hashes live. Default: Redis with a Redis queue, process memory otherwise. */
  store?: TokenStore;
}

/**
 * Limits on requests that send email to an address someone typed in. Addresses are counted trimmed,
 * NFKC-normalised and lower-cased; once the directory has found the account, the account's own budget
 * (the same rule, keyed by user id) is charged too, so every spelling the directory resolves to one
 * account shares one limit. IPs count IPv4-mapped IPv6 as IPv4, and IPv6 by /64.
 */
export interface RateLimitOptions {
  /** @default { limit: 5, windowSeconds: 3600 } */
  passwordResetPerAddress?: RateLimitRule;
  /** @default { limit: 20, windowSeconds: 3600 } */
  passwordResetPerIp?: RateLimitRule;
  /** Re-sent verification emails per address. @default { limit: 5, windowSeconds: 3600 } */
  verificationPerAddress?: RateLimitRule;
  /**
   * `startEmailVerification` calls per address; over it the call throws RateLimitedError and sends nothing.
   * @default { limit: 5, windowSeconds: 3600 }
   */
  verificationStartPerAddress?: RateLimitRule;
}

/** The module options the tokens concern owns. */
export interface TokenModuleOptions {
  tokens?: TokenOptions;
  rateLimits?: RateLimitOptions;
}

/** Token lifetimes, the custom store if any, and the rate limits, defaults applied. */
export interface TokenSettings {
  /** Seconds a token of each purpose stays usable. */
  ttlSeconds: Record<TokenPurpose, number>;
  /** Milliseconds a redemption's claim lasts without renewal (`tokens.claimWindow`). */
  claimWindowMs: number;
  /** The app's own store; without one the module picks Redis or memory, like the queue. */
  store?: TokenStore;
  rateLimits: Required<RateLimitOptions>;
}

/** `tokens.claimWindow` when unset. */
export const DEFAULT_CLAIM_WINDOW_MS = 60_000;

/** Injection token of the resolved `TokenSettings`. */
export const TOKEN_SETTINGS = 'EMAIL_WORKFLOW:TOKEN_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see errors/options.validator.ts).
function validation(): typeof import('./token.options-validation') {
  return require('./token.options-validation') as typeof import('./token.options-validation');
}

/** Checks `tokens` and `rateLimits`, and applies their defaults. */
export function resolveTokenOptions({ tokens, rateLimits }: TokenModuleOptions): OptionsResolution<TokenSettings> {
  return resolveUnless(validation().tokenOptionsProblems(tokens, rateLimits), () => ({
    ttlSeconds: {
      'verify-email': tokens?.verifyEmailTtl ?? 86_400,
      'reset-password': tokens?.resetPasswordTtl ?? 3_600,
    },
    claimWindowMs: tokens?.claimWindow ?? DEFAULT_CLAIM_WINDOW_MS,
    store: tokens?.store,
    rateLimits: {
      passwordResetPerAddress: rateLimits?.passwordResetPerAddress ?? { limit: 5, windowSeconds: 3_600 },
      passwordResetPerIp: rateLimits?.passwordResetPerIp ?? { limit: 20, windowSeconds: 3_600 },
      verificationPerAddress: rateLimits?.verificationPerAddress ?? { limit: 5, windowSeconds: 3_600 },
      verificationStartPerAddress: rateLimits?.verificationStartPerAddress ?? { limit: 5, windowSeconds: 3_600 },
    },
  }));
}
