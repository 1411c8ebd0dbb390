import type { ClaimOutcome, TokenPurpose, TokenRecord, TokenStore } from './token.types';

type StoredRecord = TokenRecord & { claimedAt?: number; claimId?: string };

/** Tokens in process memory, for the in-process queue: lost on restart, not shared between processes. */
export class MemoryTokenStore implements TokenStore {
  private readonly records = new Map<string, StoredRecord>();

  constructor(private readonly retentionMs: number) {}

  async save(hash: string, record: TokenRecord): Promise<void> {
    this.sweep(Date.now());
    this.records.set(hash, { ...record });
  }

  async find(hash: string): Promise<TokenRecord | undefined> {
    const record = this.records.get(hash);
    if (!record) return undefined;
    const { userId, purpose, email, expiresAt, state, mac, sealed } = record;
    return { userId, purpose, email, expiresAt, state, mac, ...(sealed === undefined ? {} : { sealed }) };
  }

  // Each method runs to its end without awaiting, so in one process it is as atomic as the Redis scripts.
  async claim(hash: string, claimId: string, windowMs: number): Promise<ClaimOutcome> {
    const record = this.records.get(hash);
    if (!record) return 'unknown';
    if (record.state === 'used' || record.state === 'revoked') return record.state;
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

  async markUsed(hash: string, claimId: string): Promise<void> {
    const record = this.held(hash, claimId);
    if (!record) return;
    record.state = 'used';
    for (const [, sibling] of this.siblings(hash, record)) {
      if (sibling.state === 'active' || sibling.state === 'claimed') sibling.state = 'revoked';
    }
  }

  async release(hash: string, claimId: string): Promise<void> {
    const record = this.held(hash, claimId);
    if (record) record.state = 'active';
  }

  async revokeOthers(userId: string, purpose: TokenPurpose, keepHash: string): Promise<void> {
    for (const [hash, record] of this.records) {
      if (hash !== keepHash && record.userId === userId && record.purpose === purpose && record.state === 'active') {
        record.state = 'revoked';
      }
    }
  }

  async revokeAll(userId: string, purposes: readonly TokenPurpose[], keepHashes: readonly string[], options: { claimed?: boolean } = {}): Promise<void> {
    for (const [hash, record] of this.records) {
      const revocable = record.state === 'active' || (options.claimed === true && record.state === 'claimed');
      if (!keepHashes.includes(hash) && record.userId === userId && purposes.includes(record.purpose) && revocable) {
        record.state = 'revoked';
      }
    }
  }

  private held(hash: string, claimId: string): StoredRecord | undefined {
    const record = this.records.get(hash);
    return record?.state === 'claimed' && record.claimId === claimId ? record : undefined;
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
}
