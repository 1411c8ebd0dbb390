import { plainToInstance, Type } from 'class-transformer';
import { createPrivateKey } from 'node:crypto';
import {
  Allow,
  IsBoolean,
  IsDefined,
  IsEmail,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  registerDecorator,
  validateSync,
  ValidateNested,
  ValidationError,
  ValidationOptions,
} from 'class-validator';
import { InvalidOptionsError, OptionsProblem } from '../errors';
import { toTransportObject } from '../transport/smtp-transport.resolver';
import type { EmailTransportOption, SmtpTransportOptions } from '../transport/smtp-transport.options';
import { credentialKeysFrom, CREDENTIAL_KEY_ENV, decryptCredential, isEncryptedCredential } from '../crypto/credential.cipher';
import type { EmailWorkflowModuleOptions } from './email-workflow.options';
import { isValidMailbox } from '../workflow/address';
import { MIN_SECRET_BYTES } from '../crypto/secret-keys';
import { LAYOUT_COLOUR } from '../templates';

/** A rule's message and the fix we print beside it. Messages never include the value: it may be a secret. */
function rule(problem: string, fix: string): ValidationOptions {
  return { message: problem, context: { fix } };
}

function IsLinkTemplate(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isLinkTemplate',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule(
        'must be an absolute https URL containing {token} (http is allowed only for localhost and 127.0.0.1)',
        `use a URL such as "https://app.example.com/${String(propertyName)}?token={token}"`,
      ),
      validator: { validate: isLinkTemplate },
    });
}

function IsMailbox(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isMailbox',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule(
        'must be one email address, optionally with a display name',
        'use "Acme <no-reply@acme.com>" or "no-reply@acme.com"',
      ),
      validator: { validate: (value: unknown) => typeof value === 'string' && isValidMailbox(value) },
    });
}

function IsPoolOption(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPoolOption',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule('must be true, false or an object', 'use `pool: false` or `pool: { maxConnections: 5 }`'),
      validator: {
        validate: (value: unknown) =>
          value === undefined || typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value)),
      },
    });
}

function isLinkTemplate(value: unknown): boolean {
  if (typeof value !== 'string' || !value.includes('{token}')) return false;
  let url: URL;
  try {
    url = new URL(value.replace('{token}', 'token-placeholder'));
  } catch {
    return false;
  }
  if (url.host.includes('token-placeholder')) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

class SmtpAuthDto {
  @IsString(rule('must be a non-empty string', 'set the SMTP username'))
  @IsNotEmpty(rule('must be a non-empty string', 'set the SMTP username'))
  user!: string;

  @IsString(rule('must be a string', 'set the SMTP password, or remove `auth` if the server needs none'))
  pass!: string;
}

class SmtpPoolDto {
  @IsOptional()
  @IsInt(rule('must be a whole number of 1 or more', 'use e.g. 5'))
  @Min(1, rule('must be a whole number of 1 or more', 'use e.g. 5'))
  maxConnections?: number;

  @IsOptional()
  @IsInt(rule('must be a whole number of 1 or more', 'use e.g. 100'))
  @Min(1, rule('must be a whole number of 1 or more', 'use e.g. 100'))
  maxMessages?: number;

  @IsOptional()
  @IsInt(rule('must be a whole number of 1 or more', 'use e.g. 10 messages per rateDelta'))
  @Min(1, rule('must be a whole number of 1 or more', 'use e.g. 10 messages per rateDelta'))
  rateLimit?: number;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 1000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 1000'))
  rateDelta?: number;
}

class SmtpTlsDto {
  @IsOptional()
  @IsBoolean(rule('must be true or false', 'leave it true; trust a private CA with `tls.ca` instead'))
  rejectUnauthorized?: boolean;

  @IsOptional()
  @IsString(rule('must be a host name', 'use the name on the server certificate'))
  servername?: string;

  @IsOptional()
  @IsString({ ...rule('must be PEM text or a list of PEM texts', 'pass fs.readFileSync("ca.pem", "utf8")'), each: true })
  ca?: string | string[];
}

class SmtpTransportDto {
  @IsString(rule('must be a host name', 'set the SMTP server host, e.g. "smtp.example.com"'))
  @IsNotEmpty(rule('must be a host name', 'set the SMTP server host, e.g. "smtp.example.com"'))
  host!: string;

  @IsOptional()
  @IsInt(rule('must be a port number from 1 to 65535', 'use 465 (implicit TLS) or 587 (STARTTLS)'))
  @Min(1, rule('must be a port number from 1 to 65535', 'use 465 (implicit TLS) or 587 (STARTTLS)'))
  @Max(65535, rule('must be a port number from 1 to 65535', 'use 465 (implicit TLS) or 587 (STARTTLS)'))
  port?: number;

  @IsOptional()
  @IsIn(['tls', 'starttls', 'none'], rule('must be "tls", "starttls" or "none"', 'use "tls" for port 465, "starttls" for 587'))
  security?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => SmtpAuthDto)
  auth?: SmtpAuthDto;

  @IsPoolOption()
  pool?: boolean | SmtpPoolDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => SmtpTlsDto)
  tls?: SmtpTlsDto;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 10000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 10000'))
  connectionTimeout?: number;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 10000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 10000'))
  greetingTimeout?: number;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 60000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 60000'))
  socketTimeout?: number;
}

class BrandDto {
  @IsString(rule('must be your product name', 'set brand.name, e.g. "Acme"'))
  @IsNotEmpty(rule('must be your product name', 'set brand.name, e.g. "Acme"'))
  name!: string;

  @IsOptional()
  @IsUrl({ protocols: ['https'], require_protocol: true }, rule('must be an absolute https URL', 'host the logo over https'))
  logoUrl?: string;

  @IsOptional()
  @Matches(LAYOUT_COLOUR, rule('must be a hex colour, #rgb or #rrggbb', 'use e.g. "#2563eb"'))
  primaryColor?: string;

  @IsOptional()
  @IsEmail({}, rule('must be an email address', 'use e.g. "support@acme.com"'))
  supportEmail?: string;

  @IsOptional()
  @IsString(rule('must be text', 'use e.g. "1 Main St, Springfield"'))
  postalAddress?: string;
}

class LinksDto {
  @IsLinkTemplate()
  verifyEmail!: string;

  @IsLinkTemplate()
  resetPassword!: string;
}

class TemplatesDto {
  @IsOptional()
  @IsString(rule('must be a folder path', 'use an absolute path, e.g. join(__dirname, "emails")'))
  dir?: string;

  @IsOptional()
  @Matches(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, rule('must be a locale tag', 'use e.g. "en" or "pt-BR"'))
  defaultLocale?: string;
}

class RetryBackoffDto {
  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 5000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 5000'))
  delay?: number;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 3600000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 3600000'))
  maxDelay?: number;
}

class QueueDto {
  @IsRedisOption()
  redis!: unknown;

  @IsOptional()
  @IsString(rule('must be text', 'use e.g. "{email}" (a hash tag, for Redis Cluster)'))
  prefix?: string;

  @IsOptional()
  @IsInt(rule('must be a whole number of 1 or more', 'use e.g. 5'))
  @Min(1, rule('must be a whole number of 1 or more', 'use e.g. 5'))
  concurrency?: number;

  @IsOptional()
  @IsInt(rule('must be a whole number of 1 or more', 'use e.g. 8'))
  @Min(1, rule('must be a whole number of 1 or more', 'use e.g. 8'))
  attempts?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => RetryBackoffDto)
  backoff?: RetryBackoffDto;

  @IsOptional()
  @Allow()
  removeOnComplete?: boolean | number;

  @IsOptional()
  @IsBoolean(rule('must be true or false', 'use false on API-only processes that should not send'))
  worker?: boolean;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 10000'))
  @Min(0, rule('must be a number of milliseconds', 'use e.g. 10000'))
  shutdownTimeout?: number;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 30000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 30000'))
  probeInterval?: number;

  @IsOptional()
  @Allow()
  settings?: object;
}

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

class DkimDto {
  @IsString(rule('must be the signing domain', 'use e.g. "acme.com"'))
  @IsNotEmpty(rule('must be the signing domain', 'use e.g. "acme.com"'))
  domainName!: string;

  @IsString(rule('must be the DNS selector', 'use e.g. "mail2026"'))
  @IsNotEmpty(rule('must be the DNS selector', 'use e.g. "mail2026"'))
  keySelector!: string;

  @IsRsaPrivateKey()
  privateKey!: string;
}

class TenantTransportsDto {
  @IsOptional()
  @IsInt(rule('must be a whole number of 1 or more', 'use e.g. 100'))
  @Min(1, rule('must be a whole number of 1 or more', 'use e.g. 100'))
  maxCached?: number;

  @IsOptional()
  @IsInt(rule('must be a number of milliseconds', 'use e.g. 300000'))
  @Min(1, rule('must be a number of milliseconds', 'use e.g. 300000'))
  idleTimeout?: number;
}

class EmailWorkflowOptionsDto {
  @Allow()
  transport!: unknown;

  @IsMailbox()
  from!: string;

  @IsOptional()
  @IsMailbox()
  replyTo?: string;

  @IsDefined(rule('is required', 'set brand: { name: "Acme" }'))
  @ValidateNested()
  @Type(() => BrandDto)
  brand!: BrandDto;

  @IsDefined(rule('is required', 'set links: { verifyEmail, resetPassword } with {token} in each URL'))
  @ValidateNested()
  @Type(() => LinksDto)
  links!: LinksDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TemplatesDto)
  templates?: TemplatesDto;

  @Allow()
  queue?: unknown;

  @Allow()
  secret?: unknown;

  @Allow()
  users?: unknown;

  @IsOptional()
  @ValidateNested()
  @Type(() => TokensDto)
  tokens?: TokensDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitsDto)
  rateLimits?: RateLimitsDto;

  @IsOptional()
  @IsString({ ...rule('must be a list of keys', 'use e.g. [process.env.EMAIL_WORKFLOW_SECRET_KEY]'), each: true })
  credentialKeys?: string[];

  @IsOptional()
  @ValidateNested()
  @Type(() => DkimDto)
  dkim?: DkimDto;

  @Allow()
  transportResolver?: unknown;

  @IsOptional()
  @ValidateNested()
  @Type(() => TenantTransportsDto)
  tenantTransports?: TenantTransportsDto;
}

/** nodemailer signs DKIM with RSA only, and sends unsigned mail when the key does not parse: check it here. */
function IsRsaPrivateKey(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isRsaPrivateKey',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule('must be an RSA private key in PEM', 'pass the key file content, "-----BEGIN PRIVATE KEY-----…" (generate: openssl genrsa 2048)'),
      validator: {
        validate: (value: unknown) => {
          try {
            return typeof value === 'string' && createPrivateKey(value).asymmetricKeyType === 'rsa';
          } catch {
            return false;
          }
        },
      },
    });
}

function IsRedisOption(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isRedisOption',
      target: target.constructor,
      propertyName: propertyName as string,
      options: rule(
        'must be a redis:// URL, ioredis options, or false for the in-process queue',
        'use e.g. "redis://127.0.0.1:6379"',
      ),
      validator: {
        validate: (value: unknown) =>
          value === false ||
          (typeof value === 'string' && /^rediss?:\/\//.test(value)) ||
          (typeof value === 'object' && value !== null),
      },
    });
}

function flatten(errors: ValidationError[], parentPath = ''): OptionsProblem[] {
  return errors.flatMap((error) => {
    const path = parentPath ? `${parentPath}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([name, message]) => ({
      path,
      problem: name === 'whitelistValidation' ? 'is not a known option' : message,
      fix:
        (error.contexts?.[name]?.fix as string | undefined) ??
        (name === 'whitelistValidation' ? 'remove it or check its spelling' : 'see the options table in the README'),
    }));
    // Two rules failing on one field say the same thing; print it once.
    const unique = own.filter((p, i) => own.findIndex((q) => q.problem === p.problem) === i);
    return [...unique, ...flatten(error.children ?? [], path)];
  });
}

function validateDto<T extends object>(dto: new () => T, value: unknown, path: string): OptionsProblem[] {
  const instance = plainToInstance(dto, value);
  return flatten(validateSync(instance, { whitelist: true, forbidNonWhitelisted: true }), path);
}

/** Problems of a transport option: shape, values and, for an `enc:v1:` password, whether a key opens it. */
export function transportProblems(transport: unknown, credentialKeys: string[], path = 'transport'): OptionsProblem[] {
  const problems = transportShapeProblems(transport).map((problem) => ({ ...problem, path: problem.path.replace(/^transport/, path) }));
  if (problems.length > 0) return problems;
  const password = toTransportObject(transport as EmailTransportOption).auth?.pass;
  if (!isEncryptedCredential(password)) return [];
  const passwordPath = typeof transport === 'string' ? `${path} (URL password)` : `${path}.auth.pass`;
  if (credentialKeys.length === 0) {
    return [{ path: passwordPath, problem: 'is encrypted (enc:v1:) but no key is configured', fix: `set credentialKeys or the ${CREDENTIAL_KEY_ENV} environment variable` }];
  }
  if (decryptCredential(password, credentialKeys) === undefined) {
    return [
      {
        path: passwordPath,
        problem: 'cannot be decrypted with the configured keys (wrong key, or the value was altered)',
        fix: `check ${CREDENTIAL_KEY_ENV}; after a key rotation list the old key too (credentialKeys: [newKey, oldKey])`,
      },
    ];
  }
  return [];
}

function transportShapeProblems(transport: unknown): OptionsProblem[] {
  if (typeof transport === 'string') {
    let url: URL;
    try {
      url = new URL(transport);
    } catch {
      return [{ path: 'transport', problem: 'is not a valid URL', fix: 'use "smtps://user:pass@smtp.example.com:465"' }];
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      return [
        {
          path: 'transport',
          problem: `has the scheme "${url.protocol}"; only smtp: and smtps: are supported`,
          fix: 'use "smtps://…:465" for implicit TLS or "smtp://…:587" for STARTTLS',
        },
      ];
    }
    let parsed: SmtpTransportOptions;
    try {
      parsed = toTransportObject(transport);
    } catch {
      return [
        {
          path: 'transport',
          problem: 'has a user name or password that is not percent-encoded',
          fix: 'encode them with encodeURIComponent() (a "%" becomes "%25"), or use the object form with auth: { user, pass }',
        },
      ];
    }
    return smtpObjectProblems(parsed);
  }
  if (typeof transport !== 'object' || transport === null) {
    return [
      {
        path: 'transport',
        problem: 'is required',
        fix: 'set transport to an SMTP URL such as "smtps://user:pass@smtp.example.com" or to { host, port, auth }',
      },
    ];
  }
  return smtpObjectProblems(transport as SmtpTransportOptions);
}

function smtpObjectProblems(transport: SmtpTransportOptions): OptionsProblem[] {
  const problems = validateDto(SmtpTransportDto, transport, 'transport');
  if (typeof transport.pool === 'object' && transport.pool !== null) {
    problems.push(...validateDto(SmtpPoolDto, transport.pool, 'transport.pool'));
  }
  return problems;
}

/** Plugged-in objects are checked as given: class-transformer would copy them and lose their methods. */
function missingMethods(path: string, value: unknown, methods: string[]): OptionsProblem[] {
  if (value === undefined) return [];
  const missing = methods.filter(
    (method) => typeof value !== 'object' || value === null || typeof (value as Record<string, unknown>)[method] !== 'function',
  );
  return missing.length === 0
    ? []
    : [{ path, problem: `has no method ${missing.join(', ')}`, fix: `implement every method: ${methods.join(', ')}` }];
}

function queueProblems(options: EmailWorkflowModuleOptions): OptionsProblem[] {
  const { queue, secret } = options;
  const problems: OptionsProblem[] = [];
  if (queue !== undefined && queue !== false) {
    if (typeof queue !== 'object' || queue === null) {
      return [{ path: 'queue', problem: 'must be false or an object', fix: 'use queue: { redis: "redis://127.0.0.1:6379" }' }];
    }
    problems.push(...validateDto(QueueDto, queue, 'queue'));
  }
  const durable = typeof queue === 'object' && queue !== null && queue.redis !== false;
  if (typeof queue === 'object' && queue !== null && queue.redis === false && queue.worker === false) {
    problems.push({
      path: 'queue.worker',
      problem: 'is false, but an in-process queue has no other process to send its emails',
      fix: 'remove worker: false, or set queue.redis so dedicated workers can send',
    });
  }
  if (options.tokens?.store !== undefined && secret === undefined && !durable) {
    problems.push({
      path: 'secret',
      problem: 'is required with tokens.store: token hashes are keyed by it, and must match across processes and restarts',
      fix: 'set secret from an environment variable holding at least 32 random bytes',
    });
  }
  if (secret !== undefined && (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES)) {
    problems.push({
      path: 'secret',
      problem: `must be at least ${MIN_SECRET_BYTES} bytes of random text`,
      fix: 'generate one with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"',
    });
  } else if (secret === undefined && durable) {
    problems.push({
      path: 'secret',
      problem: 'is required with a Redis queue: it encrypts email variables (tokens, links) stored in Redis',
      fix: 'set secret from an environment variable holding at least 32 random bytes',
    });
  }
  return problems;
}

/** Validates options as given by the user; throws one InvalidOptionsError listing every problem. */
export function validateEmailWorkflowOptions(options: EmailWorkflowModuleOptions): void {
  const value: unknown = options;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionsError([
      { path: '(options)', problem: 'are missing', fix: 'pass an options object to EmailWorkflowModule.forRoot()' },
    ]);
  }
  const problems = [
    ...transportProblems(options.transport, credentialKeysFrom(options.credentialKeys)),
    ...(options.transportResolver !== undefined && typeof options.transportResolver !== 'function'
      ? [{ path: 'transportResolver', problem: 'must be a function', fix: 'use async (tenantId) => ({ host, port, auth })' }]
      : []),
    ...validateDto(EmailWorkflowOptionsDto, value, ''),
    ...queueProblems(options),
    ...missingMethods('users', options.users, ['findByEmail', 'findById', 'markEmailVerified']),
    ...missingMethods('tokens.store', options.tokens?.store, ['save', 'find', 'claim', 'markUsed', 'release', 'revokeOthers']),
  ];
  if (problems.length > 0) throw new InvalidOptionsError(problems);
}
