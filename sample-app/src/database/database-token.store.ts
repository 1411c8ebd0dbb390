import type { ClaimOutcome, TokenPurpose, TokenRecord, TokenStore } from 'nestjs-email-workflow';
import { In, LessThan, Not, Repository } from 'typeorm';
import { CounterRow, TokenRow } from './entities';

type StoredRecord = TokenRecord & { claimedAt?: number; claimId?: string; revokedBy?: string; superseded?: boolean };

/** How long a record is kept past its expiry, so a late click is told "expired" rather than "unknown". */
const RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * The library's TokenStore in the sample's database, used when there is no REDIS_URL, so a link sent
 * before a restart still works after it. The store's contract asks for atomic claim/commit/revoke
 * across every process sharing it; this one gets that by running its operations one at a time in this
 * process, so it is for one process only, like the in-process queue it goes with. Several processes
 * set REDIS_URL: the library then keeps tokens in Redis with its own atomic scripts.
 */
export class DatabaseTokenStore implements TokenStore {
  // ES private fields, not TypeScript's: the library's option check copies `tokens.store` field by
  // field (class-transformer), which would try to copy TypeORM's DataSource and fail the boot.
  readonly #tokens: Repository<TokenRow>;
  readonly #counters: Repository<CounterRow>;
  #queue: Promise<unknown> = Promise.resolve();
  #lastGeneration = 0;

  constructor(tokens: Repository<TokenRow>, counters: Repository<CounterRow>) {
    this.#tokens = tokens;
    this.#counters = counters;
  }

  save(hash: string, record: TokenRecord): Promise<void> {
    return this.serial(async () => {
      await this.#tokens.delete({ expiresAt: LessThan(Date.now() - RETENTION_MS) });
      await this.write(hash, { ...record });
    });
  }

  find(hash: string): Promise<TokenRecord | undefined> {
    return this.serial(async () => {
      const row = await this.#tokens.findOneBy({ hash });
      return row ? copyOf(JSON.parse(row.record) as StoredRecord) : undefined;
    });
  }

  findAll(userId: string, purpose: TokenPurpose): Promise<Array<{ hash: string; record: TokenRecord }>> {
    return this.serial(async () => (await this.rowsOf(userId, [purpose])).map(([hash, record]) => ({ hash, record: copyOf(record) })));
  }

  /** Microseconds since the epoch, and above the last one given: larger than any earlier, restarts included. */
  nextGeneration(): Promise<number> {
    return this.serial(async () => (this.#lastGeneration = Math.max(Date.now() * 1000, this.#lastGeneration + 1)));
  }

  claim(hash: string, claimId: string, windowMs: number): Promise<ClaimOutcome> {
    return this.serial(async () => {
      const record = await this.read(hash);
      if (!record) return 'unknown';
      if (record.state === 'used' || record.state === 'applying') return 'used';
      if (record.state === 'revoked') return 'revoked';
      const now = Date.now();
      const live = (other: StoredRecord) => other.state === 'claimed' && now - (other.claimedAt ?? 0) < windowMs;
      if (live(record) || (await this.siblings(hash, record)).some(([, sibling]) => live(sibling))) return 'busy';
      // Stamped once the checks are done: the window runs from when the claim is recorded.
      await this.write(hash, { ...record, state: 'claimed', claimedAt: Date.now(), claimId });
      return 'claimed';
    });
  }

  renew(hash: string, claimId: string): Promise<boolean> {
    return this.serial(async () => {
      const record = await this.held(hash, claimId);
      if (record) await this.write(hash, { ...record, claimedAt: Date.now() });
      return record !== undefined;
    });
  }

  commit(hash: string, claimId: string, options: { keepSiblings?: boolean } = {}): Promise<boolean> {
    return this.serial(async () => {
      const record = await this.held(hash, claimId);
      if (record?.state !== 'claimed') return false;
      await this.write(hash, { ...record, state: 'applying' });
      if (options.keepSiblings) return true;
      for (const [other, sibling] of await this.siblings(hash, record)) {
        if (sibling.state === 'active' || sibling.state === 'claimed') await this.write(other, { ...sibling, state: 'revoked', revokedBy: claimId });
      }
      return true;
    });
  }

  markUsed(hash: string, claimId: string): Promise<void> {
    return this.serial(async () => {
      const record = await this.held(hash, claimId);
      if (record?.state === 'applying') await this.write(hash, { ...record, state: 'used' });
    });
  }

  release(hash: string, claimId: string): Promise<void> {
    return this.serial(async () => {
      const record = await this.held(hash, claimId);
      if (!record) return;
      await this.write(hash, { ...record, state: freed(record) });
      if (record.state !== 'applying') return;
      for (const [other, sibling] of await this.siblings(hash, record)) {
        if (sibling.state === 'revoked' && sibling.revokedBy === claimId) await this.write(other, { ...sibling, state: freed(sibling), revokedBy: undefined });
      }
    });
  }

  revokeAll(userId: string, purposes: readonly TokenPurpose[], keepHashes: readonly string[], options: { claimed?: boolean; olderThan?: number } = {}): Promise<void> {
    return this.serial(async () => {
      for (const [hash, record] of await this.rowsOf(userId, purposes)) {
        if (keepHashes.includes(hash)) continue;
        if (options.olderThan !== undefined) {
          if ((record.generation ?? 0) >= options.olderThan) continue;
          record.superseded = true;
        }
        const beingRedeemed = record.state === 'claimed' || record.state === 'applying';
        if (record.state === 'active' || (options.claimed === true && beingRedeemed)) record.state = 'revoked';
        await this.write(hash, record);
      }
    });
  }

  readCounter(key: string): Promise<string | undefined> {
    return this.serial(() => this.counter(key));
  }

  writeCounter(key: string, value: string, ttlMs: number, expected?: string | null): Promise<boolean> {
    return this.serial(async () => {
      if (expected !== undefined && (await this.counter(key)) !== (expected ?? undefined)) return false;
      await this.#counters.delete({ key: Not(key), expiresAt: LessThan(Date.now()) });
      await this.#counters.save({ key, value, expiresAt: Date.now() + ttlMs });
      return true;
    });
  }

  /** Runs `operation` after every one queued before it: each is atomic with respect to the others. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  private async counter(key: string): Promise<string | undefined> {
    const row = await this.#counters.findOneBy({ key });
    return row && row.expiresAt > Date.now() ? row.value : undefined;
  }

  private async read(hash: string): Promise<StoredRecord | undefined> {
    const row = await this.#tokens.findOneBy({ hash });
    return row ? (JSON.parse(row.record) as StoredRecord) : undefined;
  }

  private async write(hash: string, record: StoredRecord): Promise<void> {
    await this.#tokens.save({ hash, userId: record.userId, purpose: record.purpose, expiresAt: record.expiresAt, record: JSON.stringify(record) });
  }

  private async held(hash: string, claimId: string): Promise<StoredRecord | undefined> {
    const record = await this.read(hash);
    return (record?.state === 'claimed' || record?.state === 'applying') && record.claimId === claimId ? record : undefined;
  }

  private async rowsOf(userId: string, purposes: readonly TokenPurpose[]): Promise<Array<[string, StoredRecord]>> {
    const rows = await this.#tokens.findBy({ userId, purpose: In([...purposes]) });
    return rows.map((row) => [row.hash, JSON.parse(row.record) as StoredRecord]);
  }

  private async siblings(hash: string, { userId, purpose }: TokenRecord): Promise<Array<[string, StoredRecord]>> {
    return (await this.rowsOf(userId, [purpose])).filter(([other]) => other !== hash);
  }
}

/** A record as a caller may see it: the store's own fields left out. */
function copyOf({ userId, purpose, email, expiresAt, state, mac, sealed, generation }: StoredRecord): TokenRecord {
  return { userId, purpose, email, expiresAt, state, mac, ...(sealed === undefined ? {} : { sealed }), ...(generation === undefined ? {} : { generation }) };
}

/** Where a released token or sibling goes: revoked when a newer request superseded it, else active. */
function freed(record: StoredRecord): 'active' | 'revoked' {
  return record.superseded ? 'revoked' : 'active';
}
