import { Injectable } from '@nestjs/common';
import { RateLimitedError } from 'nestjs-email-workflow';

interface Window {
  count: number;
  resetAt: number;
}

const HOUR_MS = 3_600_000;
/** Sign-ups per network per hour: enough for a household or an office, not for a script. */
const PER_IP = 10;
/**
 * Sign-ups per address per hour, counted before the form knows whether the address is taken, and
 * below the library's resend limit (flows.verifyEmail.limits.perAddress, 5 by default): this limit always answers
 * first, so a new and an existing address get the same page the same number of times, then the same 429.
 */
const PER_ADDRESS = 3;

/** DEMO LIMITS, in this process's memory (a restart starts them afresh): a real app counts in Redis or its gateway. */
@Injectable()
export class SignUpLimits {
  private readonly windows = new Map<string, Window>();

  /** Counts one sign-up; throws RateLimitedError (the 429 page) once either budget is spent. */
  charge(ip: string | undefined, address: string): void {
    const now = Date.now();
    if (this.windows.size > 10_000) for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    // Both are counted whatever the outcome, so one refusal does not spare the other budget.
    const verdicts = [this.hit(`ip:${networkOf(ip)}`, PER_IP, now), this.hit(`address:${address}`, PER_ADDRESS, now)];
    const refused = verdicts.filter((verdict) => verdict !== undefined) as number[];
    if (refused.length) throw new RateLimitedError(Math.max(...refused));
  }

  /** Undefined when allowed, else the seconds until the window resets. */
  private hit(key: string, limit: number, now: number): number | undefined {
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + HOUR_MS };
      this.windows.set(key, window);
    }
    window.count += 1;
    return window.count <= limit ? undefined : Math.max(1, Math.ceil((window.resetAt - now) / 1000));
  }
}

/** IPv4-mapped IPv6 as IPv4, other IPv6 by its first four groups (a /64, as written by Express). */
function networkOf(ip: string | undefined): string {
  if (!ip) return 'unknown';
  if (ip.toLowerCase().startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  return ip.includes(':') ? ip.toLowerCase().split(':').slice(0, 4).join(':') : ip;
}
