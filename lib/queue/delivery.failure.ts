import type { SmtpFailure } from '../errors';

/** A try that did not deliver. `retryDelay` is set when the queue should try again after that many ms. */
export class DeliveryFailure extends Error {
  constructor(
    readonly failure: SmtpFailure,
    readonly retryDelay?: number,
  ) {
    super(failure.reason);
    this.name = 'DeliveryFailure';
  }

  get willRetry(): boolean {
    return this.retryDelay !== undefined;
  }
}
