import type { ResolvedBounceImap } from '../bounces';

/** Where and how the bounce mailbox is read: `bounces.imap` with its defaults, and the reader's own limits. */
export interface BounceImapSettings extends ResolvedBounceImap {
  /** Where messages that are no report go; created when missing. */
  unrecognisedMailbox: string;
  /** Larger messages are moved to `unrecognisedMailbox` without being downloaded. */
  maxMessageBytes: number;
  /** Waits between reconnection attempts, doubling from `minDelayMs` up to `maxDelayMs`. */
  reconnect: { minDelayMs: number; maxDelayMs: number };
}

/**
 * - `'done'`: recorded (or judged to change nothing): deleted or moved per `afterProcessing`.
 * - `'unrecognised'`: not a report: moved to `unrecognisedMailbox` (created when missing), logged once.
 * - `'retry'`: could not be recorded now (e.g. Redis down): left in the mailbox and tried on the next pass.
 */
export type BounceMessageOutcome = 'done' | 'unrecognised' | 'retry';

/** Records one raw message of the bounce mailbox. The reader deletes or moves it only after this resolved. */
export interface BounceMessageHandler {
  handle(raw: Buffer): Promise<BounceMessageOutcome>;
}

/** One reader per deployment: only the holder of the lease reads the mailbox. */
export interface ReaderLease {
  /** Resolves true when this process holds the lease now (acquired or renewed), false otherwise; never rejects. */
  hold(): Promise<boolean>;
  release(): Promise<void>;
}

export type BounceReaderState = 'stopped' | 'waiting-for-lease' | 'connecting' | 'connected' | 'reconnecting';

/** What the reader is doing, for health checks and support. */
export interface BounceReaderStatus {
  state: BounceReaderState;
  mailbox: string;
  /** Messages handled as `'done'` since start. */
  processed: number;
  /** Messages found not to be reports (or too large) since start. */
  unrecognised: number;
  /** When the last complete pass over the mailbox ended. */
  lastPassAt?: Date;
  /** The current problem (connection, login, a handler failure), without credentials. */
  lastError?: string;
  holdsLease: boolean;
}

/** Where the reader reports: Nest's `Logger` fits. */
export interface BounceReaderLogger {
  log(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}
