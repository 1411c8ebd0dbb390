import { PayloadCipher } from '../../lib/crypto/payload.cipher';
import { deriveKey, MIN_SECRET_BYTES } from '../../lib/crypto/secret-keys';

const SECRET = 'test-secret-of-at-least-32-bytes-0123456789';
const OTHER_SECRET = 'another-secret-of-at-least-32-bytes-9876543210';

const VALUE = {
  name: 'Ada Lovelace',
  link: 'https://app.example.test/verify-email?token=Zm9vYmFyLXNlY3JldC10b2tlbg',
  token: 'Zm9vYmFyLXNlY3JldC10b2tlbg',
  nested: { count: 3, flags: [true, false], none: null, unicode: 'Grüße ✉️ 日本' },
};

function cipher(secret = SECRET): PayloadCipher {
  return new PayloadCipher(deriveKey(secret, 'queue-payload'));
}

/** Flips one bit of one decoded byte of a part, keeping valid base64url. */
function flipBit(part: string, byteIndex = 0, bit = 0): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[byteIndex % bytes.length] ^= 1 << bit;
  return bytes.toString('base64url');
}

function parts(sealed: string): [string, string, string, string] {
  const split = sealed.split('.');
  expect(split).toHaveLength(4);
  return split as [string, string, string, string];
}

describe('PayloadCipher', () => {
  it('round-trips JSON values', () => {
    const c = cipher();
    expect(c.open(c.seal(VALUE))).toEqual(VALUE);
    for (const value of ['', 'plain text', 0, 42.5, true, null, [], {}, [1, 'two', { three: 3 }], 'x'.repeat(100_000)]) {
      expect(c.open(c.seal(value))).toEqual(value);
    }
  });

  it('gives every seal its own 12-byte IV, across the blocks the IVs are drawn in, and each still opens', () => {
    const c = cipher();
    const sealed = Array.from({ length: 1_000 }, (_, i) => c.seal({ i }));
    const ivs = sealed.map((value) => Buffer.from(parts(value)[1], 'base64url'));
    expect(ivs.every((iv) => iv.length === 12)).toBe(true);
    expect(new Set(ivs.map((iv) => iv.toString('hex'))).size).toBe(1_000);
    expect(sealed.map((value) => c.open<{ i: number }>(value).i)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  });

  it('round-trips across instances built from the same secret (another process, same secret)', () => {
    expect(cipher().open(cipher().seal(VALUE))).toEqual(VALUE);
  });

  it('has the documented format: v1.<iv>.<tag>.<ciphertext>, base64url, 12-byte IV, 16-byte tag', () => {
    const [version, iv, tag, ciphertext] = parts(cipher().seal(VALUE));
    expect(version).toBe('v1');
    for (const part of [iv, tag, ciphertext]) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
  });

  it('never shows the plaintext, in any encoding', () => {
    const sealed = cipher().seal(VALUE);
    const bytes = Buffer.from(sealed.split('.').slice(1).join(''), 'base64url').toString('latin1');
    for (const needle of [VALUE.token, VALUE.link, 'Ada', 'verify-email']) {
      expect(sealed).not.toContain(needle);
      expect(sealed).not.toContain(Buffer.from(needle).toString('base64url'));
      expect(bytes).not.toContain(needle);
    }
  });

  it('gives a different ciphertext every time (random IV), for the same value and key', () => {
    const c = cipher();
    const sealed = Array.from({ length: 50 }, () => c.seal(VALUE));
    expect(new Set(sealed).size).toBe(50);
    expect(new Set(sealed.map((s) => parts(s)[1])).size).toBe(50);
    expect(new Set(sealed.map((s) => parts(s)[3])).size).toBe(50);
    for (const s of sealed) expect(c.open(s)).toEqual(VALUE);
  });

  describe('refuses tampered payloads', () => {
    const c = cipher();
    const sealed = c.seal(VALUE);
    const [version, iv, tag, ciphertext] = parts(sealed);
    const join = (...p: string[]) => p.join('.');

    it.each([
      ['IV, first byte', () => join(version, flipBit(iv, 0), tag, ciphertext)],
      ['IV, last byte', () => join(version, flipBit(iv, 11, 7), tag, ciphertext)],
      ['tag, first byte', () => join(version, iv, flipBit(tag, 0), ciphertext)],
      ['tag, last byte', () => join(version, iv, flipBit(tag, 15, 7), ciphertext)],
      ['ciphertext, first byte', () => join(version, iv, tag, flipBit(ciphertext, 0))],
      ['ciphertext, middle byte', () => join(version, iv, tag, flipBit(ciphertext, Math.floor(Buffer.from(ciphertext, 'base64url').length / 2), 3))],
      ['ciphertext, last byte', () => join(version, iv, tag, flipBit(ciphertext, Buffer.from(ciphertext, 'base64url').length - 1, 7))],
      ['ciphertext, truncated', () => join(version, iv, tag, Buffer.from(ciphertext, 'base64url').subarray(0, -1).toString('base64url'))],
      ['ciphertext, extended', () => join(version, iv, tag, Buffer.concat([Buffer.from(ciphertext, 'base64url'), Buffer.from([0])]).toString('base64url'))],
      ['ciphertext from another payload', () => join(version, iv, tag, parts(c.seal({ ...VALUE, token: 'other' }))[3])],
      ['tag from another payload', () => join(version, iv, parts(c.seal(VALUE))[2], ciphertext)],
      ['IV from another payload', () => join(version, parts(c.seal(VALUE))[1], tag, ciphertext)],
      ['version changed', () => join('v2', iv, tag, ciphertext)],
      ['version missing', () => join(iv, tag, ciphertext)],
      ['tag missing', () => join(version, iv, '', ciphertext)],
      ['IV missing', () => join(version, '', tag, ciphertext)],
      ['ciphertext missing', () => join(version, iv, tag, '')],
      ['not a sealed payload at all', () => JSON.stringify(VALUE)],
      ['empty string', () => ''],
    ])('%s', (_label, tamper) => {
      const tampered = tamper();
      expect(tampered).not.toBe(sealed);
      expect(() => c.open(tampered)).toThrow();
    });

    it('every single-bit flip anywhere in IV, tag or ciphertext is refused', () => {
      const small = c.seal({ t: 'abc' });
      const [v, i, t, ct] = parts(small);
      const fields = { i, t, ct };
      for (const name of ['i', 't', 'ct'] as const) {
        const length = Buffer.from(fields[name], 'base64url').length;
        for (let byte = 0; byte < length; byte++) {
          for (let bit = 0; bit < 8; bit++) {
            const changed = { ...fields, [name]: flipBit(fields[name], byte, bit) };
            expect(() => c.open(join(v, changed.i, changed.t, changed.ct))).toThrow();
          }
        }
      }
    });

    /**
     * Regression guard: `open` does not pin the GCM tag length. Node's decipher then
     * accepts a tag cut to 4..15 bytes and checks only that prefix, so the integrity check can be
     * weakened to 32 bits by whoever can write to Redis. Fix: createDecipheriv(..., { authTagLength: 16 })
     * and refuse an IV that is not 12 bytes.
     */
    it.each([4, 8, 12, 15])('a tag truncated to %i bytes is refused', (bytes) => {
      const truncated = join(version, iv, Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url'), ciphertext);
      expect(() => c.open(truncated)).toThrow();
    });
  });

  it('a value sealed bound to clear text opens only with that same text', () => {
    const bound = JSON.stringify(['email', 'welcome', 'fr', '<id@example.test>']);
    const sealed = cipher().seal(VALUE, bound);

    expect(cipher().open(sealed, bound)).toEqual(VALUE);
    expect(() => cipher().open(sealed, bound.replace('welcome', 'reset-password'))).toThrow();
    expect(() => cipher().open(sealed)).toThrow();
    expect(() => cipher().open(cipher().seal(VALUE), bound)).toThrow();
  });

  it('a different secret cannot open it', () => {
    const sealed = cipher(SECRET).seal(VALUE);
    expect(() => cipher(OTHER_SECRET).open(sealed)).toThrow();
    // One character of difference is enough.
    expect(() => cipher(SECRET.slice(0, -1) + 'X').open(sealed)).toThrow();
  });

  it('a key derived for another purpose cannot open it', () => {
    const sealed = cipher().seal(VALUE);
    expect(() => new PayloadCipher(deriveKey(SECRET, 'token-hmac')).open(sealed)).toThrow();
  });

  it('the error on a bad payload does not carry the plaintext or the key', () => {
    const c = cipher();
    const sealed = c.seal(VALUE);
    const [v, i, t, ct] = parts(sealed);
    let error: unknown;
    try {
      c.open([v, i, flipBit(t), ct].join('.'));
    } catch (e) {
      error = e;
    }
    // node:crypto errors come from another realm under jest, so check the shape, not the class.
    expect(typeof (error as Error | undefined)?.message).toBe('string');
    const text = `${(error as Error).message} ${String((error as Error).stack)}`;
    expect(text).not.toContain(VALUE.token);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(deriveKey(SECRET, 'queue-payload').toString('base64'));
  });
});

describe('deriveKey', () => {
  it('gives 32-byte keys (AES-256)', () => {
    expect(deriveKey(SECRET, 'queue-payload')).toHaveLength(32);
    expect(deriveKey(SECRET, 'token-hmac')).toHaveLength(32);
  });

  it('gives a different key per purpose from one secret', () => {
    const purposes: Array<Parameters<typeof deriveKey>[1]> = ['queue-payload', 'token-hmac', 'credential'];
    const keys = purposes.map((purpose) => deriveKey(SECRET, purpose).toString('hex'));
    expect(new Set(keys).size).toBe(purposes.length);
  });

  it('is deterministic: the same secret and purpose give the same key (processes sharing a secret agree)', () => {
    expect(deriveKey(SECRET, 'queue-payload').equals(deriveKey(SECRET, 'queue-payload'))).toBe(true);
    expect(deriveKey(SECRET, 'token-hmac').equals(deriveKey(SECRET, 'token-hmac'))).toBe(true);
  });

  it('gives different keys for different secrets', () => {
    expect(deriveKey(SECRET, 'queue-payload').equals(deriveKey(OTHER_SECRET, 'queue-payload'))).toBe(false);
  });

  it('does not hand out the secret itself', () => {
    for (const purpose of ['queue-payload', 'token-hmac'] as const) {
      const key = deriveKey(SECRET, purpose);
      expect(key.equals(Buffer.from(SECRET, 'utf8').subarray(0, 32))).toBe(false);
      expect(key.toString('utf8')).not.toContain(SECRET.slice(0, 8));
    }
  });

  it('MIN_SECRET_BYTES is 32', () => {
    expect(MIN_SECRET_BYTES).toBe(32);
  });
});
