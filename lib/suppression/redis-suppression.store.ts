import type { RedisClient } from '../redis';
import { boundedRedisCall } from '../redis';
import type { StoredSuppression, SuppressionStore } from './suppression.types';

/** Entries read per HSCAN step of `entries()`. */
const SCAN_COUNT = 500;

/**
 * The list in one Redis hash beside the queue's keys (`<prefix>:suppressions`), so every process on
 * the prefix shares it; field = keyed hash of the address, value = the entry as JSON. Each call settles
 * within `commandTimeoutMs`, with QueueUnavailableError when Redis does not answer.
 */
export class RedisSuppressionStore implements SuppressionStore {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly commandTimeoutMs: number,
  ) {
    this.key = `${prefix}:suppressions`;
  }

  async get(field: string): Promise<StoredSuppression | undefined> {
    const value = await this.bounded(() => this.redis.hget(this.key, field), 'The suppression list was not read.');
    return value === null ? undefined : (JSON.parse(value) as StoredSuppression);
  }

  async put(field: string, entry: StoredSuppression): Promise<void> {
    await this.bounded(() => this.redis.hset(this.key, field, JSON.stringify(entry)), 'The address was not added to the suppression list.');
  }

  async delete(field: string): Promise<boolean> {
    return (await this.bounded(() => this.redis.hdel(this.key, field), 'The address was not removed from the suppression list.')) > 0;
  }

  async entries(): Promise<Array<[string, StoredSuppression]>> {
    const found = new Map<string, StoredSuppression>();
    let cursor = '0';
    // HSCAN, not HGETALL: a long list is read in steps instead of in one reply that blocks Redis.
    do {
      const [next, flat] = await this.bounded(() => this.redis.hscan(this.key, cursor, 'COUNT', SCAN_COUNT), 'The suppression list was not read.');
      for (let i = 0; i < flat.length; i += 2) found.set(flat[i], JSON.parse(flat[i + 1]) as StoredSuppression);
      cursor = next;
    } while (cursor !== '0');
    return [...found];
  }

  private bounded<T>(call: () => Promise<T>, outcome: string): Promise<T> {
    return boundedRedisCall(this.redis, this.commandTimeoutMs, call, outcome);
  }
}
