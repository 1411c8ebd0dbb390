import type Mail from 'nodemailer/lib/mailer';
import { EmailDeliveryError, EmailWorkflowError } from '../errors';
import { EmailEvent, EmailEventBus } from '../events';
import type { EmailIdentity } from '../events';
import type { DeliveryReceipt, TransportRegistry } from '../transport';
import type { SmtpFailure } from '../errors';
import { diagnoseSmtp } from '../diagnostics';
import { DeliveryFailure } from './delivery.failure';
import { DeliveryGate, GateAbandonedError } from './delivery.gate';
import type { EmailJob } from './email-job';
import type { MessageComposer } from './message.composer';
import type { EmailRetryBackoff } from './queue.options';
import { retryDelay } from './retry.policy';

export interface DeliveryTry {
  id: string;
  job: EmailJob;
  /** 1 for the first try. */
  attempt: number;
  maxAttempts: number;
}

interface DeliveryWorkerSettings {
  backoff: Required<EmailRetryBackoff>;
  probeInterval: number;
}

/**
 * One delivery try, the same for every queue: render, send, and decide what a failure means.
 * Transient → retry later; permanent → stop; configuration → hold at the gate until the server is fixed.
 */
export class EmailDeliveryWorker {
  /**
   * The closed gates, by tenant ('' is the default transport): one tenant's broken server pauses only
   * its mail. A gate exists only while closed, so the map does not grow with every tenant ever seen.
   */
  private readonly gates = new Map<string, DeliveryGate>();

  constructor(
    private readonly composer: MessageComposer,
    private readonly transports: TransportRegistry,
    private readonly events: EmailEventBus,
    private readonly settings: DeliveryWorkerSettings,
  ) {}

  /** Tenants whose delivery is paused now. */
  pausedTenants(): string[] {
    return [...this.gates.keys()].filter((tenant) => tenant !== '');
  }

  /** Whether delivery through the default transport is paused. */
  isPaused(): boolean {
    return this.gates.has('');
  }

  async deliver({ id, job, attempt, maxAttempts }: DeliveryTry): Promise<DeliveryReceipt> {
    const identity = { id, tenant: job.tenant, messageId: job.messageId, template: job.template, to: job.to.address };
    let message: Mail.Options;
    try {
      message = this.composer.compose(job);
    } catch (error) {
      if (!(error instanceof EmailWorkflowError)) throw error;
      return this.fail(identity, attempt, { kind: 'permanent', reason: error.message });
    }
    const gateKey = job.tenant ?? '';
    for (;;) {
      try {
        await this.gates.get(gateKey)?.pass();
      } catch (error) {
        if (error instanceof GateAbandonedError) {
          throw new DeliveryFailure({ kind: 'transient', reason: error.message }, 0);
        }
        throw error;
      }
      try {
        const receipt = await this.transports
          // A tenant whose settings cannot be resolved fails here as an EmailDeliveryError too (see TransportRegistry.use).
          .use(job.tenant, ({ transport }) => transport.deliver(message));
        this.events.emit(EmailEvent.Sent, { ...identity, attempt, accepted: receipt.accepted, rejected: receipt.rejected });
        return receipt;
      } catch (error) {
        if (!(error instanceof EmailDeliveryError)) throw error;
        const { failure } = error;
        if (failure.kind === 'configuration') {
          this.pause(job.tenant, failure);
          continue;
        }
        if (failure.kind === 'permanent' || attempt >= maxAttempts) return this.fail(identity, attempt, failure);
        const delay = retryDelay(attempt, this.settings.backoff);
        this.events.emit(EmailEvent.Retrying, {
          ...identity,
          attempt,
          nextAttemptAt: new Date(Date.now() + delay),
          reason: failure.reason,
          responseCode: failure.responseCode,
          enhancedCode: failure.enhancedCode,
        });
        throw new DeliveryFailure(failure, delay);
      }
    }
  }

  /** Reports a job that can never be sent (e.g. its payload cannot be read) as failed for good. */
  reportUndeliverable(identity: EmailIdentity, attempt: number, reason: string): never {
    return this.fail(identity, attempt, { kind: 'permanent', reason });
  }

  /** Lets deliveries held at a closed gate go, so the queue can shut down; their emails stay queued. */
  releaseHeld(): void {
    this.gates.forEach((gate) => gate.abandon());
    this.gates.clear();
  }

  private pause(tenant: string | undefined, failure: SmtpFailure): void {
    const key = tenant ?? '';
    if (this.gates.has(key)) return;
    const gate = new DeliveryGate(
      // Through MAIL FROM, not just a login: a server that wants a login we do not have answers there.
      async () => {
        const { options, description } = await this.transports.get(tenant);
        return (await diagnoseSmtp(options, description, { from: this.composer.senderAddress })).ok;
      },
      this.settings.probeInterval,
      this.events,
      tenant,
      () => this.gates.delete(key),
    );
    this.gates.set(key, gate);
    gate.close(failure);
  }

  private fail(identity: EmailIdentity, attempt: number, failure: SmtpFailure): never {
    this.events.emit(EmailEvent.Failed, { ...identity, attempt, ...failure });
    throw new DeliveryFailure(failure);
  }
}
