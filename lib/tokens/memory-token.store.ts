import type { ClaimOutcome, TokenPurpose, TokenRecord, TokenStore } from './token.types';

type StoredRecord = TokenRecord & { claimedAt?: number; claimId?: string; revokedBy?: string; superseded?: boolean };

/** Tokens in process memory, for the in-process queue: lost on restart, not shared between processes. */
export class MemoryTokenStore implements TokenStore {
  private readonly records = new Map<string, StoredRecord>();
  private readonly counters = new Map<string, { value: string; expiresAt: number }>();
  private lastGeneration = 0;

  constructor(private readonly retentionMs: number) {}

  async save(hash: string, record: TokenRecord): Promise<void> {
    this.sweep(Date.now());
    this.records.set(hash, { ...record });
  }

  async find(hash: string): Promise<TokenRecord | undefined> {
    const record = this.records.get(hash);
    return record && copyOf(record);
  }

  async findAll(userId: string, purpose: TokenPurpose): Promise<Array<{ hash: string; record: TokenRecord }>> {
    return [...this.records].filter(([, record]) => record.userId === userId && record.purpose === purpose).map(([hash, record]) => ({ hash, record: copyOf(record) }));
  }

  async nextGeneration(): Promise<number> {
    this.lastGeneration = Math.max(Date.now() * 1000, this.lastGeneration + 1);
    return this.lastGeneration;
  }

  // Each method runs to its end without awaiting, so in one process it is as atomic as the Redis scripts.
  async claim(hash: string, claimId: string, windowMs: number): Promise<ClaimOutcome> {
    const record = this.records.get(hash);
    if (!record) return 'unknown';
    if (record.state === 'used' || record.state === 'applying') return 'used';
    if (record.state === 'revoked') return 'revoked';
    const now = Date.now();
    const live = (other: StoredRecord) => other.state === 'claimed' && now - (other.claimedAt ?? 0) < windowMs;
    if (live(record) || this.siblings(hash, record).some(([, sibling]) => live(sibling))) return 'busy';
    Object.assign(record, { state: 'claimed', claimedAt: now, claimId });
    return 'claimed';
  }

  async renew(hash: string, claimId: string): Promise<boolean> {
    const record = this.held(hash, claimId);
    if (record) record.claimedAt = Date.now();
    return record !== undefined;
  }

  async commit(hash: string, claimId: string, options: { keepSiblings?: boolean } = {}): Promise<boolean> {
    const record = this.held(hash, claimId);
    if (record?.state !== 'claimed') return false;
    record.state = 'applying';
    if (options.keepSiblings) return true;
    for (const [, sibling] of this.siblings(hash, record)) {
      if (sibling.state === 'active' || sibling.state === 'claimed') Object.assign(sibling, { state: 'revoked', revokedBy: claimId });
    }
    return true;
  }

  async markUsed(hash: string, claimId: string): Promise<void> {
    const record = this.held(hash, claimId);
    if (record?.state === 'applying') record.state = 'used';
  }

  async release(hash: string, claimId: string): Promise<void> {
    const record = this.held(hash, claimId);
    if (!record) return;
    const committed = record.state === 'applying';
    record.state = freed(record);
    if (!committed) return;
    for (const [, sibling] of this.siblings(hash, record)) {
      if (sibling.state === 'revoked' && sibling.revokedBy === claimId) Object.assign(sibling, { state: freed(sibling), revokedBy: undefined });
    }
  }

  async revokeAll(userId: string, purposes: readonly TokenPurpose[], keepHashes: readonly string[], options: { claimed?: boolean; olderThan?: number } = {}): Promise<void> {
    for (const [hash, record] of this.records) {
      if (keepHashes.includes(hash) || record.userId !== userId || !purposes.includes(record.purpose)) continue;
      if (options.olderThan !== undefined) {
        if ((record.generation ?? 0) >= options.olderThan) continue;
        record.superseded = true;
      }
      const beingRedeemed = record.state === 'claimed' || record.state === 'applying';
      if (record.state === 'active' || (options.claimed === true && beingRedeemed)) record.state = 'revoked';
    }
  }

  async readCounter(key: string): Promise<string | undefined> {
    const counter = this.counters.get(key);
    return counter && counter.expiresAt > Date.now() ? counter.value : undefined;
  }

  async writeCounter(key: string, value: string, ttlMs: number, expected?: string | null): Promise<boolean> {
    if (expected !== undefined && (await this.readCounter(key)) !== (expected ?? undefined)) return false;
    if (this.counters.size > 10_000) this.sweepCounters(Date.now());
    this.counters.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }

  private held(hash: string, claimId: string): StoredRecord | undefined {
    const record = this.records.get(hash);
    return (record?.state === 'claimed' || record?.state === 'applying') && record.claimId === claimId ? record : undefined;
  }

  private siblings(hash: string, { userId, purpose }: TokenRecord): Array<[string, StoredRecord]> {
    return [...this.records].filter(([other, record]) => other !== hash && record.userId === userId && record.purpose === purpose);
  }

  /** Forgets records past expiry plus retention, so memory does not grow without bound. */
  private sweep(now: number): void {
    for (const [hash, record] of this.records) {
      if (record.expiresAt + this.retentionMs < now) this.records.delete(hash);
    }
  }

  private sweepCounters(now: number): void {
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
  }
}

/** A record as a caller may see it: the store's own fields left out, nothing shared. */
function copyOf({ userId, purpose, email, expiresAt, state, mac, sealed, generation }: StoredRecord): TokenRecord {
  return { userId, purpose, email, expiresAt, state, mac, ...(sealed === undefined ? {} : { sealed }), ...(generation === undefined ? {} : { generation }) };
}

/** Where a released token or sibling goes: revoked when a newer request superseded it, else active. */
function freed(record: StoredRecord): 'active' | 'revoked' {
  return record.superseded ? 'revoked' : 'active';
}
