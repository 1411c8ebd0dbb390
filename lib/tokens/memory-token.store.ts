import type { ClaimOutcome, TokenPurpose, TokenRecord, TokenStore } from './token.types';

/** Tokens in process memory, for the in-process queue: lost on restart, not shared between processes. */
export class MemoryTokenStore implements TokenStore {
  private readonly records = new Map<string, TokenRecord & { claimedAt?: number }>();

  constructor(private readonly retentionMs: number) {}

  async save(hash: string, record: TokenRecord): Promise<void> {
    this.sweep(Date.now());
    this.records.set(hash, { ...record });
  }

  async find(hash: string): Promise<TokenRecord | undefined> {
    const record = this.records.get(hash);
    return record && { userId: record.userId, purpose: record.purpose, email: record.email, expiresAt: record.expiresAt, state: record.state };
  }

  async claim(hash: string, now: number, staleAfterMs: number): Promise<ClaimOutcome> {
    const record = this.records.get(hash);
    if (!record) return 'unknown';
    if (record.state === 'used' || record.state === 'revoked') return record.state;
    if (record.state === 'claimed' && now - (record.claimedAt ?? 0) < staleAfterMs) return 'busy';
    record.state = 'claimed';
    record.claimedAt = now;
    return 'claimed';
  }

  async markUsed(hash: string): Promise<void> {
    const record = this.records.get(hash);
    if (record?.state === 'claimed') record.state = 'used';
  }

  async release(hash: string): Promise<void> {
    const record = this.records.get(hash);
    if (record?.state === 'claimed') record.state = 'active';
  }

  async revokeOthers(userId: string, purpose: TokenPurpose, keepHash: string): Promise<void> {
    for (const [hash, record] of this.records) {
      if (hash !== keepHash && record.userId === userId && record.purpose === purpose && record.state === 'active') {
        record.state = 'revoked';
      }
    }
  }

  /** Forgets records past expiry plus retention, so memory does not grow without bound. */
  private sweep(now: number): void {
    for (const [hash, record] of this.records) {
      if (record.expiresAt + this.retentionMs < now) this.records.delete(hash);
    }
  }
}
