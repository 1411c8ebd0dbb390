import { EmailWorkflowErrorCode } from './error-codes';

/** Base class of every error this library throws. */
export abstract class EmailWorkflowError extends Error {
  abstract readonly code: EmailWorkflowErrorCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** One configuration problem: where it is, what is wrong, how to fix it. */
export interface OptionsProblem {
  path: string;
  problem: string;
  fix: string;
}

/** The module options failed validation at boot. Lists every bad field at once. */
export class InvalidOptionsError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.InvalidOptions;

  constructor(readonly problems: OptionsProblem[]) {
    super(
      `EmailWorkflowModule options are invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.path}: ${p.problem}. Fix: ${p.fix}`).join('\n'),
    );
  }
}

/** No template of that name (and no locale variant or fallback) exists. */
export class TemplateNotFoundError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.TemplateNotFound;

  constructor(
    readonly template: string,
    available: string[],
  ) {
    super(
      `Template "${template}" does not exist. Available: ${available.join(', ')}. ` +
        `Fix: add "${template}.mjml" to templates.dir or use one of the available names.`,
    );
  }
}

/** A template file could not be compiled (bad MJML, bad front matter, a denied mj-include). */
export class TemplateInvalidError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.TemplateInvalid;

  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`Template file ${file} is invalid: ${reason}. Fix the file and restart.`);
  }
}

/** The template uses a variable that the send's context does not provide. */
export class TemplateVariableMissingError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.TemplateVariableMissing;

  constructor(
    readonly template: string,
    readonly variable: string,
  ) {
    super(
      `Template "${template}" uses the variable "${variable}", but the context has no value for it. ` +
        `Fix: pass context.${variable}, or guard it in the template with {{#if ${variable}}}.`,
    );
  }
}

/** The recipient is not one valid email address. Raised before any SMTP traffic. */
export class InvalidRecipientError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.InvalidRecipient;

  constructor(reason: string) {
    super(`Recipient refused: ${reason}. Fix: pass exactly one address such as "ada@example.com".`);
  }
}

/**
 * - `transient`: this message may go through later (4xx to MAIL/RCPT/DATA, a connection reset or lost
 *   mid-send): retry with backoff.
 * - `permanent`: this message will never be accepted (5xx at MAIL/RCPT/DATA): do not retry.
 * - `configuration`: no message can go out until settings or the server change (bad credentials,
 *   TLS mismatch, untrusted certificate): pause delivery instead of burning every job's retries.
 * - `unavailable`: the server cannot be reached now (connection refused, DNS failure, no answer to
 *   connect or greeting, 421 at greeting), which says nothing about the message: pause delivery until
 *   the server answers again.
 */
export type SmtpFailureKind = 'transient' | 'permanent' | 'configuration' | 'unavailable';

/** Why the SMTP server did not take a message, sorted by what can help (see `SmtpFailureKind`). */
export interface SmtpFailure {
  kind: SmtpFailureKind;
  responseCode?: number;
  enhancedCode?: string;
  /** What happened and what to do, in plain words, without any credential. */
  reason: string;
}

/** The SMTP server did not accept the message. `kind` says whether retrying can help. */
export class EmailDeliveryError extends EmailWorkflowError {
  readonly code: EmailWorkflowErrorCode = EmailWorkflowErrorCode.DeliveryFailed;
  readonly kind: SmtpFailureKind;
  readonly responseCode?: number;
  readonly enhancedCode?: string;

  constructor(readonly failure: SmtpFailure) {
    super(failure.reason);
    this.kind = failure.kind;
    this.responseCode = failure.responseCode;
    this.enhancedCode = failure.enhancedCode;
  }
}

/** What to do about a Redis failure, by what Redis said: a cluster redirection or a missing permission is no outage. */
function fixForRedis(reason: string): string {
  if (/\b(MOVED|ASK|CROSSSLOT|CLUSTERDOWN)\b/.test(reason)) return 'Redis is a cluster: give queue.redis { cluster: { nodes } } (or a list of node URLs) and a queue.prefix with a hash tag, e.g. "{bull}".';
  if (/\bNOPERM\b/.test(reason)) return 'the Redis user lacks a permission: grant it (docs/delivery.md, "Running on managed Redis", lists what each driver needs).';
  if (/\bREADONLY\b/.test(reason)) return 'Redis answered as a read-only replica: point queue.redis at the master, or use Sentinel so the client follows failovers.';
  if (/\b(WRONGPASS|NOAUTH)\b/.test(reason)) return 'check the user and password in queue.redis.';
  return 'check that Redis at queue.redis is running and reachable, then retry.';
}

/**
 * The queue's Redis, which also holds the tokens and rate limits, was unreachable or did not answer
 * within `queue.commandTimeout`. The message says what did not happen: retry or report.
 */
export class QueueUnavailableError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.QueueUnavailable;

  constructor(reason: string, outcome = 'Nothing was queued.') {
    super(`The email queue is unavailable: ${reason}. ${outcome} Fix: ${fixForRedis(reason)}`);
  }
}

/**
 * Why a token was refused. A code is refused with `invalid-code` whatever the cause (wrong, unknown
 * address, tries spent, expired, used), so the answer tells nobody which addresses have accounts.
 */
export type InvalidTokenReason = 'unknown' | 'expired' | 'used' | 'wrong-purpose' | 'invalid-code';

const TOKEN_ERRORS: Record<InvalidTokenReason, { code: EmailWorkflowErrorCode; message: string }> = {
  unknown: { code: EmailWorkflowErrorCode.TokenUnknown, message: 'This link is not valid. Request a new one.' },
  expired: { code: EmailWorkflowErrorCode.TokenExpired, message: 'This link has expired or was replaced. Request a new one.' },
  used: { code: EmailWorkflowErrorCode.TokenUsed, message: 'This link was already used. Request a new one if you still need it.' },
  'wrong-purpose': {
    code: EmailWorkflowErrorCode.TokenWrongPurpose,
    message: 'This link is for a different action. Use the link from the right email.',
  },
  'invalid-code': { code: EmailWorkflowErrorCode.CodeInvalid, message: 'This code is not valid or has expired. Check it, or request a new one.' },
};

/** A token or code was refused. `code` tells which reason; the message is safe to show users. */
export class InvalidTokenError extends EmailWorkflowError {
  readonly code: EmailWorkflowErrorCode;

  constructor(readonly reason: InvalidTokenReason) {
    super(TOKEN_ERRORS[reason].message);
    this.code = TOKEN_ERRORS[reason].code;
  }
}

/** Too many requests for one address or IP. The same for known and unknown addresses. */
export class RateLimitedError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.RateLimited;

  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests. Try again in ${retryAfterSeconds} s.`);
  }
}

/** A workflow method needs the app's user directory, and none was given. */
export class UserDirectoryMissingError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.UserDirectoryMissing;

  constructor() {
    super(
      'No EmailUserDirectory is configured, so the verification and reset flows cannot look users up. ' +
        'Fix: pass `users` in the module options (forRootAsync can inject your service), or provide EMAIL_USER_DIRECTORY globally.',
    );
  }
}

/**
 * A flow was called that its options do not set up: `requestSignIn()` without `links.signIn`, an
 * email change without `users.updateEmail`. `missing` names the option or method to add.
 */
export class FlowNotConfiguredError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.FlowNotConfigured;

  constructor(
    readonly method: string,
    readonly missing: string,
    fix = missing.startsWith('links.')
      ? `set ${missing} in the module options to an absolute https URL with {token}`
      : `implement ${missing.replace(/^users\./, '')}() in your EmailUserDirectory`,
  ) {
    super(`${method}${method.includes(' ') ? '' : '()'} cannot run: ${missing} is not configured. Fix: ${fix}.`);
  }
}

/** A before-send hook set a header that is not a valid header name or value. */
export class InvalidHeaderError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.InvalidHeader;

  constructor(readonly header: string) {
    super(`Header "${header.replace(/[^\x21-\x7e]/g, '?')}" was refused: names are letters, digits and dashes, values have no line breaks. Fix the @BeforeEmailSend hook that set it.`);
  }
}

/** A `@BeforeEmailSend` hook cancelled the email of `sendTestEmail()`, so nothing was sent or diagnosed past the hooks. */
export class TestEmailCancelledError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.TestEmailCancelled;

  constructor(readonly reason: string) {
    super(
      `The test email was cancelled by a @BeforeEmailSend hook: ${reason}. ` +
        'Fix: send it to an address your hooks let through, or call diagnoseTransport() to check the server without sending.',
    );
  }
}

/**
 * EmailDevInboxModule was started outside development: `NODE_ENV` (trimmed, lower-cased) is not
 * `development` or `test`. Unset counts as outside: a forgotten variable must not expose every email.
 */
export class DevInboxInProductionError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.DevInboxInProduction;

  constructor(readonly nodeEnv: string | undefined) {
    super(
      `EmailDevInboxModule refused to start: NODE_ENV is ${nodeEnv === undefined ? 'unset' : JSON.stringify(nodeEnv)}, and it starts only when NODE_ENV is "development" or "test", ` +
        'since the dev inbox catches every email and shows it on unauthenticated pages. ' +
        'Fix: import EmailDevInboxModule only in development, and set NODE_ENV=development there to enable it; in production, give EmailWorkflowModule your real SMTP transport.',
    );
  }
}

/** EmailDevInboxModule needs a development package that is not installed. */
export class DevInboxDependencyMissingError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.DevInboxDependencyMissing;

  constructor(readonly missingPackage: string) {
    super(`EmailDevInboxModule cannot start: the package "${missingPackage}" is not installed. Fix: npm install -D smtp-server mailparser`);
  }
}

/**
 * A feature that was switched on needs an optional package that is not installed: `mjml` for
 * `templates.dir`, `bull` for `queue.redis`. The library loads these only when they are used.
 */
export class DependencyMissingError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.DependencyMissing;

  constructor(
    readonly missingPackage: string,
    readonly neededFor: string,
  ) {
    super(`${neededFor} needs the package "${missingPackage}", which is not installed. Fix: npm install ${missingPackage}`);
  }
}

/** What an `EmailNotSentError` lists of each email that was sent. */
export interface SentEmailSummary {
  template: string;
  /** Recipient address. */
  to: string;
  subject: string;
}

/**
 * A test outbox (`nestjs-email-workflow/testing`) waited for an email that did not come. The message
 * lists what was sent instead, so a wrong template name or address shows at a glance.
 */
export class EmailNotSentError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.EmailNotSent;

  constructor(
    /** The email waited for, in words: `matching { template: "welcome" }`. */
    readonly expected: string,
    readonly waitedMs: number,
    readonly sent: readonly SentEmailSummary[],
  ) {
    const listing =
      sent.length === 0
        ? 'Nothing was sent since the outbox was last cleared.'
        : `Sent since the outbox was last cleared (${sent.length}):\n` +
          sent.map((email) => `  - ${email.template} to ${email.to}: "${email.subject}"`).join('\n');
    super(
      `No email ${expected} was sent within ${waitedMs} ms. ${listing}\n` +
        'Fix: check the template name and the address, and that the code under test awaits the call that sends the email.',
    );
  }
}
