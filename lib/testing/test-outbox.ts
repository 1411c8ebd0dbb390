import { EmailNotSentError } from '../errors';
import type { SentEmailSummary } from '../errors';
import type { CapturedEmail, OutboxWaitOptions, SentEmailMatch } from './test-outbox.types';

/** Long enough for an in-process delivery on a slow CI machine, short of Jest's and Vitest's 5 s test timeout. */
const DEFAULT_WAIT_MS = 2_000;

function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function matches(email: CapturedEmail, match: SentEmailMatch): boolean {
  const { template, to, subject, tenant } = match;
  return (
    (template === undefined || email.template === template) &&
    (to === undefined || sameAddress(email.to.address, to)) &&
    (subject === undefined || (typeof subject === 'string' ? email.subject === subject : subject.test(email.subject))) &&
    (tenant === undefined || email.tenant === tenant)
  );
}

function describeMatch(match: SentEmailMatch): string {
  const fields = Object.entries(match)
    .filter(([, value]) => value !== undefined)
    .map(([field, value]) => `${field}: ${value instanceof RegExp ? String(value) : JSON.stringify(value)}`);
  return fields.length === 0 ? 'at all' : `matching { ${fields.join(', ')} }`;
}

/**
 * Every email the workflow sent while under test, captured where the delivery worker hands the
 * finished message to the SMTP transport, so hooks, rendering and headers all ran as in production.
 * Provided by `EmailWorkflowTestingModule` (inject it, or `moduleRef.get(TestOutbox)`), or filled by
 * `captureEmails(builder, outbox)`.
 *
 * Delivery is asynchronous: `send()` resolves once the email is queued, and the reset and resend
 * flows look the user up after answering. So `expectSent` and `nextEmailTo` wait (boundedly) for the
 * email; `emails` and `lastEmailTo` report only what has arrived.
 */
export class TestOutbox {
  private captured: CapturedEmail[] = [];
  /** Per lower-cased address, how many of its emails `nextEmailTo` has returned since the last clear. */
  private taken = new Map<string, number>();
  /** Called on every captured email, by the waits still pending. */
  private readonly arrivalListeners = new Set<() => void>();

  /** Every email captured since the last `clear()`, oldest first. A copy. */
  get emails(): readonly CapturedEmail[] {
    return [...this.captured];
  }

  /** The newest email captured for `address` (any case), or undefined if none has arrived. Does not wait. */
  lastEmailTo(address: string): CapturedEmail | undefined {
    return this.newest((email) => sameAddress(email.to.address, address));
  }

  /**
   * The oldest email to `address` that no earlier `nextEmailTo` returned, waiting for it to arrive if
   * need be. Successive calls walk through the address's emails in order, however fast they arrive.
   * Rejects with `EmailNotSentError`, listing what was sent, when none comes in time.
   */
  nextEmailTo(address: string, options: OutboxWaitOptions = {}): Promise<CapturedEmail> {
    const key = address.trim().toLowerCase();
    return this.waitFor(
      () => {
        const already = this.taken.get(key) ?? 0;
        const next = this.captured.filter((email) => sameAddress(email.to.address, key))[already];
        if (next) this.taken.set(key, already + 1);
        return next;
      },
      () => `to ${address}${this.taken.has(key) ? ` beyond the ${this.taken.get(key)} that nextEmailTo already returned` : ''}`,
      options,
    );
  }

  /**
   * Resolves with the newest captured email that matches, waiting for one to arrive if none has.
   * Rejects with `EmailNotSentError`, whose message lists every email that was sent, when none comes in
   * time. Needs no assertion library, so it works the same under Jest, Vitest or node:test.
   *
   * @example
   * const email = await outbox.expectSent({ template: 'verify-email', to: 'ada@example.test' });
   */
  expectSent(match: SentEmailMatch, options: OutboxWaitOptions = {}): Promise<CapturedEmail> {
    return this.waitFor(
      () => this.newest((email) => matches(email, match)),
      () => describeMatch(match),
      options,
    );
  }

  /** The http(s) links of the email's HTML part, in order, each once, e.g. the verification link. */
  linksIn(email: CapturedEmail): string[] {
    return [...email.links];
  }

  /** The one-time codes of the email: runs of 6 to 10 digits standing alone in its subject or text part. */
  codesIn(email: CapturedEmail): string[] {
    return [...email.codes];
  }

  /** Forgets every captured email and where `nextEmailTo` stands; waits still pending keep waiting. */
  clear(): void {
    this.captured = [];
    this.taken = new Map();
  }

  /** Adds an email. Called by the testing module's transport for every delivery; not for tests. */
  record(email: CapturedEmail): void {
    this.captured.push(email);
    this.arrivalListeners.forEach((listener) => listener());
  }

  private newest(predicate: (email: CapturedEmail) => boolean): CapturedEmail | undefined {
    for (let index = this.captured.length - 1; index >= 0; index--) {
      if (predicate(this.captured[index])) return this.captured[index];
    }
    return undefined;
  }

  /**
   * Resolves with what `take` finds, trying now and on every arrival until the timeout. `take` runs
   * synchronously on each arrival, so two waits never both claim the same email.
   */
  private waitFor(take: () => CapturedEmail | undefined, expected: () => string, options: OutboxWaitOptions): Promise<CapturedEmail> {
    const found = take();
    if (found) return Promise.resolve(found);
    const timeout = options.timeout ?? DEFAULT_WAIT_MS;
    return new Promise((resolve, reject) => {
      const stop = () => {
        clearTimeout(timer);
        this.arrivalListeners.delete(onArrival);
      };
      const onArrival = () => {
        const email = take();
        if (!email) return;
        stop();
        resolve(email);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new EmailNotSentError(expected(), timeout, this.captured.map(summarise)));
      }, timeout);
      this.arrivalListeners.add(onArrival);
    });
  }
}

function summarise(email: CapturedEmail): SentEmailSummary {
  return { template: email.template, to: email.to.address, subject: email.subject };
}
