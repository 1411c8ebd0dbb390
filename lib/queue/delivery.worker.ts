import { EmailDeliveryError, EmailWorkflowError } from '../errors';
import { EmailEvent, EmailEvents } from '../events';
import type { BrandOptions } from '../module/email-workflow.options';
import type { TemplateRegistry } from '../templates';
import type { DeliveryReceipt, SmtpTransport } from '../transport';
import type { SmtpFailure } from '../transport/smtp.failure';
import { DeliveryFailure } from './delivery.failure';
import { DeliveryGate, GateAbandonedError } from './delivery.gate';
import type { EmailJob } from './email-job';
import type { EmailRetryBackoff } from './queue.options';
import { retryDelay } from './retry.policy';

export interface DeliveryTry {
  id: string;
  job: EmailJob;
  /** 1 for the first try. */
  attempt: number;
  maxAttempts: number;
}

export interface DeliveryWorkerSettings {
  from: string;
  replyTo?: string;
  brand: BrandOptions;
  backoff: Required<EmailRetryBackoff>;
  probeInterval: number;
}

/**
 * One delivery try, the same for every queue: render, send, and decide what a failure means.
 * Transient → retry later; permanent → stop; configuration → hold at the gate until the server is fixed.
 */
export class EmailDeliveryWorker {
  private readonly gate: DeliveryGate;

  constructor(
    private readonly templates: TemplateRegistry,
    private readonly transport: SmtpTransport,
    private readonly events: EmailEvents,
    private readonly settings: DeliveryWorkerSettings,
  ) {
    this.gate = new DeliveryGate(() => this.transport.verify(), settings.probeInterval, events);
  }

  get isPaused(): boolean {
    return this.gate.isClosed;
  }

  async deliver({ id, job, attempt, maxAttempts }: DeliveryTry): Promise<DeliveryReceipt> {
    const identity = { id, messageId: job.messageId, template: job.template, to: job.to.address };
    let rendered;
    try {
      rendered = this.templates.render(job.template, { ...job.context, brand: this.settings.brand }, job.locale);
    } catch (error) {
      if (!(error instanceof EmailWorkflowError)) throw error;
      return this.fail(identity, attempt, { kind: 'permanent', reason: error.message });
    }
    for (;;) {
      try {
        await this.gate.pass();
      } catch (error) {
        if (error instanceof GateAbandonedError) {
          throw new DeliveryFailure({ kind: 'transient', reason: error.message }, 0);
        }
        throw error;
      }
      try {
        const receipt = await this.transport.deliver({
          from: this.settings.from,
          replyTo: this.settings.replyTo,
          to: job.to,
          subject: rendered.subject,
          html: rendered.html,
          text: rendered.text,
          messageId: job.messageId,
          headers: job.headers,
        });
        this.events.emit(EmailEvent.Sent, { ...identity, attempt, accepted: receipt.accepted, rejected: receipt.rejected });
        return receipt;
      } catch (error) {
        if (!(error instanceof EmailDeliveryError)) throw error;
        const failure: SmtpFailure = {
          kind: error.kind,
          reason: error.message,
          responseCode: error.responseCode,
          enhancedCode: error.enhancedCode,
        };
        if (failure.kind === 'configuration') {
          this.gate.close(failure);
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

  /** Lets deliveries held at a closed gate go, so the queue can shut down; their emails stay queued. */
  releaseHeld(): void {
    this.gate.abandon();
  }

  private fail(identity: { id: string; messageId: string; template: string; to: string }, attempt: number, failure: SmtpFailure): never {
    this.events.emit(EmailEvent.Failed, {
      ...identity,
      attempt,
      kind: failure.kind,
      reason: failure.reason,
      responseCode: failure.responseCode,
      enhancedCode: failure.enhancedCode,
    });
    throw new DeliveryFailure(failure);
  }
}
