import type { OptionsProblem } from '../errors';
import { MailgunWebhook } from './mailgun.webhook';
import { PostmarkWebhook } from './postmark.webhook';
import { ResendWebhook } from './resend.webhook';
import { SendGridWebhook } from './sendgrid.webhook';
import { SesWebhook } from './ses.webhook';
import { InvalidWebhookOptionsError } from './webhook.errors';
import type { WebhookProvider } from './webhook.request';
import { WEBHOOK_PROVIDERS } from './webhooks.options';
import type { EmailWebhooksOptions, WebhookLimits } from './webhooks.options';

export interface WebhookSettings extends WebhookLimits {
  /** The routes' common path, one leading slash and none trailing. */
  path: string;
  providers: WebhookProvider[];
}

export const WEBHOOK_SETTINGS = 'EMAIL_WORKFLOW:WEBHOOK_SETTINGS';

const DEFAULT_MAX_BODY = 1024 * 1024;
const DEFAULT_MAX_AGE_MS = 5 * 60_000;
const SNS_TOPIC = /^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/** Builds one provider, turning what its constructor refuses (a key that does not parse) into a problem. */
function build(path: string, fix: string, create: () => WebhookProvider, problems: OptionsProblem[]): WebhookProvider[] {
  try {
    return [create()];
  } catch (error) {
    problems.push({ path, problem: (error as Error).message, fix });
    return [];
  }
}

function providersOf(options: EmailWebhooksOptions, limits: WebhookLimits, problems: OptionsProblem[]): WebhookProvider[] {
  const { ses, sendgrid, mailgun, postmark, resend } = options;
  const found: WebhookProvider[] = [];
  if (ses !== undefined) {
    const topics = isObject(ses) && Array.isArray(ses.topics) ? ses.topics : undefined;
    const test = isObject(ses) ? ses.testOnlyCertificateServer : undefined;
    if (topics === undefined || topics.length === 0 || !topics.every((topic) => typeof topic === 'string' && SNS_TOPIC.test(topic))) {
      problems.push({ path: 'ses.topics', problem: 'must list the ARNs of the SNS topics SES publishes to', fix: "set e.g. topics: ['arn:aws:sns:eu-west-1:123456789012:ses-events']" });
    } else if (test !== undefined && (process.env.NODE_ENV ?? '').trim().toLowerCase() !== 'test') {
      problems.push({ path: 'ses.testOnlyCertificateServer', problem: 'is for tests only and NODE_ENV is not test', fix: 'remove it: certificates are fetched from SNS itself' });
    } else if (test !== undefined && !(isObject(test) && isText(test.host) && isText(test.ca))) {
      problems.push({ path: 'ses.testOnlyCertificateServer', problem: 'must be { host, ca }', fix: "set e.g. { host: '127.0.0.1:8443', ca: caPem }" });
    } else found.push(new SesWebhook(ses, limits));
  }
  if (sendgrid !== undefined) {
    const fix = 'paste the verification key from Mail Settings → Signed Event Webhook';
    if (!isObject(sendgrid) || !isText(sendgrid.publicKey)) problems.push({ path: 'sendgrid.publicKey', problem: 'is missing', fix });
    else found.push(...build('sendgrid.publicKey', fix, () => new SendGridWebhook(sendgrid, limits), problems));
  }
  if (mailgun !== undefined) {
    if (!isObject(mailgun) || !isText(mailgun.signingKey)) {
      problems.push({ path: 'mailgun.signingKey', problem: 'is missing', fix: 'set the HTTP webhook signing key from Sending → Webhooks' });
    } else found.push(new MailgunWebhook(mailgun, limits));
  }
  if (postmark !== undefined) {
    const auth = isObject(postmark) ? postmark.basicAuth : undefined;
    const ips = isObject(postmark) ? postmark.allowIps : undefined;
    if (auth === undefined && ips === undefined) {
      problems.push({ path: 'postmark', problem: 'has neither basicAuth nor allowIps: Postmark signs nothing, so anyone could post', fix: 'set basicAuth (and put it in the webhook URL), allowIps, or both' });
    } else if (auth !== undefined && !(isObject(auth) && isText(auth.username) && isText(auth.password) && !auth.username.includes(':'))) {
      problems.push({ path: 'postmark.basicAuth', problem: 'must be { username, password } (no colon in the username)', fix: 'set both, e.g. from a secret store' });
    } else if (ips !== undefined && !(Array.isArray(ips) && ips.length > 0 && ips.every((ip) => typeof ip === 'string'))) {
      problems.push({ path: 'postmark.allowIps', problem: 'must be a non-empty list of addresses or CIDR ranges', fix: "set e.g. ['3.134.147.250', '50.31.156.6/32']" });
    } else found.push(...build('postmark.allowIps', 'list IPv4/IPv6 addresses or CIDR ranges', () => new PostmarkWebhook(postmark), problems));
  }
  if (resend !== undefined) {
    const fix = "set the webhook's signing secret, 'whsec_…'";
    if (!isObject(resend) || !isText(resend.secret)) problems.push({ path: 'resend.secret', problem: 'is missing', fix });
    else found.push(...build('resend.secret', fix, () => new ResendWebhook(resend, limits), problems));
  }
  return found;
}

/** Checks the options, applies the defaults and builds each configured provider's check; throws every problem at once. */
export function resolveWebhookSettings(options: EmailWebhooksOptions): WebhookSettings {
  const problems: OptionsProblem[] = [];
  if (!isObject(options as unknown)) throw new InvalidWebhookOptionsError([{ path: '(options)', problem: 'must be an object', fix: "pass e.g. { ses: { topics: ['arn:…'] } }" }]);
  const { path = '/webhooks/email', maxBodySize = DEFAULT_MAX_BODY, maxAge = DEFAULT_MAX_AGE_MS } = options;
  if (typeof path !== 'string' || !/^\/?[A-Za-z0-9._~/-]*$/.test(path)) problems.push({ path: 'path', problem: 'must be a URL path', fix: "use e.g. '/webhooks/email'" });
  if (!Number.isInteger(maxBodySize) || maxBodySize < 1024) problems.push({ path: 'maxBodySize', problem: 'must be a whole number of bytes, 1024 or more', fix: 'use e.g. 1048576 (1 MiB)' });
  if (!Number.isInteger(maxAge) || maxAge < 1_000) problems.push({ path: 'maxAge', problem: 'must be a whole number of ms, 1000 or more', fix: 'use e.g. 300000 (5 minutes)' });
  const limits = { maxBodySize, maxAgeMs: maxAge };
  const providers = providersOf(options, limits, problems);
  if (problems.length === 0 && providers.length === 0) {
    problems.push({ path: '(options)', problem: 'configure no provider', fix: `set one or more of ${WEBHOOK_PROVIDERS.join(', ')}` });
  }
  if (problems.length > 0) throw new InvalidWebhookOptionsError(problems);
  return { ...limits, path: `/${String(path).split('/').filter(Boolean).join('/')}`, providers };
}
