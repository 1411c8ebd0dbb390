import type { EmailQueueStatus } from 'nestjs-email-workflow';

/**
 * Polls `check` every `everyMs` until it holds, failing once `timeoutMs` has passed with `what` (or, given
 * a function, with what it says then: the state that was not reached).
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Resolves once the workflow's queue holds nothing waiting, in flight or scheduled for a retry: from then
 * on no delivery attempt can happen, so counts of messages and events are final.
 */
export async function untilQueueIdle(emails: { queueStatus(): Promise<EmailQueueStatus> }, timeoutMs = 10_000): Promise<void> {
  let status: EmailQueueStatus | undefined;
  await until(
    async () => {
      status = await emails.queueStatus();
      return status.waiting + status.active + status.delayed === 0;
    },
    () => `the queue to be idle (${JSON.stringify(status)})`,
    timeoutMs,
  );
}

/**
 * Waits a fixed time. Only for proving that something does NOT happen within a window, where there is no
 * condition to wait for; everything else waits with `until`.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
