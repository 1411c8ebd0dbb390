import { randomBytes } from 'node:crypto';
import { ENVELOPE_TAG_LENGTH, MessageRefs } from '../../lib/crypto/message-refs';

describe('MessageRefs: envelope tags and Message-IDs nobody can make up', () => {
  const refs = new MessageRefs(randomBytes(32));
  const messageId = '<3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f@acme.test>';

  it('a tag is 26 lower-case base32 characters naming the message; it verifies in any case', () => {
    const tag = refs.tagOf(messageId);
    expect(tag).toMatch(/^[a-z2-7]{26}$/);
    expect(ENVELOPE_TAG_LENGTH).toBe(26);
    expect(refs.refOfTag(tag)).toBe(refs.refOf(messageId));
    // Some servers upper-case the local part of the address a bounce goes back to.
    expect(refs.refOfTag(tag.toUpperCase())).toBe(refs.refOf(messageId));
    expect(refs.tagOf(messageId)).toBe(tag);
    expect(refs.tagOf(messageId.replace('3f', '4f'))).not.toBe(tag);
  });

  it('refuses every tag with one character changed, a tag under another key, and malformed tags', () => {
    const tag = refs.tagOf(messageId);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    for (let i = 0; i < tag.length; i++) {
      const other = alphabet[(alphabet.indexOf(tag[i]) + 1) % 32];
      const changed = tag.slice(0, i) + other + tag.slice(i + 1);
      // The last character carries 2 bits of padding: changing only those names the same bytes.
      const sameBytes = i === tag.length - 1 && (alphabet.indexOf(other) >> 2) === (alphabet.indexOf(tag[i]) >> 2);
      if (!sameBytes) expect({ i, ref: refs.refOfTag(changed) }).toEqual({ i, ref: undefined });
    }
    expect(new MessageRefs(randomBytes(32)).refOfTag(tag)).toBeUndefined();
    for (const bad of ['', 'a'.repeat(26), tag.slice(1), `${tag}a`, `${tag.slice(0, 25)}!`, '1'.repeat(26), 'ü'.repeat(26)]) {
      expect(refs.refOfTag(bad)).toBeUndefined();
    }
  });

  it('Message-IDs for one idempotency key are the same under one key, unguessable under another', () => {
    const key = new MessageRefs(Buffer.alloc(32, 7));
    expect(key.messageIdFor('order-42')).toBe(new MessageRefs(Buffer.alloc(32, 7)).messageIdFor('order-42'));
    expect(key.messageIdFor('order-42')).toMatch(/^[0-9a-f]{32}$/);
    expect(key.messageIdFor('order-42')).not.toBe(new MessageRefs(Buffer.alloc(32, 8)).messageIdFor('order-42'));
    expect(key.messageIdFor('order-42')).not.toBe(key.messageIdFor('order-43'));
  });
});
