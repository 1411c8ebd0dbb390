import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProviderEvent } from '../bounce-mailbox';
import { unauthorized } from './webhook.errors';
import type { WebhookProviderName } from './webhooks.options';

/** One webhook request as every provider's check sees it, whatever the HTTP platform. */
export interface WebhookRequest {
  /** The body exactly as it arrived. */
  raw: Buffer;
  /** A header's value (the first, if repeated), or undefined. */
  header(name: string): string | undefined;
  /** The client's address as the platform gives it (`trust proxy` applied), IPv4-mapped IPv6 unwrapped. */
  ip: string | undefined;
}

/** What a verified request holds, and how to give back a one-time claim when it could not be recorded. */
export interface VerifiedWebhook {
  events: ProviderEvent[];
  release?: () => Promise<void>;
}

/** One-time use of a key (a Mailgun token) for `ttlMs`: where the delivery log keeps its claims, Redis or memory. */
export interface ReplayGuard {
  /** True the first time; false while the key was seen within `ttlMs`. */
  firstUse(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

/** Verifies a provider's requests and reads them into events. Throws WebhookRefusal (400/401) or WebhookUnavailable. */
export interface WebhookProvider {
  readonly name: WebhookProviderName;
  receive(request: WebhookRequest, replays: ReplayGuard): Promise<VerifiedWebhook>;
}

/**
 * Equal in constant time, whatever the lengths: both sides are hashed first, so neither the time taken nor
 * an early length check tells how much of a guess was right.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Whether a signature check passed; a malformed signature (which makes OpenSSL throw) is one that did not. */
export function verifies(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** Refuses a signed timestamp (Unix seconds) more than `maxAgeMs` from now either way: a replay, or a clock gone wrong. */
export function requireFresh(epochMs: number, maxAgeMs: number): void {
  if (!Number.isFinite(epochMs) || Math.abs(Date.now() - epochMs) > maxAgeMs) throw unauthorized('the signed timestamp is stale or malformed');
}

/** Unix seconds as sent in a header or field: digits only. */
export function secondsToMs(value: string | number | undefined): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value * 1000 : Number.NaN;
  return value !== undefined && /^\d{1,12}$/.test(value) ? Number(value) * 1000 : Number.NaN;
}

/** The body as JSON, or undefined when it is not JSON. */
export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A plain object (from JSON), or undefined. */
export function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A non-empty string field, or undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** The first enhanced status code (`5.1.1`) in a server's reply, or undefined. */
export function enhancedCodeIn(reply: string | undefined): string | undefined {
  return reply === undefined ? undefined : /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1];
}
