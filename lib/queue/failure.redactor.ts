import { createHmac } from 'node:crypto';
import { DeliveryFailure, DeliveryHandedBack } from '../delivery';

/**
 * Anything shaped like an address: a local part (RFC 5322 atext, letters and digits of any script for
 * SMTPUTF8, dots; or a quoted string), `@`, and a domain of two labels or more (the separators IDNA
 * reads as dots included) or an address literal. Shape, not validity: servers echo an address in any
 * case, with or without angle brackets, and often another one beside it (the forwarding target, an SRS
 * rewrite), so every such part is replaced, not just the recipient as it was sent. A domain needs a dot
 * so that stack frames (`node_modules/@nestjs/core`) stay readable.
 */
const ADDRESS =
  /(?:"(?:[^"\\\r\n]|\\.)+"|[\p{L}\p{N}\p{M}.!#$%&'*+/=?^_`{|}~-]+)@(?:\[[^\]\s]+\]|(?:[\p{L}\p{N}\p{M}-]+[.\u3002\uFF0E\uFF61])+[\p{L}\p{N}\p{M}-]{2,})/gu;
/** 96 bits of the HMAC: no two addresses of one app meet, and it stays short in a one-line reason. */
const HASH_CHARS = 16;

/**
 * What a queue library keeps of a failed try sits in Redis for as long as the failed job does: its
 * reason, every try's stack trace, BullMQ's event stream. Their text is the SMTP server's reply or an
 * app callback's error, which name addresses, so it is stored with each address replaced by
 * `address:<keyed hash>`: HMAC-SHA256 of the address in lower case under a key derived from `secret`
 * (purpose `failure-address`). Whoever reads Redis sees the reply and can tell two failures for one
 * address apart from others, but cannot confirm an address by hashing it. Events and logs in the
 * process keep the reply as it was.
 */
export class FailureRedactor {
  constructor(private readonly key: Buffer) {}

  /** `text` with every address-shaped part replaced by its keyed hash. */
  text(text: string): string {
    return text.replace(ADDRESS, (address) => `address:${this.hashOf(address)}`);
  }

  /**
   * What to hand the queue library instead of `error`: the same kind of failure (a DeliveryFailure keeps
   * its retry delay, a hand-back stays one) with its message and the original stack trace redacted.
   * A new error, so that the caller's own error object is left as it was.
   */
  storable(error: unknown): Error {
    const stored =
      error instanceof DeliveryHandedBack
        ? new DeliveryHandedBack(this.text(error.message))
        : error instanceof DeliveryFailure
          ? new DeliveryFailure({ ...error.failure, reason: this.text(error.failure.reason) }, error.retryDelay)
          : new Error(this.text(error instanceof Error ? error.message : String(error)));
    if (error instanceof Error) {
      stored.name = error.name;
      // The original frames, which say where it failed; the new error's own would point here.
      stored.stack = error.stack === undefined ? undefined : this.text(error.stack);
    }
    return stored;
  }

  private hashOf(address: string): string {
    return createHmac('sha256', this.key).update(address.toLowerCase()).digest('base64url').slice(0, HASH_CHARS);
  }
}
