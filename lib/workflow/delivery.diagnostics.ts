import { Inject, Injectable } from '@nestjs/common';
import { TestEmailCancelledError } from '../errors';
import { diagnoseSmtp } from '../diagnostics';
import type { TransportDiagnosis } from '../diagnostics';
import { EMAIL_QUEUE, MessageComposer } from '../queue';
import type { EmailQueue, EmailQueueStatus } from '../queue';
import { loadNodemailer, TransportRegistry } from '../transport';
import { EmailSendPipeline } from './send.pipeline';

/** Answers whether email can go out: the SMTP server checked step by step, a test email, the queue's state. */
@Injectable()
export class DeliveryDiagnostics {
  constructor(
    private readonly pipeline: EmailSendPipeline,
    private readonly composer: MessageComposer,
    private readonly transports: TransportRegistry,
    @Inject(EMAIL_QUEUE) private readonly queue: EmailQueue,
  ) {}

  /** See `EmailWorkflowService.diagnoseTransport`. */
  async diagnoseTransport(tenant?: string): Promise<TransportDiagnosis> {
    this.pipeline.assertTransportFor(tenant, 'diagnoseTransport');
    const { options, description, guard } = await this.transports.get(tenant);
    return diagnoseSmtp(options, description, { from: this.composer.senderAddress }, guard);
  }

  /**
   * See `EmailWorkflowService.sendTestEmail`. The test email goes through the before-send hooks and
   * the message composer like real mail, so it carries the same Reply-To and hook headers; a hook that
   * cancels it makes this throw TestEmailCancelledError.
   */
  async sendTestEmail(to: string, tenant?: string): Promise<TransportDiagnosis> {
    const prepared = await this.pipeline.prepare({ template: 'test-email', to, tenant }, 'sendTestEmail');
    if ('cancelled' in prepared) throw new TestEmailCancelledError(prepared.cancelled.reason);
    const email = prepared.ready;
    const { options, description, guard } = await this.transports.get(tenant);
    // A stream transport builds the exact bytes a real send would, DKIM signature included.
    const built = await loadNodemailer()
      .createTransport({ streamTransport: true, buffer: true, dkim: options.dkim })
      .sendMail(this.composer.compose(email));
    return diagnoseSmtp(options, description, { from: this.composer.senderAddress, to: email.to.address, message: built.message as Buffer }, guard);
  }

  /** See `EmailWorkflowService.queueStatus`. */
  queueStatus(): Promise<EmailQueueStatus> {
    return this.queue.status();
  }
}
