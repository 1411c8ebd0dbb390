import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { EmailEventBus, EmailEventSubscriptions, EmailEvent } from '../../lib/events';
import { DeliveryFailure, DeliveryHandedBack } from '../../lib/delivery/delivery.failure';
import { EmailDeliveryWorker } from '../../lib/delivery/delivery.worker';
import type { DeliveryTry } from '../../lib/delivery/delivery.worker';
import type { EmailJob } from '../../lib/delivery/email-job';
import { MessageComposer } from '../../lib/delivery/message.composer';
import { resolveTemplateOptions } from '../../lib/templates/template.options';
import { TemplateRegistry } from '../../lib/templates/template.registry';
import { SmtpTransport } from '../../lib/transport/smtp.transport';
import type { SmtpTransportOptions } from '../../lib/transport/smtp-transport.options';
import { describeTransport, toNodemailerOptions } from '../../lib/transport/smtp-transport.resolver';
import { resolveSmtpTransport } from '../../lib/transport/transport.options';
import { TransportRegistry } from '../../lib/transport/transport.registry';
import { CapturingLogger } from '../support/capturing-logger';
import { freePort } from '../support/free-port';
import { SmtpSink, SmtpSinkOptions, smtpReply } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';
import { EventLog } from '../support/workflow';

type RcptHandler = (address: SMTPServerAddress, session: SMTPServerSession, callback: (error?: Error | null) => void) => void;

const BACKOFF = { delay: 100, maxDelay: 1_000 };
const PROBE_INTERVAL = 100;
const DAY = 86_400_000;
const LOGIN = { user: 'mailer', pass: 'current-password' };
const ROTATED = { user: LOGIN.user, pass: 'rotated-password' };

let jobCount = 0;

/** A queued email as `send()` leaves it, with a Message-ID of its own. */
function jobTo(address: string, overrides: Partial<EmailJob> = {}): EmailJob {
  jobCount++;
  return { template: 'test-email', to: { address, name: 'Ada Lovelace' }, context: {}, messageId: `<job-${jobCount}@acme.test>`, ...overrides };
}

function firstTry(job: EmailJob, attempt = 1, maxAttempts = 3, queuedAt = Date.now()): DeliveryTry {
  return { id: `id-${job.messageId}`, job, attempt, maxAttempts, queuedAt };
}

/** What a delivery settled with, without awaiting it. */
function watch<T>(delivery: Promise<T>): { settled: () => boolean; outcome: Promise<T | unknown> } {
  let settled = false;
  const outcome = delivery.then(
    (value) => ((settled = true), value),
    (error: unknown) => ((settled = true), error),
  );
  return { settled: () => settled, outcome };
}

describe('EmailDeliveryWorker', () => {
  let logger: CapturingLogger;
  let composer: MessageComposer;
  const sinks: SmtpSink[] = [];
  const workers: Array<{ worker: EmailDeliveryWorker; transports: TransportRegistry }> = [];

  beforeAll(async () => {
    logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    const templates = resolveTemplateOptions({ brand: { name: 'Acme', supportEmail: 'support@acme.test', postalAddress: '1 Main St, Springfield' } });
    if (!templates.ok) throw new Error(JSON.stringify(templates.problems));
    composer = new MessageComposer(await TemplateRegistry.load(templates.value.registry), {
      from: 'Acme <no-reply@acme.test>',
      replyTo: 'help@acme.test',
      htmlEncoding: 'base64',
      senderAddress: 'no-reply@acme.test',
      brand: templates.value.brand,
    });
  });

  afterAll(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  beforeEach(() => {
    logger.entries.length = 0;
  });

  afterEach(async () => {
    for (const { worker, transports } of workers.splice(0)) {
      worker.releaseHeld();
      transports.closeAll();
    }
    await Promise.all(sinks.splice(0).map((sink) => sink.close()));
  });

  async function sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const started = await SmtpSink.start({ hideENHANCEDSTATUSCODES: true, ...options });
    sinks.push(started);
    return started;
  }

  function transportTo(target: SmtpSink, auth?: { user: string; pass: string }): SmtpTransportOptions {
    return { host: '127.0.0.1', port: target.port, security: 'none', pool: false, auth };
  }

  /** A worker sending through `transport` by default and, given `tenants`, through a tenant's own transport. */
  function workerFor(
    transport: SmtpTransportOptions,
    tenants: Record<string, SmtpTransportOptions> = {},
    maxAge = DAY,
  ): { worker: EmailDeliveryWorker; events: EventLog } {
    const options = toNodemailerOptions(transport);
    const transports = new TransportRegistry(
      { transport: new SmtpTransport(options), options, description: describeTransport(transport) },
      {
        resolve: async (tenant) => resolveSmtpTransport(tenants[tenant], { credentialKeys: [] }),
        maxCached: 10,
        idleTimeout: 60_000,
      },
    );
    const bus = new EmailEventBus();
    const worker = new EmailDeliveryWorker(composer, transports, bus, { backoff: BACKOFF, probeInterval: PROBE_INTERVAL, maxAge });
    workers.push({ worker, transports });
    return { worker, events: new EventLog(new EmailEventSubscriptions(bus)) };
  }

  const errors = () => logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message);

  it('renders the job and delivers it with its Message-ID, headers, From and Reply-To; email.sent names the attempt', async () => {
    const target = await sink();
    const { worker, events } = workerFor(transportTo(target));
    const job = jobTo('ada@example.test', { headers: { 'X-Campaign': 'spring' } });

    const receipt = await worker.deliver(firstTry(job, 2, 3));

    expect(receipt).toMatchObject({ accepted: ['ada@example.test'], rejected: [] });
    const mail = await target.mailWithId(job.messageId);
    expect(mail.subject).toBe('Test email from Acme');
    expect(mail.from?.value).toEqual([{ name: 'Acme', address: 'no-reply@acme.test' }]);
    expect(mail.replyTo?.text).toBe('help@acme.test');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : undefined).toEqual([{ name: 'Ada Lovelace', address: 'ada@example.test' }]);
    expect(mail.headers.get('x-campaign')).toBe('spring');
    expect(mail.html).toContain('1 Main St, Springfield');
    expect(events.seen[EmailEvent.Sent]).toEqual([
      {
        id: `id-${job.messageId}`,
        tenant: undefined,
        messageId: job.messageId,
        template: 'test-email',
        to: 'ada@example.test',
        attempt: 2,
        accepted: ['ada@example.test'],
        rejected: [],
        queuedAt: expect.any(Date),
        sendDurationMs: expect.any(Number),
        response: '250 OK: message queued',
        transport: `smtp://127.0.0.1:${target.port} (no TLS)`,
      },
    ]);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
  });

  it('on a transient failure, throws a DeliveryFailure to retry after the backoff delay, and emits email.retrying', async () => {
    const onRcptTo: RcptHandler = (_address, _session, callback) => callback(smtpReply(452, '4.2.2 Mailbox full, try later'));
    const target = await sink({ onRcptTo });
    const { worker, events } = workerFor(transportTo(target));
    const job = jobTo('full@example.test');

    for (const [attempt, [shortest, longest]] of [
      [1, [50, 100]],
      [2, [100, 200]],
    ] as const) {
      const before = Date.now();
      const failure = await worker.deliver(firstTry(job, attempt, 3)).catch((e: unknown) => e);
      const after = Date.now();

      expect(failure).toBeInstanceOf(DeliveryFailure);
      const { retryDelay, willRetry } = failure as DeliveryFailure;
      expect(willRetry).toBe(true);
      expect(retryDelay).toBeGreaterThanOrEqual(shortest);
      expect(retryDelay).toBeLessThanOrEqual(longest);
      expect((failure as DeliveryFailure).failure).toMatchObject({ kind: 'transient', responseCode: 452, enhancedCode: '4.2.2' });
      const retrying = events.seen[EmailEvent.Retrying][attempt - 1];
      expect(retrying).toMatchObject({ attempt, messageId: job.messageId, to: 'full@example.test', responseCode: 452, enhancedCode: '4.2.2' });
      expect(retrying.reason).toContain('4.2.2 Mailbox full');
      expect(retrying.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(before + retryDelay!);
      expect(retrying.nextAttemptAt.getTime()).toBeLessThanOrEqual(after + retryDelay!);
    }
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    expect(target.messages).toEqual([]);
  });

  it('on the last attempt, a transient failure fails for good: email.failed and no retry', async () => {
    const onRcptTo: RcptHandler = (_address, _session, callback) => callback(smtpReply(451, '4.3.0 Try again later'));
    const { worker, events } = workerFor(transportTo(await sink({ onRcptTo })));
    const job = jobTo('busy@example.test');

    const failure = await worker.deliver(firstTry(job, 3, 3)).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(DeliveryFailure);
    expect((failure as DeliveryFailure).willRetry).toBe(false);
    expect(events.seen[EmailEvent.Failed]).toEqual([expect.objectContaining({ messageId: job.messageId, attempt: 3, kind: 'transient', responseCode: 451, enhancedCode: '4.3.0' })]);
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
  });

  it('on a permanent failure, fails for good at once, whatever attempts are left', async () => {
    const onRcptTo: RcptHandler = (_address, _session, callback) => callback(smtpReply(550, '5.1.1 No such user'));
    const { worker, events } = workerFor(transportTo(await sink({ onRcptTo })));
    const job = jobTo('ghost@example.test');

    const failure = await worker.deliver(firstTry(job, 1, 5)).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(DeliveryFailure);
    expect((failure as DeliveryFailure).willRetry).toBe(false);
    expect((failure as DeliveryFailure).failure).toMatchObject({ kind: 'permanent', responseCode: 550, enhancedCode: '5.1.1' });
    const [failed] = events.seen[EmailEvent.Failed];
    expect(failed).toMatchObject({ messageId: job.messageId, attempt: 1, kind: 'permanent', responseCode: 550, enhancedCode: '5.1.1' });
    expect(failed.reason).toContain('5.1.1 No such user');
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
  });

  it('fails a job whose template cannot be rendered for good, before any SMTP traffic', async () => {
    let connections = 0;
    const target = await sink({
      onConnect: (_session, callback) => {
        connections++;
        callback();
      },
    });
    const { worker, events } = workerFor(transportTo(target));
    const job = jobTo('ada@example.test', { template: 'no-such-template' });

    const failure = await worker.deliver(firstTry(job)).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(DeliveryFailure);
    expect((failure as DeliveryFailure).willRetry).toBe(false);
    const [failed] = events.seen[EmailEvent.Failed];
    expect(failed).toMatchObject({ messageId: job.messageId, attempt: 1, kind: 'permanent' });
    expect(failed.reason).toContain('no-such-template');
    expect(connections).toBe(0);
  });

  it('on a configuration failure, closes the gate: deliveries wait, one email.delivery-paused, and all go once the login works', async () => {
    const target = await sink({ credentials: ROTATED });
    const { worker, events } = workerFor(transportTo(target, LOGIN));
    const jobs = [jobTo('a@example.test'), jobTo('b@example.test'), jobTo('c@example.test')];

    const deliveries = jobs.map((job) => watch(worker.deliver(firstTry(job))));
    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused);
    expect(paused).toMatchObject({ tenant: undefined, responseCode: 535 });
    expect(paused.reason).toMatch(/refused the login/);
    expect(worker.isPaused()).toBe(true);
    expect(worker.pausedTenants()).toEqual([]);
    // Held, not failed: two probes later still nothing settled and no attempt spent.
    const loginsAtPause = target.authAttempts.length;
    await until(() => target.authAttempts.length >= loginsAtPause + 2, 'two refused probes');
    expect(deliveries.map((delivery) => delivery.settled())).toEqual([false, false, false]);
    expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
    expect(errors()).toEqual([expect.stringMatching(/^Delivery paused: .*refused the login/)]);

    target.credentials = LOGIN;
    await until(() => deliveries.every((delivery) => delivery.settled()), 'the held deliveries to go out');
    for (const delivery of deliveries) await expect(delivery.outcome).resolves.toMatchObject({ rejected: [] });
    expect(events.seen[EmailEvent.Sent].map((sent) => [sent.messageId, sent.attempt]).sort()).toEqual(jobs.map((job) => [job.messageId, 1]).sort());
    expect(events.seen[EmailEvent.DeliveryResumed]).toHaveLength(1);
    expect(worker.isPaused()).toBe(false);
    expect(new Set(target.messages.map((mail) => mail.messageId))).toEqual(new Set(jobs.map((job) => job.messageId)));
  });

  it("pauses only the tenant whose login is refused; the default transport keeps sending", async () => {
    const defaultTarget = await sink();
    const tenantTarget = await sink({ credentials: ROTATED });
    const { worker, events } = workerFor(transportTo(defaultTarget), { acme: transportTo(tenantTarget, LOGIN) });

    const held = watch(worker.deliver(firstTry(jobTo('a@acme.test', { tenant: 'acme' }))));
    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused);
    expect(paused.tenant).toBe('acme');
    expect(worker.pausedTenants()).toEqual(['acme']);
    expect(worker.isPaused()).toBe(false);

    const plain = jobTo('plain@example.test');
    await worker.deliver(firstTry(plain));
    await defaultTarget.mailWithId(plain.messageId);
    expect(held.settled()).toBe(false);
    expect(errors()).toEqual([expect.stringMatching(/^Delivery for tenant "acme" paused: /)]);
  });

  it('releaseHeld lets held deliveries go as transient failures to retry at once, and reopens every gate', async () => {
    const defaultTarget = await sink({ credentials: ROTATED });
    const tenantTarget = await sink({ credentials: ROTATED });
    const { worker, events } = workerFor(transportTo(defaultTarget, LOGIN), { acme: transportTo(tenantTarget, LOGIN) });

    const held = [watch(worker.deliver(firstTry(jobTo('a@example.test')))), watch(worker.deliver(firstTry(jobTo('b@acme.test', { tenant: 'acme' }))))];
    await events.waitFor(EmailEvent.DeliveryPaused, 2);
    expect(worker.isPaused()).toBe(true);
    expect(worker.pausedTenants()).toEqual(['acme']);

    worker.releaseHeld();
    for (const delivery of held) {
      const failure = await delivery.outcome;
      expect(failure).toBeInstanceOf(DeliveryFailure);
      expect((failure as DeliveryFailure).failure.kind).toBe('transient');
      expect((failure as DeliveryFailure).retryDelay).toBe(0);
    }
    expect(worker.isPaused()).toBe(false);
    expect(worker.pausedTenants()).toEqual([]);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    expect(events.seen[EmailEvent.DeliveryResumed]).toEqual([]);
  });

  it('on an unreachable server, closes the gate like a refused login: held, no attempt spent, sent on the same attempt once it is up', async () => {
    const port = await freePort();
    const { worker, events } = workerFor({ host: '127.0.0.1', port, security: 'none', pool: false });
    const jobs = [jobTo('a@example.test'), jobTo('b@example.test')];

    const deliveries = jobs.map((job) => watch(worker.deliver(firstTry(job, 1, 1))));
    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused);
    expect(paused).toMatchObject({ tenant: undefined, responseCode: undefined });
    expect(paused.reason).toMatch(/^The SMTP server is unreachable: it refused the connection \(ECONNREFUSED/);
    expect(paused.reason).not.toMatch(/password|transport\.auth/);
    expect(worker.isPaused()).toBe(true);
    expect(errors()).toEqual([expect.stringMatching(/^Delivery paused: The SMTP server is unreachable: .*re-checked every 100 ms\.$/)]);

    // Started where the refused connections went: the next probe finds it, and the held tries go on.
    const target = await sink({ port });
    await until(() => deliveries.every((delivery) => delivery.settled()), 'the held deliveries to go out');
    for (const delivery of deliveries) await expect(delivery.outcome).resolves.toMatchObject({ rejected: [] });
    // attempt 1 of 1: an outage spends nothing, or the last attempt would have failed for good.
    expect(events.seen[EmailEvent.Sent].map((sent) => sent.attempt)).toEqual([1, 1]);
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
    expect(events.seen[EmailEvent.DeliveryResumed]).toHaveLength(1);
    expect(target.messages).toHaveLength(2);
  });

  it('gives up an email older than maxAge: at once before any SMTP traffic, or while held once it gets that old', async () => {
    let connections = 0;
    const target = await sink({
      credentials: ROTATED,
      onConnect: (_session, callback) => {
        connections++;
        callback();
      },
    });
    const MAX_AGE = 400;
    const { worker, events } = workerFor(transportTo(target, LOGIN), {}, MAX_AGE);

    const stale = jobTo('stale@example.test');
    const failure = await worker.deliver(firstTry(stale, 2, 5, Date.now() - MAX_AGE)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DeliveryFailure);
    expect((failure as DeliveryFailure).willRetry).toBe(false);
    expect(events.seen[EmailEvent.Failed]).toEqual([
      expect.objectContaining({ messageId: stale.messageId, attempt: 2, kind: 'expired', reason: 'Given up: not delivered within queue.maxAge (400 ms) of being queued.' }),
    ]);
    expect(connections).toBe(0);

    const queuedAt = Date.now();
    const held = watch(worker.deliver(firstTry(jobTo('held@example.test'), 1, 5, queuedAt)));
    await events.waitFor(EmailEvent.DeliveryPaused);
    await events.waitFor(EmailEvent.Failed, 2);
    const expired = await held.outcome;
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(MAX_AGE);
    expect(expired).toBeInstanceOf(DeliveryFailure);
    expect((expired as DeliveryFailure).failure).toMatchObject({ kind: 'expired' });
    expect(events.seen[EmailEvent.Failed][1]).toMatchObject({ to: 'held@example.test', attempt: 1, kind: 'expired' });
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
    expect(target.messages).toEqual([]);
  });

  it('after releaseHeld, a try that meets a refused login is handed back, not held: no new pause, no probe', async () => {
    const target = await sink({ credentials: ROTATED });
    const { worker, events } = workerFor(transportTo(target, LOGIN));
    worker.releaseHeld();

    const failure = await worker.deliver(firstTry(jobTo('late@example.test'))).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(DeliveryHandedBack);
    expect((failure as DeliveryFailure).retryDelay).toBe(0);
    expect(worker.isPaused()).toBe(false);
    expect(events.seen[EmailEvent.DeliveryPaused]).toEqual([]);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    const logins = target.authAttempts.length;
    // Proves an absence: no gate was closed, so no probe logs in within three probe intervals.
    await sleep(3 * PROBE_INTERVAL);
    expect(target.authAttempts).toHaveLength(logins);
  });

  it('reportUndeliverable fails a job for good with the reason given', async () => {
    const { worker, events } = workerFor(transportTo(await sink()));
    const identity = { id: 'job-x', messageId: '<x@acme.test>', template: 'test-email', to: 'ada@example.test' };

    expect(() => worker.reportUndeliverable(identity, 1, 'The queued email cannot be decrypted')).toThrow(DeliveryFailure);
    expect(events.seen[EmailEvent.Failed]).toEqual([{ ...identity, attempt: 1, kind: 'permanent', reason: 'The queued email cannot be decrypted' }]);
  });
});
