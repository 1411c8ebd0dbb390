import type { OptionsProblem } from '../errors';
import { OptionsResolution, resolveUnless } from '../options';
import { credentialKeysFrom } from './credential.cipher';
import { MIN_SECRET_BYTES } from './secret-keys';

/** The module options the crypto concern owns. */
export interface CryptoOptions {
  /**
   * At least 32 bytes of random text. Encrypts queued email variables (AES-256-GCM) and keys token
   * hashes. Required with a Redis queue. Generate one with
   * `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`.
   */
  secret?: string;
  /**
   * Keys that decrypt `enc:v1:` passwords (from `npx nestjs-email-workflow encrypt-secret`), current
   * first, older ones after it during a rotation. Default: EMAIL_WORKFLOW_SECRET_KEY (comma-separated).
   */
  credentialKeys?: string[];
}

/** What needs the module secret, as the other concerns' options say. */
interface SecretUses {
  /** Queue payloads are stored in Redis, encrypted under it. */
  durableQueue: boolean;
  /** The app's own token store keeps hashes keyed by it across processes. */
  customTokenStore: boolean;
  /** Envelope tags are MACs under it, and bounces come back after restarts. */
  bounceAddress?: boolean;
}

export interface CryptoSettings {
  /** Checked module secret; undefined only with the in-process queue and the built-in token store. */
  secret?: string;
  /** Keys for `enc:v1:` credentials, from the option or the environment. */
  credentialKeys: string[];
}

/** Injection token of the resolved `CryptoSettings`. */
export const CRYPTO_SETTINGS = 'EMAIL_WORKFLOW:CRYPTO_SETTINGS';

const SECRET_FROM_ENV = 'set secret from an environment variable holding at least 32 random bytes';

function secretProblems(secret: unknown, uses: SecretUses): OptionsProblem[] {
  const problems: OptionsProblem[] = [];
  if (uses.customTokenStore && secret === undefined && !uses.durableQueue) {
    problems.push({
      path: 'secret',
      problem: 'is required with tokens.store: token hashes are keyed by it, and must match across processes and restarts',
      fix: SECRET_FROM_ENV,
    });
  }
  if (uses.bounceAddress && secret === undefined && !uses.durableQueue && !uses.customTokenStore) {
    problems.push({
      path: 'secret',
      problem: 'is required with bounces.address: envelope tags are signed with it, and a bounce may come back after a restart',
      fix: SECRET_FROM_ENV,
    });
  }
  if (secret !== undefined && (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES)) {
    problems.push({
      path: 'secret',
      problem: `must be at least ${MIN_SECRET_BYTES} bytes of random text`,
      fix: 'generate one with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"',
    });
  } else if (secret === undefined && uses.durableQueue) {
    problems.push({
      path: 'secret',
      problem: 'is required with a Redis queue: it encrypts email variables (tokens, links) stored in Redis',
      fix: SECRET_FROM_ENV,
    });
  }
  return problems;
}

/** `credentialKeys`, when given, is a key or a list of keys (null counts as not given). */
function credentialKeysProblems(keys: unknown): OptionsProblem[] {
  const valid = keys == null || (Array.isArray(keys) ? keys.every((key) => typeof key === 'string') : typeof keys === 'string');
  return valid ? [] : [{ path: 'credentialKeys', problem: 'must be a list of keys', fix: 'use e.g. [process.env.EMAIL_WORKFLOW_SECRET_KEY]' }];
}

/** Checks `secret` against what uses it, and `credentialKeys`; falls back to the environment's keys. */
export function resolveCryptoOptions(options: CryptoOptions, uses: SecretUses): OptionsResolution<CryptoSettings> {
  return resolveUnless([...credentialKeysProblems(options.credentialKeys), ...secretProblems(options.secret, uses)], () => ({
    secret: options.secret,
    credentialKeys: credentialKeysFrom(options.credentialKeys),
  }));
}
