import { Injectable } from '@nestjs/common';

/** tokens.code.maxAttempts, passed to the library so the sample's pages and its limit agree. */
export const CODE_MAX_ATTEMPTS = 5;
const MAX_ADDRESSES = 10_000;

/**
 * Wrong sign-in codes this process has seen per address since it last sent one. The library answers
 * every refused code alike (`invalid-code`: wrong, expired, spent, or no such account), so it cannot
 * say "used up"; the sample can count the refusals it handed out itself. After CODE_MAX_ATTEMPTS of
 * them the code is void, even the right one, until a new one is sent: the page says so and offers
 * one. The count is the same for addresses with and without an account, so it tells nobody which
 * addresses have one.
 */
@Injectable()
export class CodeTries {
  private readonly refused = new Map<string, number>();

  /** A new code was sent to `address`: its tries start afresh. */
  reset(address: string): void {
    this.refused.delete(address);
  }

  /** Counts a refused code for `address`; true when that makes the current code used up. */
  refuse(address: string): boolean {
    if (!this.refused.has(address) && this.refused.size >= MAX_ADDRESSES) this.refused.delete(this.refused.keys().next().value as string);
    const count = (this.refused.get(address) ?? 0) + 1;
    this.refused.set(address, count);
    return count >= CODE_MAX_ATTEMPTS;
  }
}
