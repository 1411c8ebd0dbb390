import { Type } from 'class-transformer';
import { Allow, IsInt, IsOptional, Min, ValidateNested } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, missingMethods, rule } from '../errors/options.validator';

class RateLimitRuleDto {
  @IsInt(rule('must be a whole number of 1 or more', 'use e.g. 5'))
  @Min(1, rule('must be a whole number of 1 or more', 'use e.g. 5'))
  limit!: number;

  @IsInt(rule('must be a number of seconds', 'use e.g. 3600'))
  @Min(1, rule('must be a number of seconds', 'use e.g. 3600'))
  windowSeconds!: number;
}

class RateLimitsDto {
  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitRuleDto)
  passwordResetPerAddress?: RateLimitRuleDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitRuleDto)
  passwordResetPerIp?: RateLimitRuleDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitRuleDto)
  verificationPerAddress?: RateLimitRuleDto;
}

class TokensDto {
  @IsOptional()
  @IsInt(rule('must be a number of seconds', 'use e.g. 86400 (24 hours)'))
  @Min(1, rule('must be a number of seconds', 'use e.g. 86400 (24 hours)'))
  verifyEmailTtl?: number;

  @IsOptional()
  @IsInt(rule('must be a number of seconds', 'use e.g. 3600 (1 hour)'))
  @Min(1, rule('must be a number of seconds', 'use e.g. 3600 (1 hour)'))
  resetPasswordTtl?: number;

  @Allow()
  store?: unknown;
}

class TokenOptionsDto {
  @IsOptional()
  @ValidateNested()
  @Type(() => TokensDto)
  tokens?: TokensDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitsDto)
  rateLimits?: RateLimitsDto;
}

const TOKEN_STORE_METHODS = ['save', 'find', 'claim', 'markUsed', 'release', 'revokeOthers'];

/** Problems of `tokens` and `rateLimits`, and of a custom `tokens.store` that lacks a method. */
export function tokenOptionsProblems(tokens: { store?: unknown } | undefined, rateLimits: unknown): OptionsProblem[] {
  return [
    ...dtoProblems(TokenOptionsDto, { tokens, rateLimits }),
    ...missingMethods('tokens.store', tokens?.store, TOKEN_STORE_METHODS),
  ];
}
