import { Allow, Max } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, missingMethods, NestedOptions, rule, WholeNumber } from '../options/options.validator';

class CodeDto {
  @WholeNumber(6, 'must be a whole number from 6 to 10', 'use e.g. 6')
  @Max(10, rule('must be a whole number from 6 to 10', 'use e.g. 6'))
  length?: number;

  @WholeNumber(1, 'must be a whole number from 1 to 20', 'use e.g. 5')
  @Max(20, rule('must be a whole number from 1 to 20', 'use e.g. 5'))
  maxAttempts?: number;

  @WholeNumber(1, 'must be a whole number from 1 to 1000', 'use e.g. 20')
  @Max(1000, rule('must be a whole number from 1 to 1000', 'use e.g. 20'))
  maxFailures?: number;

  @WholeNumber(60, 'must be a whole number of seconds, 60 or more', 'use e.g. 86400 (a day)') failureWindow?: number;
}

class TokensDto {
  @WholeNumber(100, 'must be a whole number of milliseconds, 100 or more', 'use e.g. 60000 (60 s)') claimWindow?: number;
  @Allow() store?: unknown;
  @NestedOptions(() => CodeDto) code?: CodeDto;
}

class TokenOptionsDto {
  @NestedOptions(() => TokensDto) tokens?: TokensDto;
}

const TOKEN_STORE_METHODS = ['save', 'find', 'findAll', 'nextGeneration', 'claim', 'renew', 'commit', 'markUsed', 'release', 'revokeAll', 'readCounter', 'writeCounter'];

/** Where each dropped option went: its boot error names the new key. */
const MOVED_TOKEN_OPTIONS: Record<string, string> = {
  verifyEmailTtl: 'flows.verifyEmail.ttl',
  resetPasswordTtl: 'flows.resetPassword.ttl',
};
const MOVED_RATE_LIMITS: Record<string, string> = {
  passwordResetPerAddress: 'flows.resetPassword.limits.perAddress',
  passwordResetPerIp: 'flows.resetPassword.limits.perIp',
  verificationPerAddress: 'flows.verifyEmail.limits.perAddress',
  verificationStartPerAddress: 'flows.verifyEmail.limits.startPerAddress',
};

function moved(path: string, to: string): OptionsProblem {
  return { path, problem: `was replaced by ${to} (same value)`, fix: `move it to ${to}` };
}

/** The options dropped for `flows`, each with a problem naming its new key. */
function droppedOptionProblems(tokens: object | undefined, rateLimits: unknown): OptionsProblem[] {
  const fromTokens = Object.keys(tokens ?? {})
    .filter((key) => Object.hasOwn(MOVED_TOKEN_OPTIONS, key))
    .map((key) => moved(`tokens.${key}`, MOVED_TOKEN_OPTIONS[key]));
  if (rateLimits === undefined) return fromTokens;
  const known = typeof rateLimits === 'object' && rateLimits !== null ? Object.keys(rateLimits).filter((key) => Object.hasOwn(MOVED_RATE_LIMITS, key)) : [];
  const fromLimits = known.length > 0 ? known.map((key) => moved(`rateLimits.${key}`, MOVED_RATE_LIMITS[key])) : [moved('rateLimits', 'flows.<flow>.limits')];
  return [...fromTokens, ...fromLimits];
}

/** Problems of `tokens`, of a custom `tokens.store` that lacks a method, and of the dropped options. */
export function tokenOptionsProblems(tokens: { store?: unknown } | undefined, rateLimits: unknown): OptionsProblem[] {
  const plain = typeof tokens === 'object' && tokens !== null ? tokens : undefined;
  const current = plain && Object.fromEntries(Object.entries(plain).filter(([key]) => !Object.hasOwn(MOVED_TOKEN_OPTIONS, key)));
  return [
    ...droppedOptionProblems(plain, rateLimits),
    ...dtoProblems(TokenOptionsDto, { tokens: plain ? current : tokens }),
    ...missingMethods('tokens.store', plain?.store, TOKEN_STORE_METHODS),
  ];
}
