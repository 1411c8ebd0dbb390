import { Type } from 'class-transformer';
import { createPrivateKey } from 'node:crypto';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  Min,
  registerDecorator,
  ValidateNested,
} from 'class-validator';
import type { OptionsProblem } from '../errors';
import type { OptionsResolution } from '../errors/options.resolution';
import { dtoProblems, rule } from '../errors/options.validator';
import type { SmtpTransportOptions } from './smtp-transport.options';
import { parseSmtpUrl } from './smtp-transport.resolver';

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

const PORT_RULE = rule('must be a port number from 1 to 65535', 'use 465 (implicit TLS) or 587 (STARTTLS)');
const HOST_RULE = rule('must be a host name', 'set the SMTP server host, e.g. "smtp.example.com"');

class SmtpTransportDto {
  @IsString(HOST_RULE)
  @IsNotEmpty(HOST_RULE)
  host!: string;

  @IsOptional()
  @IsInt(PORT_RULE)
  @Min(1, PORT_RULE)
  @Max(65535, PORT_RULE)
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

class TransportExtrasDto {
  @IsOptional()
  @ValidateNested()
  @Type(() => DkimDto)
  dkim?: DkimDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TenantTransportsDto)
  tenantTransports?: TenantTransportsDto;
}

/** An SMTP URL as the object form, the URL parsed once; problems name `path`. */
function parseUrl(transport: string, path: string): OptionsResolution<unknown> {
  let url: URL;
  try {
    url = new URL(transport);
  } catch {
    return { ok: false, problems: [{ path, problem: 'is not a valid URL', fix: 'use "smtps://user:pass@smtp.example.com:465"' }] };
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    const problem = `has the scheme "${url.protocol}"; only smtp: and smtps: are supported`;
    return { ok: false, problems: [{ path, problem, fix: 'use "smtps://…:465" for implicit TLS or "smtp://…:587" for STARTTLS' }] };
  }
  try {
    return { ok: true, value: parseSmtpUrl(url) };
  } catch {
    const problem = 'has a user name or password that is not percent-encoded';
    const fix = 'encode them with encodeURIComponent() (a "%" becomes "%25"), or use the object form with auth: { user, pass }';
    return { ok: false, problems: [{ path, problem, fix }] };
  }
}

/** A transport option (URL or object) checked and in the object form; the password is as given. */
export function checkTransportOption(transport: unknown, path: string): OptionsResolution<SmtpTransportOptions> {
  const parsed = typeof transport === 'string' ? parseUrl(transport, path) : { ok: true as const, value: transport };
  if (!parsed.ok) return parsed;
  if (typeof parsed.value !== 'object' || parsed.value === null) {
    const fix = 'set transport to an SMTP URL such as "smtps://user:pass@smtp.example.com" or to { host, port, auth }';
    return { ok: false, problems: [{ path, problem: 'is required', fix }] };
  }
  const object = parsed.value as SmtpTransportOptions;
  const problems = dtoProblems(SmtpTransportDto, object, path);
  if (typeof object.pool === 'object' && object.pool !== null) problems.push(...dtoProblems(SmtpPoolDto, object.pool, `${path}.pool`));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: object };
}

/** Problems of `transportResolver`, `dkim` and `tenantTransports`. */
export function transportExtrasProblems(transportResolver: unknown, dkim: unknown, tenantTransports: unknown): OptionsProblem[] {
  return [
    ...(transportResolver !== undefined && typeof transportResolver !== 'function'
      ? [{ path: 'transportResolver', problem: 'must be a function', fix: 'use async (tenantId) => ({ host, port, auth })' }]
      : []),
    ...dtoProblems(TransportExtrasDto, { dkim, tenantTransports }),
  ];
}
