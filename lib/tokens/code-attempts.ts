import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CodeSettings } from './token.options';
import type { TokenPurpose, TokenStore } from './token.types';

/** Rounds of read-and-swap before a counter update gives up (and the try is refused): one per concurrent try. */
const SWAP_ROUNDS = 32;
const COUNTER_SHAPE = /^(\d{1,6}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{43})$/;

/** A counter as read and checked. */
interface Counter {
  count: number;
  nonce: string;
}

function freshNonce(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * The try counters of codes, kept in the token store under a MAC so a Redis writer cannot lift them:
 * one per (purpose, address) for the current code's tries, which must exist (a new code writes it),
 * and one for failures across codes, capped by `maxFailures`. Each value is `count:nonce:mac`; the MAC
 * binds the count to the counter's name and to the issue that started it. Addresses come in as the
 * keyed hashes tokens store, so no counter name holds one.
 */
export class CodeAttempts {
  constructor(
    private readonly store: TokenStore,
    private readonly key: Buffer,
    private readonly codes: CodeSettings,
    private readonly triesWindowMs: number,
  ) {}

  /** A new code was issued: its tries start at zero. */
  async start(purpose: TokenPurpose, addressHash: string): Promise<void> {
    const name = this.triesName(purpose, addressHash);
    await this.store.writeCounter(name, this.seal(name, 0, freshNonce()), this.triesWindowMs);
  }

  /** Counts a try at the current code: false when its counter is missing, unreadable or spent. */
  countTry(purpose: TokenPurpose, addressHash: string): Promise<boolean> {
    return this.count(this.triesName(purpose, addressHash), this.codes.maxAttempts, this.triesWindowMs, false);
  }

  /** Whether failures across codes are under the cap: none yet, or a readable count below it. */
  async underFailureCap(purpose: TokenPurpose, addressHash: string): Promise<boolean> {
    const name = this.failuresName(purpose, addressHash);
    const value = await this.store.readCounter(name);
    if (value === undefined) return true;
    const counter = this.open(name, value);
    return counter !== undefined && counter.count < this.codes.maxFailures;
  }

  async countFailure(purpose: TokenPurpose, addressHash: string): Promise<void> {
    await this.count(this.failuresName(purpose, addressHash), this.codes.maxFailures, this.codes.failureWindowSeconds * 1000, true);
  }

  /** A link or code of (purpose, address) was used: codes are accepted again. Best effort, as the redemption is done. */
  async forgive(purpose: TokenPurpose, addressHash: string): Promise<void> {
    const name = this.failuresName(purpose, addressHash);
    await this.store.writeCounter(name, this.seal(name, 0, freshNonce()), this.codes.failureWindowSeconds * 1000).catch(() => false);
  }

  private triesName(purpose: TokenPurpose, addressHash: string): string {
    return `tries:${purpose}:${addressHash}`;
  }

  private failuresName(purpose: TokenPurpose, addressHash: string): string {
    return `failures:${purpose}:${addressHash}`;
  }

  private seal(name: string, count: number, nonce: string): string {
    const mac = createHmac('sha256', this.key).update(`counter:${name}:${count}:${nonce}`).digest('base64url');
    return `${count}:${nonce}:${mac}`;
  }

  /** Undefined when the value is missing, malformed or not under its MAC (a negative count is malformed). */
  private open(name: string, value: string | undefined): Counter | undefined {
    const parts = value === undefined ? null : COUNTER_SHAPE.exec(value);
    if (!value || !parts) return undefined;
    const count = Number(parts[1]);
    const expected = Buffer.from(this.seal(name, count, parts[2]));
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected) ? { count, nonce: parts[2] } : undefined;
  }

  /**
   * Adds one to a counter, unless it is missing (when `create` is false), unreadable or at `limit`:
   * false then. Read and swapped, so a concurrent update is never lost; the swap keeps the counter's expiry.
   */
  private async count(name: string, limit: number, ttlMs: number, create: boolean): Promise<boolean> {
    for (let round = 0; round < SWAP_ROUNDS; round++) {
      const value = await this.store.readCounter(name);
      const counter = value === undefined && create ? { count: 0, nonce: freshNonce() } : this.open(name, value);
      if (!counter || counter.count >= limit) return false;
      if (await this.store.writeCounter(name, this.seal(name, counter.count + 1, counter.nonce), ttlMs, value ?? null)) return true;
    }
    return false;
  }
}
