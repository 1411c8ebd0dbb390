import { OptionsResolution, resolveUnless } from '../options';
import type { TokenStore } from './token.types';

/** One-time codes, sent beside or instead of links (`flows.<flow>.delivery`). */
export interface CodeOptions {
  /** Digits per code, 6 to 10. @default 6 */
  length?: number;
  /** Tries per code, right or wrong; once spent, the code is void until a new one is sent. 1 to 20. @default 5 */
  maxAttempts?: number;
  /**
   * Wrong tries across every code of one address and purpose within `failureWindow`; past it, codes
   * for that address are refused (links still work) until one of its links is used or the window ends.
   * 1 to 1000. @default 20
   */
  maxFailures?: number;
  /** Seconds from the first counted failure until the failures are forgotten. 60 or more. @default 86400 (a day) */
  failureWindow?: number;
}

/** How tokens and codes are kept. Their lifetimes are per flow: `flows.<flow>.ttl`. */
export interface TokenOptions {
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
  code?: CodeOptions;
}

/** The module options the tokens concern owns. */
export interface TokenModuleOptions {
  tokens?: TokenOptions;
}

export interface CodeSettings {
  length: number;
  maxAttempts: number;
  maxFailures: number;
  failureWindowSeconds: number;
}

/** The custom store if any, the claim window and the code shape, defaults applied. */
export interface TokenSettings {
  /** Milliseconds a redemption's claim lasts without renewal (`tokens.claimWindow`). */
  claimWindowMs: number;
  /** The app's own store; without one the module picks Redis or memory, like the queue. */
  store?: TokenStore;
  codes: CodeSettings;
}

/** `tokens.claimWindow` when unset. */
export const DEFAULT_CLAIM_WINDOW_MS = 60_000;

/** `tokens.code` when unset. */
export const DEFAULT_CODE_SETTINGS: CodeSettings = { length: 6, maxAttempts: 5, maxFailures: 20, failureWindowSeconds: 86_400 };

/** Injection token of the resolved `TokenSettings`. */
export const TOKEN_SETTINGS = 'EMAIL_WORKFLOW:TOKEN_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./token.options-validation') {
  return require('./token.options-validation') as typeof import('./token.options-validation');
}

/**
 * Checks `tokens` and applies its defaults. `rateLimits` is the dropped top-level option, passed
 * only so its boot error can name where each limit went.
 */
export function resolveTokenOptions({ tokens, rateLimits }: TokenModuleOptions & { rateLimits?: unknown }): OptionsResolution<TokenSettings> {
  return resolveUnless(validation().tokenOptionsProblems(tokens, rateLimits), () => ({
    claimWindowMs: tokens?.claimWindow ?? DEFAULT_CLAIM_WINDOW_MS,
    store: tokens?.store,
    codes: {
      length: tokens?.code?.length ?? DEFAULT_CODE_SETTINGS.length,
      maxAttempts: tokens?.code?.maxAttempts ?? DEFAULT_CODE_SETTINGS.maxAttempts,
      maxFailures: tokens?.code?.maxFailures ?? DEFAULT_CODE_SETTINGS.maxFailures,
      failureWindowSeconds: tokens?.code?.failureWindow ?? DEFAULT_CODE_SETTINGS.failureWindowSeconds,
    },
  }));
}
