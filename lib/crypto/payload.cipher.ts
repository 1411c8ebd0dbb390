import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** IVs drawn from the generator at once: one call per this many seals instead of one per seal. */
const IVS_PER_DRAW = 256;

/**
 * AES-256-GCM with a random 12-byte IV, for values that must not sit anywhere in clear.
 * Output: `<prefix><iv>.<tag>.<ciphertext>`, base64url; the prefix names the format version.
 * `boundTo` (GCM associated data) is text stored beside the sealed value in clear: open() fails
 * unless given the same text, so an edit of either is detected.
 */
export class PayloadCipher {
  private ivs = Buffer.alloc(0);
  private nextIv = 0;

  constructor(
    private readonly key: Buffer,
    private readonly prefix = 'v1.',
  ) {}

  /** Whether a value is in this cipher's format (it may still be sealed under another key). */
  recognises(value: string): boolean {
    return value.startsWith(this.prefix);
  }

  seal(value: unknown, boundTo?: string): string {
    const iv = this.freshIv();
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    if (boundTo !== undefined) cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return this.prefix + [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.');
  }

  /** 12 random bytes never handed out before: a slice of a block that is replaced, never refilled, once used up. */
  private freshIv(): Buffer {
    if (this.nextIv === this.ivs.length) {
      this.ivs = randomBytes(IV_BYTES * IVS_PER_DRAW);
      this.nextIv = 0;
    }
    const iv = this.ivs.subarray(this.nextIv, this.nextIv + IV_BYTES);
    this.nextIv += IV_BYTES;
    return iv;
  }

  /** Throws when the value is not in this format, was tampered with (or `boundTo` differs), or was sealed under another key. */
  open<T>(sealed: string, boundTo?: string): T {
    if (!this.recognises(sealed)) throw new Error('sealed value has an unknown format');
    const parts = sealed.slice(this.prefix.length).split('.');
    if (parts.length !== 3) throw new Error('sealed value does not have three parts');
    const [iv, tag, ciphertext] = parts.map((part) => Buffer.from(part, 'base64url'));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('sealed value has a bad IV or tag length');
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    if (boundTo !== undefined) decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as T;
  }
}
