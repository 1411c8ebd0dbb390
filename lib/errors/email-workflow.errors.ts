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

/** The SMTP server did not accept the message. `kind` says whether retrying can help. */
export class EmailDeliveryError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.DeliveryFailed;

  constructor(
    message: string,
    readonly kind: 'transient' | 'permanent' | 'configuration',
    readonly responseCode?: number,
    readonly enhancedCode?: string,
  ) {
    super(message);
  }
}

/** The email could not be stored in the queue (Redis unreachable). Nothing was queued: retry or report. */
export class QueueUnavailableError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.QueueUnavailable;

  constructor(reason: string) {
    super(`The email queue is unavailable: ${reason}. Nothing was queued. Fix: check that Redis at queue.redis is running and reachable, then retry.`);
  }
}
