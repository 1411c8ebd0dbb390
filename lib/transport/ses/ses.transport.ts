import type { MailMessage } from '../mail-message';
import { DependencyMissingError } from '../../errors';
import { requireOptional } from '../../optional-packages';
import type { DeliveryReceipt, MailTransport, MailTransportJob, TransportCheck } from '../mail-transport';
import { loadNodemailer } from '../nodemailer.loader';
import { redactSes, SesSecretRedactor, sesSecretRedactor, toSesDeliveryError } from './ses.failure';
import type { ResolvedSesOptions } from './ses.options';

type SesV2Module = typeof import('@aws-sdk/client-sesv2');
type SesV2Client = InstanceType<SesV2Module['SESv2Client']>;
type GetAccountCommandOutput = import('@aws-sdk/client-sesv2').GetAccountCommandOutput;

/** The optional peer, loaded when the first SES transport is made, never when the library is imported. */
function loadSesV2(): SesV2Module {
  return requireOptional(
    '@aws-sdk/client-sesv2',
    () => require('@aws-sdk/client-sesv2') as SesV2Module,
    (name) => new DependencyMissingError(name, 'transport: { ses } (sending through the Amazon SES API)'),
  );
}

/** The account as SES's `GetAccount` describes it, and whether it can send. */
export interface SesAccountCheck extends TransportCheck {
  region: string;
  /** Unset when GetAccount failed. */
  sendingEnabled?: boolean;
  /** false: the account is in the SES sandbox (only verified recipients, 200 emails a day). */
  productionAccess?: boolean;
  /** `HEALTHY`, `PROBATION` or `SHUTDOWN`. */
  enforcementStatus?: string;
  quota?: { max24HourSend?: number; maxSendRate?: number; sentLast24Hours?: number };
  /** What the doctor shows beside ok (sandbox, probation, quota): one line each. */
  notes: string[];
  /** With `ok: false`: what kind of failure GetAccount met (`configuration` for a refused key). */
  failureKind?: 'transient' | 'permanent' | 'configuration' | 'unavailable';
}

/** SES's own MessageId, from the `250 Ok <id>` reply a SES transport reports (the delivery log's queue id). */
export const SES_RESPONSE_PREFIX = '250 Ok ';

/**
 * Sends through Amazon SES's v2 API (`SendEmail` with `Content.Raw`): nodemailer's SES transport builds the
 * MIME exactly as for SMTP (headers, our Message-ID, the module's DKIM signature when `dkim` is set) and hands
 * it to `@aws-sdk/client-sesv2`. The SDK's own retries are off: the queue retries, with its backoff, metrics
 * and events, as for SMTP. SES signs with Easy DKIM itself once the identity is verified.
 *
 * SES replaces the Message-ID header with its own `<MessageId@region.amazonses.com>`: the receipt keeps our
 * Message-ID (every try of an email carries it) and reports SES's MessageId as `250 Ok <MessageId>`, which
 * the delivery log records as the queue id, so SES's bounce and complaint notifications find the email.
 */
export class SesTransport implements MailTransport {
  readonly description: string;
  private readonly client: SesV2Client;
  private readonly sdk: SesV2Module;
  private readonly transporter: ReturnType<typeof import('nodemailer').createTransport>;
  private readonly secrets: SesSecretRedactor;

  constructor(private readonly options: ResolvedSesOptions) {
    this.sdk = loadSesV2();
    const timeout = options.timeout ?? 30_000;
    this.client = new this.sdk.SESv2Client({
      region: options.region,
      credentials: options.credentials && { ...options.credentials },
      endpoint: options.endpoint,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: timeout, requestTimeout: timeout },
    });
    this.secrets = sesSecretRedactor(options.credentials);
    const ses = { sesClient: this.client, SendEmailCommand: this.sdk.SendEmailCommand };
    const transportOptions = options.dkim ? { SES: ses, dkim: { ...options.dkim } } : { SES: ses };
    this.transporter = loadNodemailer().createTransport(transportOptions as Parameters<typeof import('nodemailer').createTransport>[0]);
    this.description = `ses (${options.region}${options.endpoint ? `, ${new URL(options.endpoint).origin}` : ''})`;
  }

  async deliver(message: MailMessage, job?: MailTransportJob): Promise<DeliveryReceipt> {
    const sesExtras = this.options.configurationSetName ? { ses: { ConfigurationSetName: this.options.configurationSetName } } : {};
    let info: { response?: unknown; envelope?: { to?: unknown } };
    try {
      info = (await this.transporter.sendMail({ ...message, ...sesExtras })) as typeof info;
    } catch (error) {
      throw toSesDeliveryError(error, this.secrets);
    }
    const sesMessageId = typeof info.response === 'string' ? info.response : '';
    const accepted = Array.isArray(info.envelope?.to) ? (info.envelope.to as unknown[]).map(String) : [];
    return {
      messageId: (message.messageId as string | undefined) ?? job?.messageId ?? '',
      accepted,
      rejected: [],
      response: `${SES_RESPONSE_PREFIX}${sesMessageId}`,
    };
  }

  /** `GetAccount`: whether the key is accepted and the account may send, with its sandbox state and quota. */
  async checkAccount(): Promise<SesAccountCheck> {
    const region = this.options.region;
    let account: GetAccountCommandOutput;
    try {
      account = await this.client.send(new this.sdk.GetAccountCommand({}));
    } catch (error) {
      const failure = toSesDeliveryError(error, this.secrets);
      return { ok: false, reason: failure.message, region, notes: [], failureKind: failure.kind };
    }
    const sendingEnabled = account.SendingEnabled === true;
    const productionAccess = account.ProductionAccessEnabled === true;
    const enforcementStatus = typeof account.EnforcementStatus === 'string' ? redactSes(account.EnforcementStatus) : undefined;
    const raw = account.SendQuota ?? {};
    const quota = { max24HourSend: raw.Max24HourSend, maxSendRate: raw.MaxSendRate, sentLast24Hours: raw.SentLast24Hours };
    const notes: string[] = [];
    if (!productionAccess) {
      notes.push('the account is in the SES sandbox: it sends only to verified addresses and domains, at most 200 emails a day; request production access in the SES console (Account dashboard)');
    }
    if (enforcementStatus === 'PROBATION') notes.push('the account is under review (enforcement status PROBATION): bounces or complaints are too high; see the SES reputation dashboard');
    if (quota.max24HourSend !== undefined) {
      notes.push(`quota: ${quota.sentLast24Hours ?? 0} of ${quota.max24HourSend} emails sent in the last 24 hours, at most ${quota.maxSendRate ?? '?'} a second`);
    }
    const quotaUsed = quota.max24HourSend !== undefined && quota.max24HourSend >= 0 && (quota.sentLast24Hours ?? 0) >= quota.max24HourSend;
    let reason: string | undefined;
    if (!sendingEnabled) {
      reason = `Amazon SES sending is disabled for this account in ${region}${enforcementStatus ? ` (enforcement status ${enforcementStatus})` : ''}. Fix: see the SES console (Account dashboard, Reputation metrics) and AWS’s message; delivery resumes once sending is enabled again.`;
    } else if (enforcementStatus === 'SHUTDOWN') {
      reason = `Amazon SES shut this account down in ${region} (enforcement status SHUTDOWN). Fix: contact AWS through the SES console.`;
    } else if (quotaUsed) {
      reason = `the Amazon SES daily quota in ${region} is used up (${quota.sentLast24Hours} of ${quota.max24HourSend}); emails are retried. Fix: wait, or ask AWS for a higher quota.`;
    }
    return { ok: reason === undefined, reason, region, sendingEnabled, productionAccess, enforcementStatus, quota, notes, failureKind: reason === undefined ? undefined : 'configuration' };
  }

  async verify(): Promise<TransportCheck> {
    const check = await this.checkAccount();
    return check.ok ? { ok: true } : { ok: false, reason: check.reason };
  }

  close(): void {
    this.transporter.close();
    this.client.destroy();
  }
}
