/** Exponential backoff with jitter between the tries of one email (`queue.backoff`). */
export interface EmailRetryBackoff {
  /** Delay before the second attempt, in ms; it doubles each attempt. @default 5000 */
  delay?: number;
  /** Upper bound of one delay, in ms. @default 3600000 (1 hour) */
  maxDelay?: number;
}

export const DEFAULT_BACKOFF: Required<EmailRetryBackoff> = { delay: 5_000, maxDelay: 3_600_000 };

/**
 * Delay before the next try after `failedAttempts` failures: exponential, capped, with "equal jitter"
 * (half fixed, half random) so retries of many emails do not hit a recovering server all at once.
 */
export function retryDelay(failedAttempts: number, backoff: Required<EmailRetryBackoff>, random = Math.random): number {
  const exponential = Math.min(backoff.maxDelay, backoff.delay * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
