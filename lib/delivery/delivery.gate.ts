import { Logger } from '@nestjs/common';
import { EmailEvent, EmailEventBus } from '../events';
import type { SmtpFailure } from '../errors';

/** Raised to a delivery waiting at a closed gate when the process shuts down. */
export class GateAbandonedError extends Error {
  constructor() {
    super('Delivery was paused when the process shut down; the email stays queued');
  }
}

/**
 * Closed while a failure that concerns no email in particular stands: a configuration failure (bad
 * credentials, TLS, certificate) or an outage (server unreachable or busy). Deliveries wait here
 * instead of each failing on its own: their retries are not spent, the server sees a handful of
 * connections, and the diagnosis is reported once. A probe re-checks the server and reopens the gate.
 */
export class DeliveryGate {
  private readonly logger = new Logger('EmailWorkflow');
  private closed?: {
    since: number;
    reopened: Promise<void>;
    settle: (error?: Error) => void;
    timer?: NodeJS.Timeout;
  };

  constructor(
    private readonly probe: () => Promise<boolean>,
    private readonly probeInterval: number,
    private readonly events: EmailEventBus,
    private readonly tenant: string | undefined,
    private readonly onReopened: () => void,
  ) {}

  /** Resolves at once while open; while closed, once a probe succeeds. */
  pass(): Promise<void> {
    return this.closed?.reopened ?? Promise.resolve();
  }

  close(failure: SmtpFailure): void {
    if (this.closed) return;
    let settle!: (error?: Error) => void;
    const reopened = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    reopened.catch(() => undefined);
    this.closed = { since: Date.now(), reopened, settle };
    this.logger.error(
      `Delivery${this.tenant === undefined ? '' : ` for tenant "${this.tenant}"`} paused: ${failure.reason}. Queued emails are kept; the server is re-checked every ${formatInterval(this.probeInterval)}.`,
    );
    this.events.emit(EmailEvent.DeliveryPaused, {
      tenant: this.tenant,
      reason: failure.reason,
      responseCode: failure.responseCode,
      enhancedCode: failure.enhancedCode,
    });
    this.scheduleProbe();
  }

  /** Releases every waiting delivery with GateAbandonedError and stops probing. */
  abandon(): void {
    if (!this.closed) return;
    clearTimeout(this.closed.timer);
    this.closed.settle(new GateAbandonedError());
    this.closed = undefined;
  }

  private scheduleProbe(): void {
    const closed = this.closed;
    if (!closed) return;
    closed.timer = setTimeout(async () => {
      const healthy = await this.probe().catch(() => false);
      if (this.closed !== closed) return;
      if (!healthy) return this.scheduleProbe();
      this.closed = undefined;
      const pausedForMs = Date.now() - closed.since;
      this.logger.log(`Delivery resumed after ${Math.round(pausedForMs / 1000)} s.`);
      this.events.emit(EmailEvent.DeliveryResumed, { tenant: this.tenant, pausedForMs });
      this.onReopened();
      closed.settle();
    }, this.probeInterval);
  }
}

function formatInterval(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
