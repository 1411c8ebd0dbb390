import { CREDENTIAL_KEY_ENV, decryptCredential, isEncryptedCredential } from '../../crypto';
import type { OptionsProblem } from '../../errors';
import type { OptionsResolution } from '../../options';
import type { DkimOptions } from '../dkim.options';

/** A static AWS access key (an IAM user's, or a role session's with its token). */
export interface SesCredentials {
  accessKeyId: string;
  /** The secret; an `enc:v1:` value is decrypted with `credentialKeys` at boot. */
  secretAccessKey: string;
  /** For temporary credentials (STS). */
  sessionToken?: string;
}

/**
 * `transport: { ses: … }`: Amazon SES through its v2 API (`SendEmail` with the raw MIME nodemailer builds),
 * for hosts whose outbound SMTP ports are blocked. Needs `@aws-sdk/client-sesv2` installed.
 */
export interface SesTransportOptions {
  /** The AWS region of the SES account, e.g. `eu-west-1` (identities and quotas are per region). */
  region: string;
  /**
   * A static key. Unset: the AWS SDK's default chain (environment `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
   * shared config and SSO profiles, ECS/EKS/EC2 roles), which is the better choice on AWS itself.
   */
  credentials?: SesCredentials;
  /** Another endpoint than the region's (a VPC endpoint, or a stand-in in tests), as an http(s) URL. */
  endpoint?: string;
  /** A configuration set to send with (event publishing to SNS, dedicated IP pools). */
  configurationSetName?: string;
  /** Milliseconds one API call may take, connecting included. @default 30000 */
  timeout?: number;
}

/** The module options a SES transport is resolved with besides its own. */
export interface SesTransportContext {
  /** Keys for an `enc:v1:` secret, the current first. */
  credentialKeys?: string[];
  /** The module's `dkim`: nodemailer signs with it as well as SES's own Easy DKIM (see docs/transports.md). */
  dkim?: DkimOptions;
}

/** What `SesTransport` is made from: the options checked, the secret decrypted, the module's DKIM attached. */
export interface ResolvedSesOptions extends SesTransportOptions {
  dkim?: DkimOptions;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function credentialProblems(credentials: unknown, path: string): OptionsProblem[] {
  if (credentials === undefined) return [];
  if (!isObject(credentials)) {
    return [{ path, problem: 'must be an object { accessKeyId, secretAccessKey, sessionToken? }', fix: 'give both keys, or leave credentials unset to use the AWS SDK default chain (environment, profile, role)' }];
  }
  const problems: OptionsProblem[] = [];
  // Never quote the values: a misplaced secret would end up in the boot error.
  if (!nonEmptyString(credentials.accessKeyId) || !ACCESS_KEY_ID.test(credentials.accessKeyId)) {
    problems.push({ path: `${path}.accessKeyId`, problem: 'must be an AWS access key id (upper-case letters and digits, e.g. AKIA…)', fix: 'copy the access key id of the IAM user or role session' });
  }
  if (!nonEmptyString(credentials.secretAccessKey)) {
    problems.push({ path: `${path}.secretAccessKey`, problem: 'must be a non-empty string', fix: 'copy the secret access key that belongs to the access key id' });
  }
  if (credentials.sessionToken !== undefined && !nonEmptyString(credentials.sessionToken)) {
    problems.push({ path: `${path}.sessionToken`, problem: 'must be a non-empty string when set', fix: 'give the session token of the temporary credentials, or leave it unset' });
  }
  const known = ['accessKeyId', 'secretAccessKey', 'sessionToken'];
  for (const key of Object.keys(credentials).filter((name) => !known.includes(name))) {
    problems.push({ path: `${path}.${key}`, problem: 'is not a known option', fix: `use ${known.join(', ')}` });
  }
  return problems;
}

function endpointProblems(endpoint: unknown, path: string): OptionsProblem[] {
  if (endpoint === undefined) return [];
  let url: URL | undefined;
  try {
    url = typeof endpoint === 'string' ? new URL(endpoint) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return [{ path, problem: 'must be an http(s) URL', fix: 'e.g. https://email.eu-west-1.amazonaws.com, or leave it unset for the region’s endpoint' }];
  }
  if (url.username || url.password) return [{ path, problem: 'must not carry a user or password', fix: 'give the key in ses.credentials' }];
  return [];
}

/** Every problem of a `{ ses: … }` option, each naming its path (`transport.ses.region`). */
export function sesOptionsProblems(ses: unknown, path: string): OptionsProblem[] {
  if (!isObject(ses)) return [{ path, problem: 'must be an object { region, credentials?, endpoint? }', fix: 'e.g. transport: { ses: { region: "eu-west-1" } }' }];
  const problems: OptionsProblem[] = [];
  if (!nonEmptyString(ses.region) || !REGION.test(ses.region)) {
    problems.push({ path: `${path}.region`, problem: 'must be an AWS region such as "eu-west-1"', fix: 'the region where your SES identities are verified (SES console, top right)' });
  }
  problems.push(...credentialProblems(ses.credentials, `${path}.credentials`), ...endpointProblems(ses.endpoint, `${path}.endpoint`));
  if (ses.configurationSetName !== undefined && !nonEmptyString(ses.configurationSetName)) {
    problems.push({ path: `${path}.configurationSetName`, problem: 'must be a non-empty string when set', fix: 'the name of a configuration set in this region, or leave it unset' });
  }
  if (ses.timeout !== undefined && !(typeof ses.timeout === 'number' && Number.isInteger(ses.timeout) && ses.timeout > 0)) {
    problems.push({ path: `${path}.timeout`, problem: 'must be a positive whole number of milliseconds', fix: 'e.g. 30000' });
  }
  const known = ['region', 'credentials', 'endpoint', 'configurationSetName', 'timeout'];
  for (const key of Object.keys(ses).filter((name) => !known.includes(name))) {
    problems.push({ path: `${path}.${key}`, problem: 'is not a known option', fix: `use ${known.join(', ')}` });
  }
  return problems;
}

/** The secret as SES needs it: an `enc:v1:` one decrypted with the configured keys. */
function decryptSecret(options: SesTransportOptions, keys: string[], path: string): OptionsResolution<SesTransportOptions> {
  const sealed = options.credentials?.secretAccessKey;
  if (!isEncryptedCredential(sealed)) return { ok: true, value: options };
  const problem = (text: string, fix: string): OptionsResolution<never> => ({ ok: false, problems: [{ path: `${path}.credentials.secretAccessKey`, problem: text, fix }] });
  if (keys.length === 0) return problem('is encrypted (enc:v1:) but no key is configured', `set credentialKeys or the ${CREDENTIAL_KEY_ENV} environment variable`);
  const secretAccessKey = decryptCredential(sealed, keys);
  if (secretAccessKey === undefined) return problem('cannot be decrypted with the configured keys (wrong key, or the value was altered)', `check ${CREDENTIAL_KEY_ENV}`);
  return { ok: true, value: { ...options, credentials: { ...options.credentials!, secretAccessKey } } };
}

/**
 * One `transport` entry that is `{ ses: … }`, checked and resolved: its problems (paths under `path`, e.g.
 * `transport[1]`), or the options `new SesTransport(…)` takes. Nothing is loaded here: the AWS SDK is
 * required only when the transport is made.
 */
export function resolveSesOptions(option: { ses: unknown }, path: string, context: SesTransportContext = {}): OptionsResolution<ResolvedSesOptions> {
  const sesPath = `${path}.ses`;
  const problems = sesOptionsProblems(option.ses, sesPath);
  if (problems.length > 0) return { ok: false, problems };
  const decrypted = decryptSecret(option.ses as SesTransportOptions, context.credentialKeys ?? [], sesPath);
  if (!decrypted.ok) return decrypted;
  return { ok: true, value: context.dkim ? { ...decrypted.value, dkim: { ...context.dkim } } : decrypted.value };
}

/** Whether a `transport` entry is `{ ses: … }` (and not an SMTP object or `{ use }`). */
export function isSesOption(option: unknown): option is { ses: unknown } {
  return isObject(option) && 'ses' in option;
}
