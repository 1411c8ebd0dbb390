import type { ClaimState, DeliveryLogLimits, DeliveryLogStore } from './delivery-log.types';

interface Listed {
  ref: string;
  at: number;
}

/** The log in process memory, for the in-process queue: lost with the process, like its tokens. */
export class MemoryDeliveryLogStore implements DeliveryLogStore {
  private readonly records = new Map<string, { steps: string[]; expiresAt: number }>();
  private readonly byAddress = new Map<string, Listed[]>();
  private latest: Listed[] = [];
  private readonly claims = new Map<string, { state: 'pending' | 'done'; expiresAt: number }>();
  private readonly links = new Map<string, { sealedRef: string; expiresAt: number }>();
  private nextSweepAt = 0;

  constructor(private readonly limits: DeliveryLogLimits) {}

  async append(ref: string, sealedStep: string, index?: { addressKey: string; at: number }): Promise<void> {
    this.sweep();
    const record = this.records.get(ref) ?? { steps: [], expiresAt: 0 };
    record.steps.push(sealedStep);
    record.expiresAt = Date.now() + this.limits.retentionMs;
    this.records.set(ref, record);
    if (index === undefined) return;
    const listed = [...(this.byAddress.get(index.addressKey) ?? []).filter((entry) => entry.ref !== ref), { ref, at: index.at }].sort((a, b) => a.at - b.at);
    // The oldest go, records and all, so one address cannot grow the log past its cap.
    for (const dropped of listed.splice(0, Math.max(0, listed.length - this.limits.perAddress))) this.records.delete(dropped.ref);
    this.byAddress.set(index.addressKey, listed);
    this.latest = [...this.latest.filter((entry) => entry.ref !== ref), { ref, at: index.at }].sort((a, b) => a.at - b.at).slice(-this.limits.recent);
  }

  async steps(ref: string): Promise<string[]> {
    this.sweep();
    const record = this.records.get(ref);
    return record !== undefined && record.expiresAt > Date.now() ? [...record.steps] : [];
  }

  async refsOf(addressKey: string, since: number, limit: number): Promise<string[]> {
    this.sweep();
    return newestFirst(this.byAddress.get(addressKey) ?? [], Math.max(since, this.oldestKept()), limit);
  }

  async recent(limit: number): Promise<string[]> {
    this.sweep();
    return newestFirst(this.latest, this.oldestKept(), limit);
  }

  async claim(key: string, pendingMs: number): Promise<ClaimState> {
    const claim = this.claims.get(key);
    if (claim !== undefined && claim.expiresAt > Date.now()) return claim.state;
    this.claims.set(key, { state: 'pending', expiresAt: Date.now() + pendingMs });
    return 'claimed';
  }

  async finish(key: string): Promise<void> {
    this.claims.set(key, { state: 'done', expiresAt: Date.now() + this.limits.retentionMs });
  }

  async unclaim(key: string): Promise<void> {
    this.claims.delete(key);
  }

  async link(key: string, sealedRef: string): Promise<void> {
    this.sweep();
    this.links.set(key, { sealedRef, expiresAt: Date.now() + this.limits.retentionMs });
  }

  async linked(key: string): Promise<string | undefined> {
    const link = this.links.get(key);
    return link !== undefined && link.expiresAt > Date.now() ? link.sealedRef : undefined;
  }

  private oldestKept(): number {
    return Date.now() - this.limits.retentionMs;
  }

  /** At most once a second: a sweep walks everything, and the in-process queue may log thousands of emails a second. */
  private sweep(): void {
    const now = Date.now();
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + 1_000;
    for (const [ref, record] of this.records) if (record.expiresAt <= now) this.records.delete(ref);
    for (const [key, { expiresAt }] of this.claims) if (expiresAt <= now) this.claims.delete(key);
    for (const [key, { expiresAt }] of this.links) if (expiresAt <= now) this.links.delete(key);
    const oldest = now - this.limits.retentionMs;
    for (const [key, listed] of this.byAddress) {
      const kept = listed.filter((entry) => entry.at > oldest && this.records.has(entry.ref));
      if (kept.length === 0) this.byAddress.delete(key);
      else this.byAddress.set(key, kept);
    }
    this.latest = this.latest.filter((entry) => this.records.has(entry.ref));
  }
}

function newestFirst(listed: Listed[], since: number, limit: number): string[] {
  return listed
    .filter((entry) => entry.at >= since)
    .reverse()
    .slice(0, limit)
    .map((entry) => entry.ref);
}
