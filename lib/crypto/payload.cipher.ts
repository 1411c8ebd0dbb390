import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;

/**
 * AES-256-GCM with a random 12-byte IV, for values that must not sit anywhere in clear.
 * Output: `<prefix><iv>.<tag>.<ciphertext>`, base64url; the prefix names the format version.
 */
export class PayloadCipher {
  constructor(
    private readonly key: Buffer,
    private readonly prefix = 'v1.',
  ) {}

  /** Whether a value is in this cipher's format (it may still be sealed under another key). */
  recognises(value: string): boolean {
    return value.startsWith(this.prefix);
  }

  seal(value: unknown): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return this.prefix + [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.');
  }

  /** Throws when the value is not in this format, was tampered with, or was sealed under another key. */
  open<T>(sealed: string): T {
    if (!this.recognises(sealed)) throw new Error('sealed value has an unknown format');
    const [iv, tag, ciphertext] = sealed.slice(this.prefix.length).split('.');
    if (!ciphertext) throw new Error('sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as T;
  }
}
