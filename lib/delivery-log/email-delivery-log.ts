import { createHmac } from 'node:crypto';
import { InvalidArgumentError } from '../errors';
import type { MessageRefs, PayloadCipher } from '../crypto';
import type { ClaimState, DeliveryEventType, DeliveryLogQuery, DeliveryLogStore, DeliveryRecord, DeliveryStep } from './delivery-log.types';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1_000;
/** A reply kept in the log is cut here: it is for a person to read, not an archive of what a server sent. */
const MAX_REPLY = 500;
const ADDRESS = /[^\s<>()[\]"',;:@]+@[^\s<>()[\]"',;:@]+/g;

/** The first step of a record: who and what the email is. Only ever stored sealed. */
export interface DeliveryHead {
  messageId: string;
  to: string;
  template: string;
  tenant?: string;
  locale?: string;
}

/** A step as stored (sealed): its time in epoch ms, and the head on the step that starts the record. */
interface StoredStep extends Omit<DeliveryStep, 'at'> {
  at: number;
  head?: DeliveryHead;
}

/** Every address in a server's reply replaced, and the reply shortened: the log names the recipient once, sealed. */
export function redactReply(reply: string): string {
  const redacted = reply.replace(ADDRESS, '[address]');
  return redacted.length > MAX_REPLY ? `${redacted.slice(0, MAX_REPLY)}…` : redacted;
}

/**
 * Amazon SES's SMTP interface answers `250 Ok <SES message id>`, e.g.
 * `250 Ok 010001727bf05c7f-8ff7cc5f-aea3-4284-91ea-51f2f82c4469-000000`: 16 hex digits, a UUID and 6 digits.
 * The same id is `mail.messageId` of its SNS notifications (SES notification contents, `mail` object).
 */
const SES_REPLY = /^250 Ok ([0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{6})\s*$/i;

/**
 * The server's queue id in a 250 reply: Postfix `queued as 4XyzB1`, Exim `id=1rAbCd-000123-4x`, Sendmail
 * `4XyzB1 Message accepted`, Amazon SES `Ok 0100…-000000`.
 */
export function queueIdOf(reply: string): string | undefined {
  return (
    SES_REPLY.exec(reply)?.[1] ??
    /queued as ([A-Za-z0-9._-]+)/i.exec(reply)?.[1] ??
    /\bid=([A-Za-z0-9._-]+)/i.exec(reply)?.[1] ??
    /^250 (?:2\.0\.0 )?([A-Za-z0-9]{8,})\b.*accepted/i.exec(reply)?.[1]
  );
}

/**
 * An address as the log keys it: trimmed, ASCII letters lower-cased, no Unicode folding (as the suppression
 * list does), so a look-alike address never shows another's emails.
 */
function loggedForm(address: string): string {
  return address.trim().replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/**
 * What happened to each email: one record per email from queued to sent (with the server's reply and queue
 * id), retried, failed or cancelled, and what came back later (bounced, delayed, complained). Kept where the
 * tokens are for `deliveryLog.retention`; Redis holds every step sealed and each address only as a keyed
 * hash, never a body.
 *
 * @example
 * // Did Ada get her reset email?
 * const [latest] = await this.deliveryLog.find({ to: 'ada@example.com', limit: 5 });
 */
export class EmailDeliveryLog {
  constructor(
    private readonly store: DeliveryLogStore,
    private readonly refs: MessageRefs,
    private readonly addressKey: Buffer,
    private readonly cipher: PayloadCipher,
  ) {}

  /** The record of the email with this Message-ID (as `send()` returned it), or undefined. */
  async get(messageId: string): Promise<DeliveryRecord | undefined> {
    if (typeof messageId !== 'string' || messageId.trim() === '') {
      throw new InvalidArgumentError('EmailDeliveryLog.get', 'messageId', 'the Message-ID send() returned, such as "<…@acme.com>"', describe(messageId));
    }
    return this.byRef(this.refs.refOf(messageId));
  }

  /** The emails to an address, newest first. */
  async find(query: DeliveryLogQuery): Promise<DeliveryRecord[]> {
    const method = 'EmailDeliveryLog.find';
    if (typeof query !== 'object' || query === null) throw new InvalidArgumentError(method, 'query', "an object such as { to: 'ada@example.com' }", describe(query));
    const { to, since, limit = DEFAULT_LIMIT } = query;
    if (typeof to !== 'string' || !to.includes('@')) throw new InvalidArgumentError(method, 'query.to', 'an email address', describe(to));
    if (since !== undefined && !(since instanceof Date && !Number.isNaN(since.getTime()))) throw new InvalidArgumentError(method, 'query.since', 'a valid Date', describe(since));
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new InvalidArgumentError(method, 'query.limit', `a whole number from 1 to ${MAX_LIMIT}`, describe(limit));
    const address = loggedForm(to);
    const refs = await this.store.refsOf(this.keyOf(address), since?.getTime() ?? 0, limit);
    const records = await Promise.all(refs.map((ref) => this.byRef(ref)));
    // A record listed under this key but sealed for another address (a copied Redis value) is not shown.
    return records.filter((record): record is DeliveryRecord => record !== undefined && loggedForm(record.to) === address);
  }

  /** The most recently queued emails, newest first (for the dev inbox; a support tool asks `find`). */
  async recent(limit = DEFAULT_LIMIT): Promise<DeliveryRecord[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new InvalidArgumentError('EmailDeliveryLog.recent', 'limit', `a whole number from 1 to ${MAX_LIMIT}`, describe(limit));
    const records = await Promise.all((await this.store.recent(limit)).map((ref) => this.byRef(ref)));
    return records.filter((record): record is DeliveryRecord => record !== undefined);
  }

  /** The record under a ref (a verified envelope tag names one), or undefined. */
  async byRef(ref: string): Promise<DeliveryRecord | undefined> {
    const steps = (await this.store.steps(ref)).flatMap((sealed) => this.open(sealed, ref));
    const head = steps.find((step) => step.head !== undefined)?.head;
    if (head === undefined) return undefined;
    steps.sort((a, b) => a.at - b.at);
    const queued = steps.find((step) => step.event === 'queued');
    const record: DeliveryRecord = {
      ...head,
      status: steps[steps.length - 1].event,
      steps: steps.map(({ head: _head, at, ...step }) => ({ ...step, at: new Date(at) })),
    };
    if (queued) record.queuedAt = new Date(queued.at);
    return record;
  }

  /** Starts a record (queued, or cancelled before queueing) and lists it under its address. */
  async start(head: DeliveryHead, event: Extract<DeliveryEventType, 'queued' | 'cancelled'>, details: Omit<DeliveryStep, 'event' | 'at'> = {}): Promise<void> {
    const ref = this.refs.refOf(head.messageId);
    const at = Date.now();
    const step: StoredStep = { ...details, event, at, head };
    await this.store.append(ref, this.cipher.seal(step, ref), { addressKey: this.keyOf(loggedForm(head.to)), at });
  }

  /**
   * Adds a step to an email's record. A step with the server's queue id also files the record under it, so a
   * provider's webhook that names the email only by that id (SES) finds it: `refOfQueueId`.
   */
  async add(messageId: string, event: DeliveryEventType, details: Omit<DeliveryStep, 'event' | 'at'> = {}): Promise<void> {
    const ref = this.refs.refOf(messageId);
    await this.addByRef(ref, event, details);
    if (details.queueId !== undefined) {
      const key = this.queueIdKey(details.queueId);
      await this.store.link(key, this.cipher.seal(ref, key));
    }
  }

  /**
   * The ref of the email a server's queue id (from its 250 reply) names, or undefined. Redis holds the id only
   * as a keyed hash and the ref sealed, bound to that hash, so a value copied to another id does not open.
   */
  async refOfQueueId(queueId: string): Promise<string | undefined> {
    const key = this.queueIdKey(queueId);
    const sealed = await this.store.linked(key);
    if (sealed === undefined) return undefined;
    try {
      return this.cipher.open<string>(sealed, key);
    } catch {
      return undefined;
    }
  }

  async addByRef(ref: string, event: DeliveryEventType, details: Omit<DeliveryStep, 'event' | 'at'> = {}): Promise<void> {
    const step: StoredStep = { ...details, event, at: Date.now() };
    if (step.reply !== undefined) step.reply = redactReply(step.reply);
    await this.store.append(ref, this.cipher.seal(step, ref));
  }

  /**
   * Claims a report key, so the same report counts once: `'claimed'` the first time (then `finish` it once
   * recorded, or `unclaim` it), `'pending'` while another reader records it or for `pendingMs` after one
   * failed to, `'done'` once recorded.
   */
  claim(key: string, pendingMs: number): Promise<ClaimState> {
    return this.store.claim(this.claimKey(key), pendingMs);
  }

  finish(key: string): Promise<void> {
    return this.store.finish(this.claimKey(key));
  }

  unclaim(key: string): Promise<void> {
    return this.store.unclaim(this.claimKey(key));
  }

  private claimKey(key: string): string {
    return this.mac(`claim\0${key}`);
  }

  private open(sealed: string, ref: string): StoredStep[] {
    try {
      return [this.cipher.open<StoredStep>(sealed, ref)];
    } catch {
      // Sealed under another secret, edited, or copied from another record: not a step of this one.
      return [];
    }
  }

  private keyOf(address: string): string {
    return this.mac(`address\0${address}`);
  }

  private queueIdKey(queueId: string): string {
    return this.mac(`queue-id\0${queueId}`);
  }

  private mac(value: string): string {
    return createHmac('sha256', this.addressKey).update(value).digest('base64url').slice(0, 32);
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return value.trim() === '' ? 'an empty string' : 'a string';
  if (typeof value === 'number') return `a number (${value})`;
  return `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
}
