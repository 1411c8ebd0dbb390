export type { TokenPurpose, TokenRecord, TokenState, TokenStore, ClaimOutcome } from './token.types';
export { EMAIL_TOKEN_STORE } from './token.types';
export { MemoryTokenStore } from './memory-token.store';
export { RedisTokenStore } from './redis-token.store';
export { EmailTokens } from './email-tokens';
export type { RedeemableToken, TokenClaim } from './email-tokens';
export { EMAIL_RATE_LIMITER, MemoryRateLimiter, RedisRateLimiter } from './rate-limiter';
export type { RateLimiter, RateLimitRule } from './rate-limiter';
