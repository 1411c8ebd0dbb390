import type { SmtpFailure } from '../errors';
import type { EmailFailedEvent } from '../events';

/** Why a try did not deliver: an SMTP failure, or `expired` once the email is older than `queue.maxAge`. */
export interface UndeliveredReason extends Omit<SmtpFailure, 'kind'> {
  kind: EmailFailedEvent['kind'];
}

/** A try that did not deliver. `retryDelay` is set when the queue should try again after that many ms. */
export class DeliveryFailure extends Error {
  constructor(
    readonly failure: UndeliveredReason,
    readonly retryDelay?: number,
  ) {
    super(failure.reason);
    this.name = 'DeliveryFailure';
  }

  get willRetry(): boolean {
    return this.retryDelay !== undefined;
  }
}

/**
 * A delivery given back untried because the process is shutting down: it was held at a closed gate,
 * or reached the worker after shutdown began. The queue puts it back as it was, without counting an
 * attempt, for another worker to take at once.
 */
export class DeliveryHandedBack extends DeliveryFailure {
  constructor(reason: string) {
    super({ kind: 'transient', reason }, 0);
    this.name = 'DeliveryHandedBack';
  }
}
