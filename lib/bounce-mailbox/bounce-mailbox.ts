import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ResolvedBounceImap } from '../bounces';
import type { RedisClient } from '../redis';
import type { EmailBounceProcessor } from './bounce.processor';
import type { BounceReaderStatus, ReaderLease } from './bounce-mailbox.types';
import { ImapBounceReader } from './imap-bounce.reader';
import { ProcessReaderLease, RedisReaderLease } from './reader.lease';

/** How long the reader's lease lasts without renewal: another process takes over within this after a crash. */
const LEASE_TTL_MS = 30_000;
const RECONNECT = { minDelayMs: 1_000, maxDelayMs: 60_000 };
/** Larger messages are not reports: a DSN returns headers, at most a short copy of the message. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Where the lease lives: beside the queue's keys in Redis (one reader per deployment), or this process. */
export interface BounceMailboxPlace {
  redis?: { client: RedisClient; prefix: string; commandTimeoutMs: number };
}

/**
 * The bounce mailbox of `bounces.imap`: read from boot to shutdown by one process of the deployment (the
 * holder of a lease in Redis; with the in-process queue, the process itself).
 */
export class BounceMailbox implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly reader?: ImapBounceReader;

  constructor(imap: ResolvedBounceImap | undefined, processor: EmailBounceProcessor, place: BounceMailboxPlace) {
    if (imap === undefined) return;
    const lease: ReaderLease = place.redis
      ? new RedisReaderLease(place.redis.client, `${place.redis.prefix}:bounce-reader`, LEASE_TTL_MS, place.redis.commandTimeoutMs)
      : new ProcessReaderLease();
    const settings = { ...imap, unrecognisedMailbox: 'unrecognised', maxMessageBytes: MAX_MESSAGE_BYTES, reconnect: RECONNECT };
    this.reader = new ImapBounceReader(settings, processor, lease, new Logger('EmailWorkflow'));
  }

  onApplicationBootstrap(): void {
    this.reader?.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.reader?.stop();
  }

  /** The reader's state, or undefined when `bounces.imap` is not set (or this process sends no email). */
  status(): BounceReaderStatus | undefined {
    return this.reader?.status();
  }

  /** Resolves after the reader's next full pass over the mailbox (tests, support tools). */
  async readOnce(): Promise<void> {
    await this.reader?.readOnce();
  }
}
