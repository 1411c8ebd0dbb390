import { createHmac, timingSafeEqual } from 'node:crypto';

/** Lower case only: some servers lower-case the local part of the address a bounce goes back to. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const REF_BYTES = 10;
const MAC_BYTES = 6;
/** base32 of REF_BYTES + MAC_BYTES: 26 characters, well inside SMTP's 64-character local part. */
export const ENVELOPE_TAG_LENGTH = Math.ceil(((REF_BYTES + MAC_BYTES) * 8) / 5);

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function fromBase32(text: string): Buffer | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text) {
    const digit = BASE32.indexOf(char);
    if (digit < 0) return undefined;
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * The names of a message that must not be guessable, all under one key derived from the module `secret`:
 * - its Message-ID for an idempotency key (a plain hash would let anyone who knows or guesses the key
 *   predict the Message-ID, and a Message-ID is what a bounce that rewrote the envelope sender is matched by);
 * - its ref, under which the delivery log keeps it (Redis never sees the Message-ID as a key);
 * - its envelope tag (VERP): the ref and a MAC of it, so a tag nobody was sent is refused without a lookup.
 */
export class MessageRefs {
  constructor(private readonly key: Buffer) {}

  /** The local part of a Message-ID for an idempotency key: the same key gives the same id in every process. */
  messageIdFor(idempotencyKey: string): string {
    return this.mac('message-id', idempotencyKey).subarray(0, 16).toString('hex');
  }

  refOf(messageId: string): string {
    return base32(this.refBytes(messageId));
  }

  /** The tag of `bounces+<tag>@domain`: lower-case base32, ENVELOPE_TAG_LENGTH characters. */
  tagOf(messageId: string): string {
    const ref = this.refBytes(messageId);
    return base32(Buffer.concat([ref, this.tagMac(ref)]));
  }

  /** The ref a tag names, or undefined when the tag is malformed or its MAC does not verify. */
  refOfTag(tag: string): string | undefined {
    const lower = tag.toLowerCase();
    if (lower.length !== ENVELOPE_TAG_LENGTH) return undefined;
    const bytes = fromBase32(lower);
    if (bytes === undefined || bytes.length !== REF_BYTES + MAC_BYTES) return undefined;
    const ref = bytes.subarray(0, REF_BYTES);
    const mac = bytes.subarray(REF_BYTES);
    return timingSafeEqual(mac, this.tagMac(ref)) ? base32(ref) : undefined;
  }

  private refBytes(messageId: string): Buffer {
    return this.mac('ref', messageId).subarray(0, REF_BYTES);
  }

  private tagMac(ref: Buffer): Buffer {
    return this.mac('tag', ref).subarray(0, MAC_BYTES);
  }

  private mac(purpose: string, value: string | Buffer): Buffer {
    return createHmac('sha256', this.key).update(`${purpose}\0`).update(value).digest();
  }
}
