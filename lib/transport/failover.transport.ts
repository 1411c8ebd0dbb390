import { Logger } from '@nestjs/common';
import type { MailMessage } from './mail-message';
import { EmailDeliveryError } from '../errors';
import type { DeliveryReceipt, MailTransport, MailTransportJob, TransportCheck } from './mail-transport';

/** One transport of a list, with its name for logs and its state. */
export interface FailoverMember {
  transport: MailTransport;
  /** Without any secret. */
  description: string;
}

interface MemberState extends FailoverMember {
  index: number;
  /** Set while it is out of the rotation: since when, and the timer of its next probe. */
  down?: { since: number; timer?: NodeJS.Timeout };
}

/** A failure that says nothing about the message: the next transport may well take it. */
export function isTransportFailure(error: unknown): error is EmailDeliveryError {
  return error instanceof EmailDeliveryError && (error.kind === 'configuration' || error.kind === 'unavailable');
}

/**
 * `transport: [a, b, …]`: sends through the first transport that is up. A connection, TLS or login
 * failure (`configuration`, `unavailable`) takes that transport out and hands the same message to the
 * next one at once; the one taken out is probed (`verify`) every `probeInterval` ms and taken back when
 * it answers. A refusal of the message itself (`permanent`, `transient`) is not failed over: another
 * server would most likely refuse it too, and a transient one is retried by the queue as usual. When
 * every transport fails, the first one's failure is thrown, so delivery pauses until one answers.
 */
export class FailoverTransport implements MailTransport {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly members: MemberState[];
  private closed = false;

  constructor(
    members: FailoverMember[],
    private readonly probeInterval: number,
  ) {
    this.members = members.map((member, index) => ({ ...member, index }));
  }

  get description(): string {
    return `failover [${this.members.map(({ description }) => description).join(', ')}]`;
  }

  /** Descriptions of the transports out of the rotation now, in list order. */
  downTransports(): string[] {
    return this.members.filter((member) => member.down).map(({ description }) => description);
  }

  async deliver(message: MailMessage, job: MailTransportJob): Promise<DeliveryReceipt> {
    const up = this.members.filter((member) => !member.down);
    // Every one is down: try them all anyway, in order; that is what the paused delivery's probe waits for.
    const candidates = up.length > 0 ? up : this.members;
    let first: EmailDeliveryError | undefined;
    for (const member of candidates) {
      try {
        const receipt = await member.transport.deliver(message, job);
        return { ...receipt, transport: member.description, transportIndex: member.index };
      } catch (error) {
        if (!isTransportFailure(error)) throw error;
        first ??= error;
        this.takeOut(member, error);
      }
    }
    throw first as EmailDeliveryError;
  }

  /** Probes the transports that are out; ok once any transport is up. */
  async verify(): Promise<TransportCheck> {
    await Promise.all(this.members.filter((member) => member.down).map((member) => this.probe(member)));
    const up = this.members.find((member) => !member.down);
    return up ? { ok: true } : { ok: false, reason: `no transport of the list answers (${this.description})` };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const member of this.members) clearTimeout(member.down?.timer);
    await Promise.all(this.members.map((member) => member.transport.close()));
  }

  private takeOut(member: MemberState, error: EmailDeliveryError): void {
    if (member.down || this.closed) return;
    member.down = { since: Date.now() };
    const next = this.members.find((other) => !other.down);
    this.logger.warn(
      `Transport ${member.index} (${member.description}) failed: ${error.message}. ${next ? `Sending through ${next.index} (${next.description})` : 'No transport left'}; it is re-checked every ${this.probeInterval} ms.`,
    );
    this.scheduleProbe(member);
  }

  private scheduleProbe(member: MemberState): void {
    const down = member.down;
    if (!down || this.closed) return;
    down.timer = setTimeout(() => void this.probe(member).then(() => member.down === down && this.scheduleProbe(member)), this.probeInterval);
    down.timer.unref();
  }

  /** Verifies a transport that is out, and takes it back when it answers. */
  private async probe(member: MemberState): Promise<void> {
    const down = member.down;
    if (!down) return;
    const check = await member.transport.verify().catch((error: unknown): TransportCheck => ({ ok: false, reason: String(error) }));
    if (!check.ok || member.down !== down || this.closed) return;
    clearTimeout(down.timer);
    member.down = undefined;
    this.logger.log(`Transport ${member.index} (${member.description}) answers again after ${Math.round((Date.now() - down.since) / 1000)} s; it is used again.`);
  }
}
