import { EmailDeliveryError, SmtpFailure, SmtpFailureKind } from '../../errors';
import { redact } from '../credential.redactor';

/** What an AWS SDK v3 error (or a network error under it) carries that we read; never its request or response. */
interface SdkError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
}

/** Removes a transport's own key by value from text the SDK or the service produced. */
export type SesSecretRedactor = (text: string) => string;

/** Throttling and quota: SES asks to be tried later. */
const THROTTLED = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'ThrottledException', 'LimitExceededException', 'RequestLimitExceeded']);
/** The service failed, not the request. */
const SERVICE_FAULT = new Set(['InternalFailure', 'InternalServerError', 'InternalServiceError', 'ServiceUnavailable', 'ServiceUnavailableException', 'RequestTimeout', 'RequestTimeoutException']);
/** The key or its permissions are wrong: every email would fail the same way until someone fixes them. */
const CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'ExpiredToken',
  'ExpiredTokenException',
  'AccessDenied',
  'AccessDeniedException',
  'NotAuthorized',
  'OptInRequired',
  'CredentialsProviderError',
]);
/**
 * The account or its setup refuses to send, whatever the message: delivery pauses until `verify()` (GetAccount)
 * answers. `MailFromDomainNotVerifiedException` is here rather than permanent: the custom MAIL FROM domain of
 * the identity lacks its MX/SPF record, which is fixed in DNS, and failing every email meanwhile would lose them.
 */
const ACCOUNT = new Set(['AccountSuspendedException', 'SendingPausedException', 'MailFromDomainNotVerifiedException', 'NotFoundException']);
/** About this message (or its recipients): retrying cannot help. */
const MESSAGE = new Set(['MessageRejected', 'BadRequestException', 'ValidationError', 'ValidationException', 'InvalidParameterValue', 'SerializationException']);
/** Node's socket errors: SES (or the endpoint) was not reached at all. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EPROTO']);

/** AWS access key ids (long-term AKIA…, temporary ASIA…), caught by shape when the value is not known. */
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b/g;

/** A redactor for one transport's static key: the id, the secret and the session token, longest first. */
export function sesSecretRedactor(credentials?: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string }): SesSecretRedactor {
  const values = [credentials?.secretAccessKey, credentials?.sessionToken, credentials?.accessKeyId]
    .filter((value): value is string => typeof value === 'string' && value.length > 0)
    .sort((a, b) => b.length - a.length);
  const pattern = values.length > 0 ? new RegExp(values.map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : undefined;
  return (text) => (pattern ? text.replace(pattern, '[redacted]') : text);
}

/** Text from AWS or the SDK, safe to log: the key by value, access key ids by shape, base64 runs and URL logins. */
export function redactSes(text: string, secrets: SesSecretRedactor = (plain) => plain): string {
  return redact(secrets(text).replace(ACCESS_KEY_ID, '[redacted]'));
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The error's name as SES spells it (`MessageRejected`), the socket code of a network error, or undefined. */
export function sesErrorName(error: unknown): string | undefined {
  const sdk = (error ?? {}) as SdkError;
  const name = stringOf(sdk.name);
  const code = stringOf(sdk.code);
  if (code && NETWORK_CODES.has(code)) return code;
  return name && name !== 'Error' ? name : code;
}

function statusOf(error: unknown): number | undefined {
  const status = ((error ?? {}) as SdkError).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** How to sort a failure of a SES API call (see `SmtpFailureKind`). */
export function sesFailureKind(error: unknown): SmtpFailureKind {
  const name = sesErrorName(error);
  const status = statusOf(error);
  if (name && (NETWORK_CODES.has(name) || name === 'TimeoutError' || name === 'AbortError')) return 'unavailable';
  if (name && THROTTLED.has(name)) return 'transient';
  if (name && CREDENTIALS.has(name)) return 'configuration';
  if (name && ACCOUNT.has(name)) return 'configuration';
  if (name && MESSAGE.has(name)) return 'permanent';
  if (status === 429 || (status !== undefined && status >= 500) || (name && SERVICE_FAULT.has(name))) return 'transient';
  if (status === 401 || status === 403) return 'configuration';
  if (status !== undefined && status >= 400) return 'permanent';
  // No HTTP answer and no known name (a failure before the request left, e.g. a region that does not resolve).
  return status === undefined && /socket hang up|connect|network/i.test(String((error as SdkError)?.message ?? '')) ? 'unavailable' : 'transient';
}

/** What to do about it, in plain words. */
function fixFor(kind: SmtpFailureKind, name: string | undefined): string {
  if (name === 'CredentialsProviderError') return 'no AWS credentials were found: set transport.ses.credentials, or provide them to the SDK (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, or a role). Delivery resumes once GetAccount answers.';
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'NotAuthorized') return 'the IAM identity lacks a permission: allow ses:SendEmail (and ses:GetAccount) on the identity. Delivery resumes once GetAccount answers.';
  if (name === 'AccountSuspendedException' || name === 'SendingPausedException') return 'SES stopped sending for this account or configuration set: see the SES console (account dashboard, reputation) and AWS’s message. Delivery resumes once GetAccount says sending is enabled.';
  if (name === 'MailFromDomainNotVerifiedException') return 'the custom MAIL FROM domain of the sending identity is not verified: publish its MX and SPF records (SES console, identity, "Custom MAIL FROM domain").';
  if (name === 'NotFoundException') return 'a resource named in the request does not exist in this region: check transport.ses.configurationSetName and transport.ses.region.';
  if (kind === 'configuration') return 'check transport.ses.credentials (access key id and secret of one IAM key, not revoked) and transport.ses.region; delivery resumes once GetAccount answers.';
  if (kind === 'unavailable') return 'check that this host reaches the SES endpoint over HTTPS (port 443; a proxy or firewall may block it) and that transport.ses.region/endpoint are right.';
  if (kind === 'permanent') return 'the message or a recipient was refused: in the SES sandbox only verified recipients are allowed (request production access), and From must be a verified identity.';
  return 'SES asked to be tried later (throttling or a service fault); the email is retried with backoff.';
}

/**
 * Sorts a failure of a SES API call: throttling and 5xx `transient`; a refused message (`MessageRejected`,
 * `BadRequestException`) `permanent`; a refused key (403, `UnrecognizedClientException`, …), missing
 * credentials or an account that may not send `configuration`; no answer at all `unavailable`. The reason
 * names SES's error and request id, never the key.
 */
export function classifySesFailure(error: unknown, secrets?: SesSecretRedactor): SmtpFailure {
  const kind = sesFailureKind(error);
  const name = sesErrorName(error);
  const status = statusOf(error);
  const requestId = stringOf(((error ?? {}) as SdkError).$metadata?.requestId);
  const message = redactSes(String(((error ?? {}) as SdkError).message ?? 'no message'), secrets)
    .slice(0, 300)
    .replace(/[.\s]+$/, '');
  // A request id is a UUID; anything else is left out rather than risk quoting what the request carried.
  const id = requestId !== undefined && /^[A-Za-z0-9-]{8,64}$/.test(requestId) && !/^(AKIA|ASIA)/.test(requestId) ? requestId : undefined;
  const what = [name ?? 'error', status !== undefined ? `HTTP ${status}` : undefined, id ? `request id ${id}` : undefined].filter(Boolean).join(', ');
  const lead =
    kind === 'unavailable'
      ? 'Amazon SES was not reached'
      : kind === 'configuration'
        ? 'Amazon SES refused the account or its key'
        : kind === 'permanent'
          ? 'Amazon SES refused the message'
          : 'Amazon SES deferred the message';
  return { kind, reason: `${lead} (${what}): ${message}. Fix: ${fixFor(kind, name)}` };
}

/** A failure of a SES call as our typed error, without the SDK error (it holds the request) as cause. */
export function toSesDeliveryError(error: unknown, secrets?: SesSecretRedactor): EmailDeliveryError {
  return new EmailDeliveryError(classifySesFailure(error, secrets));
}
