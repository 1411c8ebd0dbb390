/** Amazon SES notifications, delivered by Amazon SNS to an HTTPS subscription. */
export interface SesWebhookOptions {
  /**
   * The ARNs of the SNS topics SES publishes to. Required: a message from any other topic is refused, and
   * only a subscription to one of these is confirmed.
   */
  topics: string[];
  /**
   * TESTS ONLY, refused unless NODE_ENV is `test`: accept certificate and subscription URLs on this one
   * `host:port` (instead of `sns.<region>.amazonaws.com`) and trust `ca` for it, so a test can serve its own
   * signing certificate over https on loopback. Never set it in an app.
   */
  testOnlyCertificateServer?: { host: string; ca: string };
}

/** SendGrid's Signed Event Webhook. */
export interface SendGridWebhookOptions {
  /** The verification key from Mail Settings → Signed Event Webhook: base64 (DER) as SendGrid shows it, or PEM. */
  publicKey: string;
}

/** Mailgun webhooks (JSON). */
export interface MailgunWebhookOptions {
  /** The HTTP webhook signing key (Sending → Webhooks). */
  signingKey: string;
}

/** Postmark webhooks. Postmark signs nothing: give credentials, its IP addresses, or both. */
export interface PostmarkWebhookOptions {
  /** Basic auth credentials you put in the webhook URL: `https://<username>:<password>@app.example.com/webhooks/email/postmark`. */
  basicAuth?: { username: string; password: string };
  /**
   * The addresses Postmark sends webhooks from (listed on its support site; they change, keep them current).
   * Single addresses or CIDR ranges. Behind a proxy, set Express's or Fastify's `trust proxy` so the client
   * address is the real one.
   */
  allowIps?: string[];
}

/** Resend webhooks (signed by Svix). */
export interface ResendWebhookOptions {
  /** The webhook's signing secret, `whsec_…`. */
  secret: string;
}

/**
 * Options of `EmailWebhooksModule.forRoot()`: one POST route per configured provider, at `<path>/<provider>`.
 * The app must keep the raw body: `NestFactory.create(AppModule, { rawBody: true })`.
 */
export interface EmailWebhooksOptions {
  /** Where the routes are mounted (under the app's global prefix, if any). @default '/webhooks/email' */
  path?: string;
  /** The largest body read, in bytes; a bigger one is refused with 413. @default 1048576 (1 MiB) */
  maxBodySize?: number;
  /** How old (or how far ahead) a signed timestamp may be, in ms. @default 300000 (5 minutes) */
  maxAge?: number;
  ses?: SesWebhookOptions;
  sendgrid?: SendGridWebhookOptions;
  mailgun?: MailgunWebhookOptions;
  postmark?: PostmarkWebhookOptions;
  resend?: ResendWebhookOptions;
}

export type WebhookProviderName = 'ses' | 'sendgrid' | 'mailgun' | 'postmark' | 'resend';

export const WEBHOOK_PROVIDERS: readonly WebhookProviderName[] = ['ses', 'sendgrid', 'mailgun', 'postmark', 'resend'];

/** What every provider's check needs besides its own options. */
export interface WebhookLimits {
  maxBodySize: number;
  maxAgeMs: number;
}
