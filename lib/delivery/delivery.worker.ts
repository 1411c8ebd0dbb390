import type { MailMessage, DeliveryReceipt, TransportRegistry } from '../transport';
import { EmailDeliveryError, EmailWorkflowError, TenantHostRefusedError } from '../errors';
import { EmailEvent, EmailEventBus } from '../events';
import type { EmailIdentity } from '../events';
import type { SmtpFailure } from '../errors';
import { diagnoseSmtp } from '../diagnostics';
import { DeliveryFailure, DeliveryHandedBack, UndeliveredReason } from './delivery.failure';
import { DeliveryGate, GateAbandonedError } from './delivery.gate';
import type { EmailJob } from './email-job';
import type { MessageComposer } from './message.composer';
import type { EmailRetryBackoff } from './retry.policy';
import { retryDelay } from './retry.policy';

export interface DeliveryTry {
  id: string;
  job: EmailJob;
  /** 1 for the first try. */
  attempt: number;
  maxAttempts: number;
  /** When the email was queued (ms since the epoch): `maxAge` counts from here. */
  queuedAt: number;
}

interface DeliveryWorkerSettings {
  backoff: Required<EmailRetryBackoff>;
  probeInterval: number;
  maxAge: number;
}

/** setTimeout's longest delay; a longer wait for expiry just wakes up and waits again. */
const LONGEST_TIMER = 2_147_483_647;

/**
 * One delivery try, the same for every queue: render, send, and decide what a failure means.
 * Transient → retry later; permanent → stop; configuration or unavailable → hold at the gate until
 * the server works again. An email older than `maxAge` is given up instead of being tried or held further.
 */
export class EmailDeliveryWorker {
  /**
   * The closed gates, by tenant ('' is the default transport): one tenant's broken server pauses only
   * its mail. A gate exists only while closed, so the map does not grow with every tenant ever seen.
   */
  private readonly gates = new Map<string, DeliveryGate>();
  /** Set at shutdown: from then on a delivery that would wait at a gate is handed back instead. */
  private released = false;

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

  async deliver({ id, job, attempt, maxAttempts, queuedAt }: DeliveryTry): Promise<DeliveryReceipt> {
    const identity = { id, tenant: job.tenant, messageId: job.messageId, template: job.template, to: job.to.address };
    const expiresAt = queuedAt + this.settings.maxAge;
    let message: MailMessage;
    let templateVersion: string | undefined;
    try {
      ({ message, templateVersion } = await this.composer.composeForDelivery(job));
    } catch (error) {
      if (!(error instanceof EmailWorkflowError)) throw error;
      return this.fail(identity, attempt, { kind: 'permanent', reason: error.message });
    }
    const gateKey = job.tenant ?? '';
    // Checked before each try and whenever a wait at the gate ends, so a held email is given up on time too.
    while (Date.now() < expiresAt) {
      if (!(await this.passGate(gateKey, expiresAt))) continue;
      let started: number | undefined;
      try {
        // A tenant whose settings cannot be resolved fails here as an EmailDeliveryError too (see TransportRegistry.use).
        const { receipt, sendDurationMs } = await this.transports.use(job.tenant, async ({ transport, description }) => {
          // Timed from here, not before `use`: resolving a tenant's settings is not SMTP time.
          started = performance.now();
          const taken = await transport.deliver(message, { ...job, id, attempt });
          return { receipt: { ...taken, transport: taken.transport ?? description }, sendDurationMs: performance.now() - started };
        });
        this.events.emit(EmailEvent.Sent, {
          ...identity,
          attempt,
          accepted: receipt.accepted,
          rejected: receipt.rejected,
          queuedAt: new Date(queuedAt),
          sendDurationMs,
          response: receipt.response,
          transport: receipt.transport,
          ...(receipt.transportIndex === undefined ? {} : { transportIndex: receipt.transportIndex }),
          ...(templateVersion === undefined ? {} : { templateVersion }),
        });
        return receipt;
      } catch (error) {
        if (!(error instanceof EmailDeliveryError)) throw error;
        const { failure } = error;
        // A refused tenant host reached no server: no duration, which would only tell how long DNS took.
        const sendDurationMs = started === undefined || error instanceof TenantHostRefusedError ? undefined : performance.now() - started;
        if (failure.kind === 'configuration' || failure.kind === 'unavailable') {
          this.pause(job.tenant, failure);
          continue;
        }
        if (failure.kind === 'permanent' || attempt >= maxAttempts) return this.fail(identity, attempt, failure, sendDurationMs);
        const delay = retryDelay(attempt, this.settings.backoff);
        this.events.emit(EmailEvent.Retrying, {
          ...identity,
          attempt,
          nextAttemptAt: new Date(Date.now() + delay),
          reason: failure.reason,
          responseCode: failure.responseCode,
          enhancedCode: failure.enhancedCode,
          sendDurationMs,
        });
        throw new DeliveryFailure(failure, delay);
      }
    }
    return this.fail(identity, attempt, {
      kind: 'expired',
      reason: `Given up: not delivered within queue.maxAge (${formatDuration(this.settings.maxAge)}) of being queued.`,
    });
  }

  /** Reports a job that can never be sent (e.g. its payload cannot be read) as failed for good. */
  reportUndeliverable(identity: EmailIdentity, attempt: number, reason: string): never {
    return this.fail(identity, attempt, { kind: 'permanent', reason });
  }

  /**
   * At shutdown: hands back (DeliveryHandedBack) every delivery held at a closed gate, untried, and from
   * now on any that would be held, so the queue can give them to another worker; probing stops.
   */
  releaseHeld(): void {
    this.released = true;
    this.gates.forEach((gate) => gate.abandon());
    this.gates.clear();
  }

  /**
   * Resolves true once the tenant's gate is open, false when the email expires first (or the wait
   * hit the longest timer) and should be looked at again.
   */
  private async passGate(key: string, expiresAt: number): Promise<boolean> {
    const gate = this.gates.get(key);
    if (!gate) return true;
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.min(expiresAt - Date.now(), LONGEST_TIMER))));
    try {
      return await Promise.race([gate.pass().then(() => true), expiry]);
    } catch (error) {
      if (error instanceof GateAbandonedError) throw new DeliveryHandedBack(error.message);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private pause(tenant: string | undefined, failure: SmtpFailure): void {
    // Shutting down: no new pause (and no probe); the email goes back untried for another worker.
    if (this.released) throw new DeliveryHandedBack(failure.reason);
    const key = tenant ?? '';
    if (this.gates.has(key)) return;
    const gate = new DeliveryGate(
      // Through MAIL FROM, not just a login: a server that wants a login we do not have answers there.
      // A tenant's settings are asked for again each time: a fixed resolver answer resumes it.
      // Settings that now name a refused host reopen the gate too: no server state can change that,
      // so the held emails go on to fail at once (permanent) instead of waiting out queue.maxAge.
      async () => {
        const { options, description, guard, transport } = await this.transports.forProbe(tenant);
        // An app's own transport, or a list (which probes its members), answers for itself.
        if (!options) return transport !== undefined && (await transport.verify()).ok;
        const diagnosis = await diagnoseSmtp(options, description, { from: this.composer.senderAddress }, guard);
        return diagnosis.ok || diagnosis.failure?.code === 'TENANT_HOST_REFUSED';
      },
      this.settings.probeInterval,
      this.events,
      tenant,
      () => this.gates.delete(key),
    );
    this.gates.set(key, gate);
    gate.close(failure);
  }

  private fail(identity: EmailIdentity, attempt: number, failure: UndeliveredReason, sendDurationMs?: number): never {
    this.events.emit(EmailEvent.Failed, { ...identity, attempt, ...failure, sendDurationMs });
    throw new DeliveryFailure(failure);
  }
}

function formatDuration(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  const [size, name] = units.find(([unitMs]) => ms >= unitMs && ms % unitMs === 0) ?? [1, 'ms'];
  const count = ms / size;
  return name === 'ms' ? `${ms} ms` : `${count} ${name}${count === 1 ? '' : 's'}`;
}
