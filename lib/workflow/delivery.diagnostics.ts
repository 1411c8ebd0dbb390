import { Inject, Injectable } from '@nestjs/common';
import { TestEmailCancelledError } from '../errors';
import { diagnoseByCheck, diagnoseList, diagnoseSmtp } from '../diagnostics';
import type { TransportDiagnosis } from '../diagnostics';
import { EMAIL_QUEUE } from '../queue';
import { MessageComposer } from '../delivery';
import type { EmailQueue, EmailQueueStatus } from '../queue';
import type { ComposableEmail } from '../delivery';
import { buildRawMessage, diagnoseSesTransport, SesTransport, TransportRegistry } from '../transport';
import type { ResolvedTransport } from '../transport';
import { EmailSendPipeline } from './send.pipeline';

/** A test email: what is sent, as the job it came from and, for SMTP, the exact bytes. */
interface TestEmail {
  job: ComposableEmail;
  /** Built once, DKIM signature included, for the SMTP diagnosis's DATA. */
  built: Buffer;
}

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
    return this.diagnose(await this.transports.get(tenant));
  }

  /**
   * See `EmailWorkflowService.sendTestEmail`. The test email goes through the before-send hooks and
   * the message composer like real mail, so it carries the same Reply-To and hook headers; a hook that
   * cancels it makes this throw TestEmailCancelledError.
   */
  async sendTestEmail(to: string, tenant?: string): Promise<TransportDiagnosis> {
    const prepared = await this.pipeline.prepare({ template: 'test-email', to, tenant }, 'sendTestEmail');
    if ('cancelled' in prepared) throw new TestEmailCancelledError(prepared.cancelled.reason);
    const job = prepared.ready;
    const resolved = await this.transports.get(tenant);
    const dkim = resolved.options?.dkim ?? resolved.members?.find((member) => member.options)?.options?.dkim;
    return this.diagnose(resolved, { job, built: await buildRawMessage(this.composer.compose(job), dkim) });
  }

  /** See `EmailWorkflowService.queueStatus`. */
  queueStatus(): Promise<EmailQueueStatus> {
    return this.queue.status();
  }

  /**
   * SMTP step by step; an app's own transport by its `verify()` (or by sending the test email); a list
   * member by member, a test email only until one took it (so it arrives once).
   */
  private async diagnose(resolved: ResolvedTransport, test?: TestEmail): Promise<TransportDiagnosis> {
    const { options, description, guard, members, transport } = resolved;
    const from = this.composer.senderAddress;
    if (options) return diagnoseSmtp(options, description, test ? { from, to: test.job.to.address, message: test.built } : { from }, guard);
    if (members) {
      const diagnoses: TransportDiagnosis[] = [];
      for (const member of members) {
        diagnoses.push(await this.diagnose(member, test));
        if (test && diagnoses[diagnoses.length - 1].ok) break;
      }
      return diagnoseList(description, diagnoses);
    }
    if (!test && transport instanceof SesTransport) return diagnoseSesTransport(transport);
    if (!test) return diagnoseByCheck(description, 'verify', () => transport.verify());
    return diagnoseByCheck(description, 'send', async () => {
      await transport.deliver(this.composer.compose(test.job), { ...test.job, id: 'test-email', attempt: 1 });
      return { ok: true };
    });
  }
}
