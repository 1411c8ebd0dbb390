import type { LoggerService } from '@nestjs/common';
import type { PayloadCipher } from '../crypto';
import { DeliveryFailure, retryDelay } from '../delivery';
import type { EmailRetryBackoff } from '../delivery';

/** What an account request carries (an address, an IP): plain values, stored sealed. */
export type AccountRequestPayload = Record<string, string | undefined>;

/**
 * Carries out one accepted request: looks the account up, issues a token, queues the email.
 * `requestId` is the same on every try of the request, so the email it queues can be keyed by it.
 */
export type AccountRequestHandler = (payload: AccountRequestPayload, requestId: string) => Promise<void>;

/** The form stored in Redis: only the kind shows; the payload (which holds an address) is sealed. */
export interface StoredAccountRequest {
  kind: string;
  sealedPayload: string;
}

/** A durable queue's second job kind: work the workflow accepted and answered, done by whichever worker takes it. */
export interface AccountRequestQueue {
  /** Resolves once the request is stored, with its id. */
  enqueueAccountRequest(kind: string, payload: AccountRequestPayload): Promise<string>;
  /**
   * What a worker does with requests of `kind`. The queue cannot know the workflow, so the workflow
   * registers its handlers at boot, in every process: any worker may take the request.
   */
  handleAccountRequests(kind: string, handler: AccountRequestHandler): void;
}

/** Whether a queue stores account requests (the durable one); otherwise the workflow does the work itself. */
export function storesAccountRequests(queue: object): queue is AccountRequestQueue {
  return 'enqueueAccountRequest' in queue;
}

/** Whether a stored job is an account request rather than an email. */
export function isAccountRequest(data: object): data is StoredAccountRequest {
  return 'sealedPayload' in data;
}

/** The clear field of a stored request, as the text its sealed payload is bound to (GCM associated data). */
function requestBinding(kind: string): string {
  return JSON.stringify(['account-request', kind]);
}

/** The parts of a queue job a try needs (Bull's `Job` has them). */
interface AccountRequestJob {
  id: string | number;
  data: StoredAccountRequest;
  /** Tries already failed. */
  attemptsMade: number;
  opts: { attempts?: number };
  discard(): Promise<void>;
}

/** The handlers by kind, and one try of a stored request with the queue's retry rules. */
export class AccountRequestHandlers {
  private readonly handlers = new Map<string, AccountRequestHandler>();

  constructor(
    private readonly cipher: PayloadCipher,
    private readonly backoff: Required<EmailRetryBackoff>,
    private readonly logger: LoggerService,
  ) {}

  register(kind: string, handler: AccountRequestHandler): void {
    if (this.handlers.has(kind)) throw new Error(`Account requests of kind "${kind}" already have a handler.`);
    this.handlers.set(kind, handler);
  }

  seal(kind: string, payload: AccountRequestPayload): StoredAccountRequest {
    return { kind, sealedPayload: this.cipher.seal(payload, requestBinding(kind)) };
  }

  /**
   * One try. A failure (directory or Redis down) throws a DeliveryFailure carrying the backoff delay,
   * until the tries run out; an unreadable payload fails for good at once.
   */
  async run(job: AccountRequestJob, defaultAttempts: number): Promise<void> {
    const id = String(job.id);
    const { kind } = job.data;
    const payload = await this.open(job);
    const attempt = job.attemptsMade + 1;
    try {
      const handler = this.handlers.get(kind);
      // Retried rather than failed: a worker of another version may know the kind.
      if (!handler) throw new Error(`this process has no handler for account requests of kind "${kind}"`);
      await handler(payload, id);
    } catch (error) {
      const reason = (error as Error).message;
      if (attempt >= (job.opts.attempts ?? defaultAttempts)) {
        this.logger.error(`Account request ${id} (${kind}) failed after ${attempt} tries: ${reason}`);
        throw new DeliveryFailure({ kind: 'transient', reason });
      }
      const delay = retryDelay(attempt, this.backoff);
      this.logger.warn(`Account request ${id} (${kind}) failed, retrying in ${delay} ms: ${reason}`);
      throw new DeliveryFailure({ kind: 'transient', reason }, delay);
    }
  }

  private async open(job: AccountRequestJob): Promise<AccountRequestPayload> {
    try {
      return this.cipher.open(job.data.sealedPayload, requestBinding(job.data.kind));
    } catch {
      const reason =
        'The queued account request cannot be decrypted: it was altered in Redis (its kind or sealed part edited), or the process that queued it used a different `secret`. Fix: give every process on this Redis the same secret.';
      this.logger.error(`Account request ${job.id}: ${reason}`);
      await job.discard();
      throw new DeliveryFailure({ kind: 'permanent', reason });
    }
  }
}
