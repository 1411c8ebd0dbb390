import type { EmailRetryBackoff } from './queue.options';

/**
 * Delay before the next try after `failedAttempts` failures: exponential, capped, with "equal jitter"
 * (half fixed, half random) so retries of many emails do not hit a recovering server all at once.
 */
export function retryDelay(failedAttempts: number, backoff: Required<EmailRetryBackoff>, random = Math.random): number {
  const exponential = Math.min(backoff.maxDelay, backoff.delay * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
