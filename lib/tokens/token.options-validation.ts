import { Allow } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, missingMethods, NestedOptions, WholeNumber } from '../errors/options.validator';

const SECONDS = 'must be a number of seconds';

class RateLimitRuleDto {
  @WholeNumber(1, 'must be a whole number of 1 or more', 'use e.g. 5', true) limit!: number;
  @WholeNumber(1, SECONDS, 'use e.g. 3600', true) windowSeconds!: number;
}

class RateLimitsDto {
  @NestedOptions(() => RateLimitRuleDto) passwordResetPerAddress?: RateLimitRuleDto;
  @NestedOptions(() => RateLimitRuleDto) passwordResetPerIp?: RateLimitRuleDto;
  @NestedOptions(() => RateLimitRuleDto) verificationPerAddress?: RateLimitRuleDto;
  @NestedOptions(() => RateLimitRuleDto) verificationStartPerAddress?: RateLimitRuleDto;
}

class TokensDto {
  @WholeNumber(1, SECONDS, 'use e.g. 86400 (24 hours)') verifyEmailTtl?: number;
  @WholeNumber(1, SECONDS, 'use e.g. 3600 (1 hour)') resetPasswordTtl?: number;
  @WholeNumber(100, 'must be a whole number of milliseconds, 100 or more', 'use e.g. 60000 (60 s)') claimWindow?: number;
  @Allow() store?: unknown;
}

class TokenOptionsDto {
  @NestedOptions(() => TokensDto) tokens?: TokensDto;
  @NestedOptions(() => RateLimitsDto) rateLimits?: RateLimitsDto;
}

const TOKEN_STORE_METHODS = ['save', 'find', 'claim', 'renew', 'markUsed', 'release', 'revokeOthers'];

/** Problems of `tokens` and `rateLimits`, and of a custom `tokens.store` that lacks a method. */
export function tokenOptionsProblems(tokens: { store?: unknown } | undefined, rateLimits: unknown): OptionsProblem[] {
  return [
    ...dtoProblems(TokenOptionsDto, { tokens, rateLimits }),
    ...missingMethods('tokens.store', tokens?.store, TOKEN_STORE_METHODS),
  ];
}
