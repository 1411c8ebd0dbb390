import type { EmailQueueOptions } from '../queue/queue.options';
import type { RateLimitRule, TokenStore } from '../tokens';
import type { EmailTransportOption } from '../transport/smtp-transport.options';
import type { EmailUserDirectory } from '../workflow/user-directory';

/** Brand details the built-in templates show in their header and footer. */
export interface BrandOptions {
  /** Product name, shown in the header and in subjects. */
  name: string;
  /** Absolute https URL of a logo image, shown in the header instead of the name. */
  logoUrl?: string;
  /** Hex colour of buttons and the header rule. @default '#2563eb' */
  primaryColor?: string;
  /** Address shown in the footer for questions. */
  supportEmail?: string;
  /** Postal address shown in the footer (some jurisdictions require one). */
  postalAddress?: string;
}

/** Absolute URL templates of the pages the emails link to. `{token}` is replaced per email. */
export interface LinkOptions {
  /** @example 'https://app.example.com/verify-email?token={token}' */
  verifyEmail: string;
  /** @example 'https://app.example.com/reset-password?token={token}' */
  resetPassword: string;
}

export interface TemplateOptions {
  /**
   * Folder of your own `.mjml` templates. A file named like a built-in (`welcome.mjml`) replaces it;
   * any other file is a new template, sendable by its name. `name.fr.mjml` is the French variant.
   */
  dir?: string;
  /** Locale used when a recipient has none, or no variant exists for theirs. @default 'en' */
  defaultLocale?: string;
}

/** Lifetimes of the single-use tokens behind the links, in seconds. */
export interface TokenOptions {
  /** @default 86400 (24 hours) */
  verifyEmailTtl?: number;
  /** @default 3600 (1 hour) */
  resetPasswordTtl?: number;
  /** Where token hashes live. Default: Redis with a Redis queue, process memory otherwise. */
  store?: TokenStore;
}

/** Limits on requests that send email to an address someone typed in. */
export interface RateLimitOptions {
  /** @default { limit: 5, windowSeconds: 3600 } */
  passwordResetPerAddress?: RateLimitRule;
  /** @default { limit: 20, windowSeconds: 3600 } */
  passwordResetPerIp?: RateLimitRule;
  /** Re-sent verification emails per address. @default { limit: 5, windowSeconds: 3600 } */
  verificationPerAddress?: RateLimitRule;
}

/** DKIM signing of every message. Publish the public key at `<keySelector>._domainkey.<domainName>`. */
export interface DkimOptions {
  domainName: string;
  keySelector: string;
  /** RSA private key in PEM (2048 bits or more). */
  privateKey: string;
}

/** Pools of tenant transports (see `transportResolver`). */
export interface TenantTransportOptions {
  /** Tenant pools kept open at most; the least recently used is closed beyond. @default 100 */
  maxCached?: number;
  /** Milliseconds after which an unused tenant pool is closed. @default 300000 */
  idleTimeout?: number;
}

/** Options of `EmailWorkflowModule.forRoot()` / `forRootAsync()`. */
export interface EmailWorkflowModuleOptions {
  /**
   * SMTP server: a URL or an object. Pooled by default, certificate checks on.
   * @example 'smtps://user:pass@smtp.example.com'
   */
  transport: EmailTransportOption;
  /** Sender, with an optional display name. @example 'Acme <no-reply@acme.com>' */
  from: string;
  /** Address replies should go to, when not `from`. */
  replyTo?: string;
  brand: BrandOptions;
  links: LinkOptions;
  templates?: TemplateOptions;
  /**
   * Delivery queue. `{ redis: 'redis://…' }` for durable delivery on Bull; `false` (the default) for
   * an in-process queue that is lost when the process stops.
   * @default false
   */
  queue?: false | EmailQueueOptions;
  /**
   * At least 32 bytes of random text. Encrypts queued email variables (AES-256-GCM) and keys token
   * hashes. Required with a Redis queue. Generate one with
   * `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`.
   */
  secret?: string;
  /** Your user store, for the verification and reset flows. Or provide `EMAIL_USER_DIRECTORY`. */
  users?: EmailUserDirectory;
  tokens?: TokenOptions;
  rateLimits?: RateLimitOptions;
  /**
   * Keys that decrypt `enc:v1:` passwords (from `npx nestjs-email-workflow encrypt-secret`), current
   * first, older ones after it during a rotation. Default: EMAIL_WORKFLOW_SECRET_KEY (comma-separated).
   */
  credentialKeys?: string[];
  /** Sign every message with DKIM. */
  dkim?: DkimOptions;
  /** A tenant's SMTP settings, for `send({ tenant })`. Each tenant gets its own pool and its own pause. */
  transportResolver?: (tenantId: string) => Promise<EmailTransportOption>;
  tenantTransports?: TenantTransportOptions;
}
