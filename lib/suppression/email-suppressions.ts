import { createHmac } from 'node:crypto';
import { InvalidArgumentError } from '../errors';
import type { PayloadCipher } from '../crypto';
import { normaliseRecipient } from '../transport';
import type { StoredSuppression, Suppression, SuppressionDetails, SuppressionReason, SuppressionStore } from './suppression.types';

/** What a wrong argument is, in the error: `undefined`, `a number (42)`, `an array`. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.trim() === '' ? 'an empty string' : 'a string';
  if (typeof value === 'number' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  return `a value of type ${typeof value}`;
}

/**
 * An address as the list keys it: trimmed, ASCII letters lower-cased, nothing else. A bounce is about
 * the mailbox that was refused, so a look-alike spelling that bounces must never suppress the real
 * address: no NFKC (a full-width `ｖ`, U+FF56, would become `v`) and no Unicode case mapping either
 * (the Kelvin sign, U+212A, would become `k`). Throws InvalidRecipientError for what is not an address.
 */
function suppressedForm(address: string): string {
  return normaliseRecipient(address.trim().replace(/[A-Z]+/g, (letters) => letters.toLowerCase())).address;
}

/**
 * The suppression list: addresses that get no more email (templates in `suppression.bypassTemplates`
 * aside) until removed. Permanent bounces are added by the library; call `add` from a bounce or
 * complaint webhook, and `list` / `remove` from support tools. Shared by every process on one Redis.
 *
 * @example
 * constructor(private readonly suppressions: EmailSuppressions) {}
 * async onComplaint(address: string) { await this.suppressions.add(address, 'complaint'); }
 */
export class EmailSuppressions {
  constructor(
    private readonly store: SuppressionStore,
    private readonly hashKey: Buffer,
    private readonly cipher: PayloadCipher,
  ) {}

  /** Puts an address on the list, or replaces its entry (a second bounce renews the time and code). */
  async add(address: string, reason: SuppressionReason, details?: SuppressionDetails): Promise<Suppression> {
    const normalised = this.address('add', address);
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new InvalidArgumentError('EmailSuppressions.add', 'reason', "a non-empty string such as 'bounce', 'complaint' or 'manual'", describe(reason));
    }
    if (details !== undefined && (typeof details !== 'object' || details === null || Array.isArray(details))) {
      throw new InvalidArgumentError('EmailSuppressions.add', 'details', 'an object such as { code: "5.1.1" } or undefined', describe(details));
    }
    if (details?.code !== undefined && typeof details.code !== 'string') {
      throw new InvalidArgumentError('EmailSuppressions.add', 'details.code', 'a string such as "5.1.1" or undefined', describe(details.code));
    }
    if (details?.messageId !== undefined && typeof details.messageId !== 'string') {
      throw new InvalidArgumentError('EmailSuppressions.add', 'details.messageId', 'the Message-ID of the email it came from, or undefined', describe(details.messageId));
    }
    const key = this.keyOf(normalised);
    const entry: StoredSuppression = { sealedAddress: this.cipher.seal(normalised, key), reason: reason.trim(), at: Date.now() };
    if (details?.code !== undefined) entry.code = details.code;
    if (details?.messageId !== undefined) entry.sealedMessageId = this.cipher.seal(details.messageId, key);
    await this.store.put(key, entry);
    return this.entryOf(normalised, entry, key);
  }

  /** Takes an address off the list; false when it was not on it. */
  async remove(address: string): Promise<boolean> {
    return this.store.delete(this.keyOf(this.address('remove', address)));
  }

  async has(address: string): Promise<boolean> {
    return (await this.lookUp('has', address)) !== undefined;
  }

  /** The address's entry, or undefined when it is not on the list. */
  find(address: string): Promise<Suppression | undefined> {
    return this.lookUp('find', address);
  }

  /**
   * Every entry, addresses opened, newest first. An entry whose address does not open (sealed under
   * another `secret`, or edited in the store) is left out: it names no address anyone could act on.
   */
  async list(): Promise<Suppression[]> {
    const entries: Suppression[] = [];
    for (const [key, entry] of await this.store.entries()) {
      const address = this.open(key, entry);
      if (address !== undefined) entries.push(this.entryOf(address, entry, key));
    }
    return entries.sort((a, b) => b.suppressedAt.getTime() - a.suppressedAt.getTime());
  }

  private async lookUp(method: string, address: string): Promise<Suppression | undefined> {
    const normalised = this.address(method, address);
    const key = this.keyOf(normalised);
    const entry = await this.store.get(key);
    return entry && this.entryOf(normalised, entry, key);
  }

  /** An address argument checked, then in the one form the list is keyed by. */
  private address(method: string, address: unknown): string {
    if (typeof address !== 'string') throw new InvalidArgumentError(`EmailSuppressions.${method}`, 'address', 'an email address string', describe(address));
    return suppressedForm(address);
  }

  /** A keyed hash: whoever reads the store cannot confirm an address by hashing it. */
  private keyOf(normalised: string): string {
    return createHmac('sha256', this.hashKey).update(normalised).digest('base64url');
  }

  private open(key: string, entry: StoredSuppression): string | undefined {
    return this.openSealed(entry.sealedAddress, key);
  }

  private openSealed(sealed: string, key: string): string | undefined {
    try {
      return this.cipher.open<string>(sealed, key);
    } catch {
      return undefined;
    }
  }

  private entryOf(address: string, { reason, code, sealedMessageId, at }: StoredSuppression, key: string): Suppression {
    const entry: Suppression = { address, reason, suppressedAt: new Date(at) };
    if (code !== undefined) entry.code = code;
    const messageId = sealedMessageId === undefined ? undefined : this.openSealed(sealedMessageId, key);
    if (messageId !== undefined) entry.messageId = messageId;
    return entry;
  }
}
