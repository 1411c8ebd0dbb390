import { createPrivateKey } from 'node:crypto';
import { Allow, IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min, registerDecorator } from 'class-validator';
import type { OptionsProblem } from '../errors';
import type { OptionsResolution } from '../options';
import { dtoProblems, missingMethods, NestedOptions, rule, WholeNumber } from '../options/options.validator';
import { MAIL_TRANSPORT_METHODS } from './mail-transport';
import type { SmtpTransportOptions } from './smtp-transport.options';
import { parseSmtpUrl } from './smtp-transport.resolver';
import { IMPLICIT_TLS_PORT, SUBMISSION_PORT } from './smtp.knowledge';
import { parseCidr } from './tenant-network.policy';

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

/** Most rules here read "must be …". */
const NAME = (what: string, fix: string) => rule(`must be ${what}`, fix);
const COUNT = 'must be a whole number of 1 or more';
const MS = 'must be a number of milliseconds';
const TLS = IMPLICIT_TLS_PORT;
const STARTTLS = SUBMISSION_PORT;
const PORT = rule('must be a port number from 1 to 65535', `use ${TLS} (implicit TLS) or ${STARTTLS} (STARTTLS)`);
const HOST = NAME('a host name', 'set the SMTP server host, e.g. "smtp.example.com"');
const USER = NAME('a non-empty string', 'set the SMTP username');

class SmtpAuthDto {
  @IsString(USER) @IsNotEmpty(USER) user!: string;
  @IsString(NAME('a string', 'set the SMTP password, or remove `auth` if the server needs none')) pass!: string;
}

class SmtpPoolDto {
  @WholeNumber(1, COUNT, 'use e.g. 5') maxConnections?: number;
  @WholeNumber(1, COUNT, 'use e.g. 100') maxMessages?: number;
  @WholeNumber(1, COUNT, 'use e.g. 10 messages per rateDelta') rateLimit?: number;
  @WholeNumber(1, MS, 'use e.g. 1000') rateDelta?: number;
}

class SmtpTlsDto {
  @IsOptional()
  @IsBoolean(NAME('true or false', 'leave it true; trust a private CA with `tls.ca` instead'))
  rejectUnauthorized?: boolean;

  @IsOptional() @IsString(NAME('a host name', 'use the name on the server certificate')) servername?: string;

  @IsOptional()
  @IsString({ ...NAME('PEM text or a list of PEM texts', 'pass fs.readFileSync("ca.pem", "utf8")'), each: true })
  ca?: string | string[];
}

class SmtpTransportDto {
  @IsString(HOST) @IsNotEmpty(HOST) host!: string;
  @IsOptional() @IsInt(PORT) @Min(1, PORT) @Max(65535, PORT) port?: number;

  @IsOptional()
  @IsIn(['tls', 'starttls', 'none'], NAME('"tls", "starttls" or "none"', `use "tls" for port ${TLS}, "starttls" for ${STARTTLS}`))
  security?: string;

  @NestedOptions(() => SmtpAuthDto) auth?: SmtpAuthDto;
  @IsPoolOption() pool?: boolean | SmtpPoolDto;
  @NestedOptions(() => SmtpTlsDto) tls?: SmtpTlsDto;
  @WholeNumber(1, MS, 'use e.g. 10000') connectionTimeout?: number;
  @WholeNumber(1, MS, 'use e.g. 10000') greetingTimeout?: number;
  @WholeNumber(1, MS, 'use e.g. 60000') socketTimeout?: number;
}

const DOMAIN = NAME('the signing domain', 'use e.g. "acme.com"');
const SELECTOR = NAME('the DNS selector', 'use e.g. "mail2026"');

class DkimDto {
  @IsString(DOMAIN) @IsNotEmpty(DOMAIN) domainName!: string;
  @IsString(SELECTOR) @IsNotEmpty(SELECTOR) keySelector!: string;
  @IsRsaPrivateKey() privateKey!: string;
}

class TenantTransportsDto {
  @WholeNumber(1, COUNT, 'use e.g. 100') maxCached?: number;
  @WholeNumber(1, MS, 'use e.g. 300000') idleTimeout?: number;
  /** Checked entry by entry in `allowedNetworksProblems`, which names the bad one. */
  @Allow() allowPrivateNetworks?: unknown;
  @WholeNumber(1, MS, 'use e.g. 10000') connectionTimeout?: number;
  @WholeNumber(1, MS, 'use e.g. 10000') greetingTimeout?: number;
  @WholeNumber(1, MS, 'use e.g. 30000') socketTimeout?: number;
}

const CIDR_FIX = "write each range as address/prefix length: '10.0.0.0/8', '127.0.0.1/32' for one address, 'fd00::/8'";

/** `tenantTransports.allowPrivateNetworks`: a list of CIDR ranges, each problem naming its entry. */
function allowedNetworksProblems(tenantTransports: unknown): OptionsProblem[] {
  const path = 'tenantTransports.allowPrivateNetworks';
  const value = typeof tenantTransports === 'object' && tenantTransports !== null ? (tenantTransports as Record<string, unknown>).allowPrivateNetworks : undefined;
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [{ path, problem: 'must be a list of CIDR ranges', fix: `use e.g. ['10.0.0.0/8']; ${CIDR_FIX}` }];
  return value.flatMap((entry: unknown, index) =>
    parseCidr(entry)
      ? []
      : [{ path: `${path}[${index}]`, problem: `${typeof entry === 'string' ? JSON.stringify(entry) : typeof entry} is not a CIDR range`, fix: CIDR_FIX }],
  );
}

class TransportExtrasDto {
  @NestedOptions(() => DkimDto) dkim?: DkimDto;
  @NestedOptions(() => TenantTransportsDto) tenantTransports?: TenantTransportsDto;
}

/**
 * Whether the user info holds an unencoded "/", "?" or "#". The URL parser ends the authority at the
 * first of them, so `smtp://u:12/cd@host` reads host "u" and port 12: read the raw text, not the parse.
 */
function hasUnencodedUserInfo(transport: string): boolean {
  const afterScheme = /^[a-z][a-z0-9+.-]*:\/\/(.*)$/is.exec(transport)?.[1];
  const at = afterScheme?.lastIndexOf('@') ?? -1;
  return at >= 0 && /[/?#]/.test((afterScheme as string).slice(0, at));
}

/** An SMTP URL as the object form, the URL parsed once; problems name `path`. */
function parseUrl(transport: string, path: string): OptionsResolution<unknown> {
  if (hasUnencodedUserInfo(transport)) {
    const problem = 'has a "/", "?" or "#" in its password or user name that is not percent-encoded, so the host would be read from the password';
    const fix = 'percent-encode it with encodeURIComponent() ("ab/cd" becomes "ab%2Fcd"), or use the object form with transport.auth: { user, pass }';
    return { ok: false, problems: [{ path, problem, fix }] };
  }
  let url: URL;
  try {
    url = new URL(transport);
  } catch {
    return { ok: false, problems: [{ path, problem: 'is not a valid URL', fix: `use "smtps://user:pass@smtp.example.com:${TLS}"` }] };
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    const problem = `has the scheme "${url.protocol}"; only smtp: and smtps: are supported`;
    return { ok: false, problems: [{ path, problem, fix: `use "smtps://…:${TLS}" for implicit TLS or "smtp://…:${STARTTLS}" for STARTTLS` }] };
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
    ...allowedNetworksProblems(tenantTransports),
  ];
}

/** An app's own transport (`transport: { use }`): an object with every method of MailTransport. */
export function customTransportProblems(use: unknown, path: string): OptionsProblem[] {
  if (typeof use !== 'object' || use === null) {
    return [{ path, problem: 'must be an object', fix: `pass an instance with ${MAIL_TRANSPORT_METHODS.map((method) => `${method}()`).join(', ')} (see MailTransport)` }];
  }
  const description = (use as { description?: unknown }).description;
  return [
    ...missingMethods(path, use, MAIL_TRANSPORT_METHODS),
    ...(description !== undefined && typeof description !== 'string' ? [{ path: `${path}.description`, problem: 'must be a string', fix: 'name the transport without any secret, e.g. "acme-api"' }] : []),
  ];
}
