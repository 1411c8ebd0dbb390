import { DEFAULT_BACKOFF } from '../../lib/delivery/retry.policy';
import { retryDelay } from '../../lib/delivery/retry.policy';
import { seeded } from '../support/seeded-random';

const BACKOFF = { delay: 1_000, maxDelay: 60_000 };

/** `random` fixed at one value. */
const fixed = (value: number) => () => value;

/** The exponential step before jitter: delay · 2^(n-1), capped. */
function step(failedAttempts: number, backoff = BACKOFF): number {
  return Math.min(backoff.maxDelay, backoff.delay * 2 ** Math.max(0, failedAttempts - 1));
}

describe('retryDelay', () => {
  it('grows exponentially: the full step doubles with each failed attempt', () => {
    const full = [1, 2, 3, 4, 5].map((n) => retryDelay(n, BACKOFF, fixed(1)));
    expect(full).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    const half = [1, 2, 3, 4, 5].map((n) => retryDelay(n, BACKOFF, fixed(0)));
    expect(half).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
  });

  it('the first retry waits about `delay`', () => {
    expect(retryDelay(1, BACKOFF, fixed(0.5))).toBe(750);
    expect(retryDelay(1, { delay: 5_000, maxDelay: 3_600_000 }, fixed(1))).toBe(5_000);
  });

  it('caps the step at maxDelay and stays there', () => {
    // 1000 · 2^6 = 64000 > 60000
    expect(retryDelay(7, BACKOFF, fixed(1))).toBe(60_000);
    expect(retryDelay(7, BACKOFF, fixed(0))).toBe(30_000);
    for (const n of [8, 10, 20, 50, 100, 1_000, 10_000]) {
      expect(retryDelay(n, BACKOFF, fixed(1))).toBe(60_000);
      expect(retryDelay(n, BACKOFF, fixed(0))).toBe(30_000);
    }
  });

  it('caps even a first delay larger than maxDelay', () => {
    expect(retryDelay(1, { delay: 10_000, maxDelay: 4_000 }, fixed(1))).toBe(4_000);
    expect(retryDelay(1, { delay: 10_000, maxDelay: 4_000 }, fixed(0))).toBe(2_000);
  });

  it('defaults: 5 s first, capped at 1 hour', () => {
    expect(DEFAULT_BACKOFF).toEqual({ delay: 5_000, maxDelay: 3_600_000 });
    expect(retryDelay(1, DEFAULT_BACKOFF, fixed(1))).toBe(5_000);
    expect(retryDelay(40, DEFAULT_BACKOFF, fixed(1))).toBe(3_600_000);
  });

  it('jitter stays between half and all of the exponential step', () => {
    const random = seeded(42);
    for (let n = 1; n <= 12; n++) {
      const full = step(n);
      for (let i = 0; i < 500; i++) {
        const delay = retryDelay(n, BACKOFF, random);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(full / 2));
        expect(delay).toBeLessThanOrEqual(full);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it('jitter is linear in random(): equal jitter, half fixed and half random', () => {
    for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999]) {
      expect(retryDelay(3, BACKOFF, fixed(r))).toBe(Math.round(2_000 + r * 2_000));
    }
  });

  it('actually spreads retries: many emails at one attempt do not get one delay', () => {
    const random = seeded(7);
    const delays = new Set(Array.from({ length: 200 }, () => retryDelay(4, BACKOFF, random)));
    expect(delays.size).toBeGreaterThan(150);
    const values = [...delays];
    expect(Math.min(...values)).toBeLessThan(4_000 + 400);
    expect(Math.max(...values)).toBeGreaterThan(8_000 - 400);
  });

  it('uses Math.random by default, within the same bounds', () => {
    for (let i = 0; i < 200; i++) {
      const delay = retryDelay(2, BACKOFF);
      expect(delay).toBeGreaterThanOrEqual(1_000);
      expect(delay).toBeLessThanOrEqual(2_000);
    }
  });

  it('is never negative, nor NaN, for any attempt count, including 0 and below', () => {
    for (const n of [-10, -1, 0, 1, 2, 31, 32, 64, 1_024, 1e6, Number.MAX_SAFE_INTEGER]) {
      for (const r of [0, 0.5, 1]) {
        const delay = retryDelay(n, BACKOFF, fixed(r));
        expect(Number.isFinite(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(BACKOFF.maxDelay);
      }
    }
    expect(retryDelay(0, BACKOFF, fixed(1))).toBe(1_000);
    expect(retryDelay(-5, BACKOFF, fixed(0))).toBe(500);
  });

  it('is never negative with tiny delays', () => {
    for (let n = 1; n <= 20; n++) {
      for (const r of [0, 0.49, 1]) expect(retryDelay(n, { delay: 1, maxDelay: 3 }, fixed(r))).toBeGreaterThanOrEqual(0);
    }
    expect(retryDelay(1, { delay: 1, maxDelay: 1 }, fixed(0))).toBe(1);
  });

  it('is a pure function of its arguments', () => {
    expect(retryDelay(5, BACKOFF, fixed(0.3))).toBe(retryDelay(5, BACKOFF, fixed(0.3)));
    let calls = 0;
    retryDelay(5, BACKOFF, () => {
      calls++;
      return 0.3;
    });
    expect(calls).toBe(1);
  });
});
