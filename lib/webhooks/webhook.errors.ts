import { InvalidOptionsError } from '../errors';
import type { OptionsProblem } from '../errors';

/**
 * `EmailWebhooksModule.forRoot()` options are invalid: an InvalidOptionsError (code
 * `EMAIL_WORKFLOW_INVALID_OPTIONS`) whose `problems` name each field and its fix.
 */
export class InvalidWebhookOptionsError extends InvalidOptionsError {
  constructor(problems: OptionsProblem[]) {
    super(problems);
    this.message =
      `EmailWebhooksModule options are invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
      problems.map((p) => `  - ${p.path}: ${p.problem}. Fix: ${p.fix}`).join('\n');
  }
}

/**
 * Why a webhook request is refused. The provider only ever sees the status (no detail: a detail would help
 * whoever forges requests); `why` is logged at debug level.
 */
export class WebhookRefusal extends Error {
  constructor(
    readonly status: 400 | 401 | 413,
    readonly why: string,
  ) {
    super(why);
  }
}

/** The request could not be checked now (a certificate could not be fetched): answered 503 so the provider retries. */
export class WebhookUnavailable extends Error {}

export const unauthorized = (why: string): WebhookRefusal => new WebhookRefusal(401, why);
export const malformed = (why: string): WebhookRefusal => new WebhookRefusal(400, why);
