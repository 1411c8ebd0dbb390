import { createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { PayloadCipher } from '../crypto';
import { InvalidTokenError } from '../errors';
import { CodeAttempts } from './code-attempts';
import { DEFAULT_CLAIM_WINDOW_MS, DEFAULT_CODE_SETTINGS } from './token.options';
import type { CodeSettings } from './token.options';
import type { TokenPurpose, TokenRecord, TokenStore } from './token.types';

const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const CLAIM_ID_BYTES = 16;

interface IssuedToken {
  token: string;
  expiresAt: Date;
}

interface IssuedCode {
  code: string;
  expiresAt: Date;
  /** The code's record key, for `supersede(…, keep)`. */
  hash: string;
}

/** What a token or code is bound to beyond its user and purpose. */
export interface IssueOptions {
  /** The address the email goes to, which redemption checks against: default the user's own. */
  address?: string;
  /** A short value sealed into the record (e.g. the address an email change moves to). */
  payload?: string;
  /** The request's place among the user's tokens of the purpose (`generation()`); tokens of one request share it. */
  generation?: number;
}

/** The token's record, once it has passed every check; `payload` opened. */
export type RedeemableToken = TokenRecord & { hash: string; payload?: string };

/** The redemption's hold on its token, for an action that must know it was not revoked meanwhile. */
export interface TokenClaim {
  /**
   * Uses the token up before the action's side effect: from here on it is never redeemed again, even
   * if this process dies; if the action then throws, the token (and the siblings it voided) is given
   * back. Throws InvalidTokenError when the claim was lost (a revert revoked it). With `keepSiblings`,
   * the user's other tokens of the purpose stay valid (each revert link is independent).
   */
  commit(options?: { keepSiblings?: boolean }): Promise<void>;
  /** False once the token was revoked under the running action (see `revokeAllOf(…, { claimed })`). */
  stillHeld(): Promise<boolean>;
}

/** What a redemption runs while it holds the token. */
export type RedemptionAction<T> = (record: RedeemableToken, claim: TokenClaim) => Promise<T>;

/** How EmailTokens is keyed and tuned; the module derives each key from `secret`. */
export interface EmailTokensOptions {
  claimWindowMs?: number;
  /** Keys the record MAC, the address hash and the sealed payload (derived apart from the token key). */
  recordKey?: Buffer;
  codes?: CodeSettings;
  /** Life of a code's try counter, in seconds: at least the longest code lifetime. */
  attemptWindowSeconds?: number;
}

/** The fields of a record its MAC covers; `state` is not, as the store changes it. */
function macInput(hash: string, { userId, email, purpose, expiresAt, sealed, generation }: TokenRecord): string {
  const generationPart = generation === undefined ? [] : [generation];
  return JSON.stringify([hash, userId, email, purpose, expiresAt, ...(sealed === undefined ? [] : [sealed]), ...generationPart]);
}

/**
 * Single-use expiring tokens: 32 CSPRNG bytes, base64url, stored only as HMAC-SHA256 under a key
 * derived from the module secret. A leaked store holds nothing a link can be made from, nor the
 * address (only its keyed hash); a record edited by someone without the secret fails its MAC.
 * Codes are tokens too: a record under a keyed hash of purpose, address and digits, a sibling of
 * the link sent beside it, so redeeming either voids the other.
 */
export class EmailTokens {
  private readonly claimWindowMs: number;
  private readonly recordKey: Buffer;
  private readonly cipher: PayloadCipher;
  private readonly codes: CodeSettings;
  private readonly attempts: CodeAttempts;

  constructor(
    private readonly store: TokenStore,
    private readonly hmacKey: Buffer,
    options: EmailTokensOptions = {},
  ) {
    this.claimWindowMs = options.claimWindowMs ?? DEFAULT_CLAIM_WINDOW_MS;
    this.recordKey = options.recordKey ?? hmacKey;
    this.cipher = new PayloadCipher(Buffer.from(hkdfSync('sha256', this.recordKey, Buffer.alloc(0), 'token-payload', 32)));
    this.codes = options.codes ?? DEFAULT_CODE_SETTINGS;
    this.attempts = new CodeAttempts(store, this.recordKey, this.codes, (options.attemptWindowSeconds ?? 86_400) * 1000);
  }

  /** The place of a new request among the user's tokens of `purpose`: give it to `issue`, `issueCode` and `supersede`. */
  generation(userId: string, purpose: TokenPurpose): Promise<number> {
    return this.store.nextGeneration(userId, purpose);
  }

  async issue(user: { id: string; email: string }, purpose: TokenPurpose, ttlSeconds: number, options: IssueOptions = {}): Promise<IssuedToken> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const expiresAt = await this.save(this.hash(token), user, purpose, ttlSeconds, options);
    return { token, expiresAt };
  }

  /**
   * A code of `tokens.code.length` digits (uniform), sent to `address` (default the user's), with a
   * fresh try counter. It does not void earlier tokens by itself: the caller does, with `supersede`,
   * once the email is queued (a retried request's duplicate email must leave the code in the inbox working).
   */
  async issueCode(user: { id: string; email: string }, purpose: TokenPurpose, ttlSeconds: number, options: Omit<IssueOptions, 'payload'> = {}): Promise<IssuedCode> {
    const code = Array.from({ length: this.codes.length }, () => randomInt(10)).join('');
    const addressHash = this.addressHash(options.address ?? user.email);
    const hash = this.codeHash(purpose, addressHash, code);
    const expiresAt = await this.save(hash, user, purpose, ttlSeconds, options);
    // Before the email goes out, so the code works the moment it arrives.
    await this.attempts.start(purpose, addressHash);
    return { code, expiresAt, hash };
  }

  private async save(hash: string, user: { id: string; email: string }, purpose: TokenPurpose, ttlSeconds: number, options: IssueOptions): Promise<Date> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const record: TokenRecord = { userId: user.id, purpose, email: this.addressHash(options.address ?? user.email), expiresAt, state: 'active' };
    if (options.payload !== undefined) record.sealed = this.cipher.seal(options.payload, hash);
    if (options.generation !== undefined) record.generation = options.generation;
    await this.store.save(hash, { ...record, mac: this.mac(hash, record) });
    return new Date(expiresAt);
  }

  /**
   * After a new email of `purpose` was queued: voids the user's tokens of it from older requests (a
   * lower `generation`) but those hashed in `keep`, in one atomic step. A newer request's tokens are
   * left alone, so of requests whose emails are queued in any order the newest one's link and code work.
   */
  supersede(userId: string, purpose: TokenPurpose, keep: readonly string[], generation: number): Promise<void> {
    return this.store.revokeAll(userId, [purpose], keep, { olderThan: generation });
  }

  /**
   * The user's tokens of `purpose` that can still be redeemed, oldest first, payloads opened; those
   * failing their MAC (edited in the store) are left out.
   */
  async live(userId: string, purpose: TokenPurpose): Promise<RedeemableToken[]> {
    const found: RedeemableToken[] = [];
    for (const { hash, record } of await this.store.findAll(userId, purpose)) {
      try {
        found.push(this.check(hash, record, purpose));
      } catch (error) {
        if (!(error instanceof InvalidTokenError)) throw error;
      }
    }
    return found.sort((a, b) => a.expiresAt - b.expiresAt);
  }

  /** Whether the record was issued to `address` (compared as keyed hashes, trimmed and lower-cased). */
  issuedTo(record: TokenRecord, address: string): boolean {
    return equal(record.email, this.addressHash(address));
  }

  private addressHash(address: string): string {
    return createHmac('sha256', this.recordKey).update(`address:${address.trim().toLowerCase()}`).digest('base64url');
  }

  private mac(hash: string, record: TokenRecord): string {
    return createHmac('sha256', this.recordKey).update(`record:${macInput(hash, record)}`).digest('base64url');
  }

  /** A token's HMAC, also computed for tokens that do not exist, so both paths cost the same. */
  hash(token: string): string {
    return createHmac('sha256', this.hmacKey).update(token).digest('base64url');
  }

  private codeHash(purpose: TokenPurpose, addressHash: string, code: string): string {
    return this.hash(`code:${purpose}:${addressHash}:${code}`);
  }

  /** Checks a token without using it up. */
  async inspect(token: string, purpose: TokenPurpose): Promise<RedeemableToken> {
    const hash = this.hash(token);
    return this.check(hash, TOKEN_SHAPE.test(token) ? await this.store.find(hash) : undefined, purpose);
  }

  private check(hash: string, record: TokenRecord | undefined, purpose: TokenPurpose): RedeemableToken {
    // Edited in the store by someone without the secret (another user's id, say): as good as absent.
    if (!record || !equal(record.mac, this.mac(hash, record))) throw new InvalidTokenError('unknown');
    if (record.purpose !== purpose) throw new InvalidTokenError('wrong-purpose');
    if (record.state === 'used' || record.state === 'applying') throw new InvalidTokenError('used');
    if (record.state === 'revoked' || record.expiresAt <= Date.now()) throw new InvalidTokenError('expired');
    return { ...record, hash, ...(record.sealed === undefined ? {} : { payload: this.cipher.open<string>(record.sealed, hash) }) };
  }

  /**
   * Runs `action` while holding the token, atomically across processes. The token is used up by
   * `claim.commit()`, which the action calls before its side effect (or, if it does not, once it
   * returns), voiding the user's other tokens of that purpose in the same step; if the action throws,
   * the token and those siblings stay valid. While one of a user's tokens is being redeemed, their
   * other tokens of that purpose are refused as used, so of two links redeemed at once one wins.
   */
  async redeem<T>(token: string, purpose: TokenPurpose, action: RedemptionAction<T>): Promise<T> {
    const record = await this.inspect(token, purpose);
    const result = await this.holding(record, action);
    await this.attempts.forgive(purpose, record.email);
    return result;
  }

  /**
   * Redeems a code entered with its address. The try is counted first on the code's counter, which
   * must be there and carry its MAC (a missing, edited or spent counter refuses even the right code
   * until a new one is sent); a failure is counted across codes, and past `maxFailures` codes of that
   * address and purpose are refused until a link is used or the window passes. Every failure (wrong,
   * unknown address, exhausted, expired, malformed) is InvalidTokenError('invalid-code'), after the same work.
   */
  async redeemCode<T>(address: string, code: string, purpose: TokenPurpose, action: RedemptionAction<T>): Promise<T> {
    const addressHash = this.addressHash(address);
    const underCap = await this.attempts.underFailureCap(purpose, addressHash);
    const counted = await this.attempts.countTry(purpose, addressHash);
    const wellFormed = typeof code === 'string' && code.length === this.codes.length && /^[0-9]+$/.test(code);
    const hash = this.codeHash(purpose, addressHash, wellFormed ? code : '');
    const found = wellFormed ? await this.store.find(hash) : undefined;
    let record: RedeemableToken;
    try {
      record = this.check(hash, underCap && counted ? found : undefined, purpose);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      await this.attempts.countFailure(purpose, addressHash);
      throw new InvalidTokenError('invalid-code');
    }
    const result = await this.holding(record, action, 'invalid-code');
    await this.attempts.forgive(purpose, addressHash);
    return result;
  }

  private async holding<T>(record: RedeemableToken, action: RedemptionAction<T>, refusal?: 'invalid-code'): Promise<T> {
    const claimId = randomBytes(CLAIM_ID_BYTES).toString('base64url');
    const outcome = await this.store.claim(record.hash, claimId, this.claimWindowMs);
    if (outcome !== 'claimed') {
      if (refusal) throw new InvalidTokenError(refusal);
      throw new InvalidTokenError(outcome === 'unknown' ? 'unknown' : outcome === 'revoked' ? 'expired' : 'used');
    }
    let committed = false;
    const claim: TokenClaim = {
      commit: async (options) => {
        if (committed) return;
        if (!(await this.store.commit(record.hash, claimId, options))) throw new InvalidTokenError(refusal ?? 'expired');
        committed = true;
      },
      stillHeld: () => this.store.renew(record.hash, claimId),
    };
    const renewal = this.keepClaimed(record.hash, claimId);
    let result: T;
    try {
      result = await action(record, claim);
      await claim.commit();
    } catch (error) {
      clearInterval(renewal);
      // Best effort: the caller must hear the action's own error. A token left claimed frees itself
      // after the window; one left committed stays used, and a new email is the way on.
      await this.store.release(record.hash, claimId).catch(() => undefined);
      throw error;
    }
    clearInterval(renewal);
    // A committed token is refused like a used one, so a store that fails here changes nothing.
    await this.store.markUsed(record.hash, claimId).catch(() => undefined);
    return result;
  }

  /**
   * Renews the claim three times per window, so it lapses only when this process stops renewing it
   * (it died). A failed renewal is not an error of the redemption: the next one, a third of a window
   * later, still keeps the claim live.
   */
  private keepClaimed(hash: string, claimId: string): NodeJS.Timeout {
    const timer = setInterval(() => void this.store.renew(hash, claimId).catch(() => undefined), Math.floor(this.claimWindowMs / 3));
    // Renewal alone must not keep the process alive; the action's own work does, while it runs.
    timer.unref();
    return timer;
  }

  /**
   * Revokes every active token of the user with one of `purposes`, but the one hashed `exceptHash`;
   * with `claimed`, also those being redeemed right now, whose redemption then finds `stillHeld()` false.
   */
  revokeAllOf(userId: string, purposes: readonly TokenPurpose[], exceptHash?: string, options: { claimed?: boolean } = {}): Promise<void> {
    return this.store.revokeAll(userId, purposes, exceptHash === undefined ? [] : [exceptHash], options);
  }
}

function equal(a: string | undefined, b: string): boolean {
  return a !== undefined && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
