import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { BounceMailbox } from '../bounce-mailbox';
import { withTimeout } from '../redis';
import { EmailWorkflowService } from '../workflow';

/**
 * Terminus indicator: can the SMTP server be reached, secured and logged into right now?
 * Runs a diagnosis (no email is sent); down carries the failing step and its hint.
 *
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.smtp.isHealthy('smtp'), () => this.queue.isHealthy('email-queue')]); }
 */
@Injectable()
export class EmailTransportHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly emails: EmailWorkflowService,
  ) {}

  async isHealthy<const Key extends string>(key: Key, tenant?: string) {
    const indicator = this.health.check(key);
    const diagnosis = await this.emails.diagnoseTransport(tenant);
    const steps = diagnosis.steps.map((step) => `${step.ok ? '✓' : '✗'} ${step.step}`).join(', ');
    return diagnosis.ok
      ? indicator.up({ transport: diagnosis.transport, steps })
      : indicator.down({
          transport: diagnosis.transport,
          steps,
          failure: diagnosis.failure?.code,
          message: diagnosis.failure?.message,
          hint: diagnosis.failure?.hint,
        });
  }
}

/** How long the queue indicator waits for the queue's state, as Terminus' own indicators wait by default. */
const QUEUE_CHECK_TIMEOUT_MS = 1_000;

/**
 * Terminus indicator of the email queue: depth, failed count and paused state. Down while the
 * default transport is paused; tenants paused on their own settings are listed but do not take it down.
 * Down too when the state does not come within `timeout` ms (1000): Redis unreachable or stalled.
 */
@Injectable()
export class EmailQueueHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly emails: EmailWorkflowService,
  ) {}

  async isHealthy<const Key extends string>(key: Key, options: { maxDepth?: number; timeout?: number } = {}) {
    const indicator = this.health.check(key);
    const { timeout = QUEUE_CHECK_TIMEOUT_MS } = options;
    const late = () => new Error(`no answer within ${timeout} ms; check that Redis at queue.redis is running and reachable`);
    const status = await withTimeout(this.emails.queueStatus(), timeout, late).catch((error: unknown) => ({ error: (error as Error).message }));
    if ('error' in status) return indicator.down({ message: `queue unreachable: ${status.error}` });
    const depth = status.waiting + status.delayed;
    const details = {
      depth,
      active: status.active,
      failed: status.failed,
      paused: status.paused,
      pausedTenants: status.pausedTenants,
      durable: status.durable,
    };
    if (status.paused) return indicator.down({ ...details, message: 'delivery is paused until the SMTP server works again (see email.delivery-paused)' });
    if (options.maxDepth !== undefined && depth > options.maxDepth) {
      return indicator.down({ ...details, message: `more than ${options.maxDepth} emails wait` });
    }
    return indicator.up(details);
  }
}

/**
 * Terminus indicator of the bounce mailbox reader (`bounces.imap`): up while it reads the mailbox, or while
 * another process holds the reader's lease; down while it cannot reach or log into the mailbox, with why.
 * Up with `reading: false` where this process reads no mailbox (no `bounces.imap`, or `queue.worker: false`).
 */
@Injectable()
export class EmailBounceReaderHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly mailbox: BounceMailbox,
  ) {}

  isHealthy<const Key extends string>(key: Key) {
    const indicator = this.health.check(key);
    const status = this.mailbox.status();
    if (status === undefined) return indicator.up({ reading: false });
    const details = { state: status.state, mailbox: status.mailbox, processed: status.processed, unrecognised: status.unrecognised, lastPassAt: status.lastPassAt?.toISOString() };
    const fine = status.state === 'connected' || status.state === 'waiting-for-lease';
    return fine ? indicator.up(details) : indicator.down({ ...details, message: status.lastError ?? `the bounce mailbox reader is ${status.state}` });
  }
}
