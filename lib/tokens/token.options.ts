import { OptionsResolution, resolveUnless } from '../errors/options.resolution';
import type { RateLimitRule } from './rate-limiter';
import type { TokenPurpose, TokenStore } from './token.types';

/** Lifetimes of the single-use tokens behind the links, in seconds. */
export interface TokenOptions {
  /** @default 86400 (24 hours) */
  verifyEmailTtl?: number;
  /** @default 3600 (1 hour) */
  resetPasswordTtl?: number;
  /** Where token hashes live. Default: Redis with a Redis queue, process memory otherwise. */
  store?: TokenStore;
}

/** Limits on requests that send email to an address someone typed in. */
export interface RateLimitOptions {
  /** @default { limit: 5, windowSeconds: 3600 } */
  passwordResetPerAddress?: RateLimitRule;
  /** @default { limit: 20, windowSeconds: 3600 } */
  passwordResetPerIp?: RateLimitRule;
  /** Re-sent verification emails per address. @default { limit: 5, windowSeconds: 3600 } */
  verificationPerAddress?: RateLimitRule;
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
  /** The app's own store; without one the module picks Redis or memory, like the queue. */
  store?: TokenStore;
  rateLimits: Required<RateLimitOptions>;
}

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
    store: tokens?.store,
    rateLimits: {
      passwordResetPerAddress: rateLimits?.passwordResetPerAddress ?? { limit: 5, windowSeconds: 3_600 },
      passwordResetPerIp: rateLimits?.passwordResetPerIp ?? { limit: 20, windowSeconds: 3_600 },
      verificationPerAddress: rateLimits?.verificationPerAddress ?? { limit: 5, windowSeconds: 3_600 },
    },
  }));
}
