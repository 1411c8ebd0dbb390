/**
 * OpenTelemetry metrics read back through the SDK (a real MeterProvider and MetricReader) after real
 * deliveries to an SMTP sink: sends, a permanent failure, retries, and a pause, on both queues.
 */
import { Test } from '@nestjs/testing';
import { metrics as openTelemetryMetrics } from '@opentelemetry/api';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import {
  EmailBounceProcessor,
  EmailDeliveryLog,
  EmailEvent,
  EmailEventSubscriptions,
  EmailQueueOptions,
  EmailSuppressions,
  EmailTransportOption,
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
  InvalidOptionsError,
  MeterProviderLike,
} from 'nestjs-email-workflow';
import { CapturingLogger, SilentLogger } from '../support/capturing-logger';
import { RecordedMetrics } from '../support/metric-reader';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { deleteKeys, uniquePrefix } from '../support/redis';
import { SmtpSink, SmtpSinkOptions, smtpReply } from '../support/smtp-sink';
import { until, untilQueueIdle } from '../support/wait';
import { arf, dsn } from '../support/bounce-reports';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { BootedWorkflow, bootOn, EventLog, FAST_RETRIES } from '../support/workflow';

type RcptHandler = (address: SMTPServerAddress, session: SMTPServerSession, callback: (error?: Error | null) => void) => void;

type MeterLike = ReturnType<MeterProviderLike['getMeter']>;

const ROOT = join(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const QUEUED = 'email_workflow.emails.queued';
const SENT = 'email_workflow.emails.sent';
const FAILED = 'email_workflow.emails.failed';
const RETRIED = 'email_workflow.emails.retried';
const SUPPRESSED = 'email_workflow.emails.suppressed';
const PAUSED = 'email_workflow.transports.paused';
const DELIVERY = 'email_workflow.delivery.duration';
const SMTP_SEND = 'email_workflow.smtp.send.duration';

/** A module on the in-process queue, like `bootRedisWorkflow` on Redis. */
async function bootInProcessWorkflow(
  smtpPort: number,
  queue: Partial<EmailQueueOptions>,
  overrides: Partial<EmailWorkflowModuleOptions>,
): Promise<BootedWorkflow> {
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [EmailWorkflowModule.forRoot(localOptions(smtpPort, { queue: { redis: false, ...FAST_RETRIES, ...queue }, ...overrides }))],
  })
    .setLogger(logger)
    .compile();
  const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
  await moduleRef.init();
  return { moduleRef, emails: moduleRef.get(EmailWorkflowService), events, logger };
}

/** No attribute value may name a recipient: every address in these specs is on example.test. */
async function expectNoPersonalData(recorded: RecordedMetrics): Promise<void> {
  const values = await recorded.attributeValues();
  expect(values.length).toBeGreaterThan(0);
  expect(values.filter((value) => /@|example\.test|No such user|Mailbox full|password/i.test(value))).toEqual([]);
}

describe.each(['in-process', ...QUEUE_DRIVERS] as const)('delivery metrics on the %s queue', (queueKind) => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function sinkOn(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = await SmtpSink.start({ hideENHANCEDSTATUSCODES: true, ...options });
    cleanups.push(() => sink.close());
    return sink;
  }

  /** A started module recording to its own SDK MeterProvider; `close()` ends it early. */
  async function start(sink: SmtpSink, queue: Partial<EmailQueueOptions> = {}, overrides: Partial<EmailWorkflowModuleOptions> = {}) {
    const recorded = new RecordedMetrics();
    cleanups.push(() => recorded.shutdown());
    const options = { metrics: { meterProvider: recorded.provider }, ...overrides };
    const prefix = uniquePrefix();
    const workflow =
      queueKind === 'in-process' ? await bootInProcessWorkflow(sink.port, queue, options) : await bootOn(queueKind)(sink.port, prefix, queue, options);
    let closing: Promise<void> | undefined;
    const close = () => (closing ??= workflow.moduleRef.close());
    cleanups.push(async () => {
      await close();
      if (queueKind !== 'in-process') await deleteKeys(prefix);
    });
    return { ...workflow, recorded, close };
  }

  /** A resolver sending tenant `acme` through `port`, logging in as `auth` when given. */
  function acmeOn(port: number, auth?: { user: string; pass: string }): Partial<EmailWorkflowModuleOptions> {
    return {
      // On loopback, which tenant transports may reach only when allowed.
      tenantTransports: { allowPrivateNetworks: ['127.0.0.0/8'] },
      transportResolver: async (): Promise<EmailTransportOption> => ({ host: '127.0.0.1', port, security: 'none', pool: false, auth }),
    };
  }

  it('counts queued and sent emails by template and tenant, and times queue-to-sent and the SMTP send, in seconds', async () => {
    const sink = await sinkOn();
    const { emails, events, recorded } = await start(sink, {}, acmeOn(sink.port));
    const before = Date.now();
    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    await emails.send({ template: 'test-email', to: 'bo@example.test' });
    await emails.send({ template: 'test-email', to: 'cy@example.test', tenant: 'acme' });
    await emails.send({ template: 'verify-email', to: 'di@example.test', context: { name: 'Di', link: 'http://localhost:3000/v?token=t0k3n', token: 't0k3n' } });
    await events.waitFor(EmailEvent.Sent, 4);
    await untilQueueIdle(emails);
    const elapsedSeconds = (Date.now() - before) / 1000;

    const byTemplateAndTenant = { 'template=test-email': 2, 'template=test-email,tenant=acme': 1, 'template=verify-email': 1 };
    expect(await recorded.sums(QUEUED)).toEqual(byTemplateAndTenant);
    expect(await recorded.sums(SENT)).toEqual(byTemplateAndTenant);
    expect(await recorded.sums(FAILED)).toEqual({});
    expect(await recorded.sums(RETRIED)).toEqual({});
    expect(await recorded.sums(PAUSED)).toEqual({});

    const delivery = await recorded.histograms(DELIVERY);
    const smtp = await recorded.histograms(SMTP_SEND);
    for (const histograms of [delivery, smtp]) {
      expect(Object.fromEntries(Object.entries(histograms).map(([key, { count }]) => [key, count]))).toEqual(byTemplateAndTenant);
    }
    for (const [key, { min, max }] of Object.entries(delivery)) {
      // Seconds, not milliseconds: a local delivery takes a fraction of the test's own time.
      expect(min).toBeGreaterThan(0);
      expect(max).toBeLessThanOrEqual(elapsedSeconds);
      // The SMTP transaction is part of the time since queueing.
      expect(smtp[key].max).toBeGreaterThan(0);
      expect(smtp[key].max).toBeLessThanOrEqual(max!);
    }
    expect(delivery['template=test-email'].boundaries).toEqual(expect.arrayContaining([0.05, 1, 60, 3600, 86_400]));
    expect(smtp['template=test-email'].boundaries).toEqual(expect.arrayContaining([0.005, 0.1, 1, 60]));

    const all = await recorded.all();
    expect(new Set(all.map(({ scope }) => `${scope.name}@${scope.version}`))).toEqual(new Set([`nestjs-email-workflow@${VERSION}`]));
    const units = Object.fromEntries(all.map(({ metric }) => [metric.descriptor.name, metric.descriptor.unit]));
    expect(units).toMatchObject({ [QUEUED]: '{email}', [SENT]: '{email}', [DELIVERY]: 's', [SMTP_SEND]: 's' });
    await expectNoPersonalData(recorded);
  });

  it('counts a permanent failure by kind, then the suppressed send to that address, with no address or reply text in any attribute', async () => {
    const onRcptTo: RcptHandler = (address, _session, callback) =>
      address.address === 'ghost@example.test' ? callback(smtpReply(550, '5.1.1 No such user')) : callback();
    const sink = await sinkOn({ onRcptTo });
    const { moduleRef, emails, events, recorded } = await start(sink, {}, acmeOn(sink.port));

    await emails.send({ template: 'test-email', to: 'ghost@example.test' });
    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    await events.waitFor(EmailEvent.Failed, 1);
    await events.waitFor(EmailEvent.Sent, 1);
    await untilQueueIdle(emails);

    expect(await recorded.sums(FAILED)).toEqual({ 'kind=permanent,template=test-email': 1 });
    expect(await recorded.sums(SENT)).toEqual({ 'template=test-email': 1 });
    expect(await recorded.sums(QUEUED)).toEqual({ 'template=test-email': 2 });
    expect(await recorded.sums(RETRIED)).toEqual({});
    expect(await recorded.sums(SUPPRESSED)).toEqual({});

    // The 5.1.1 put the address on the suppression list: sends to it are cancelled before the queue.
    const suppressions = moduleRef.get(EmailSuppressions);
    await until(() => suppressions.has('ghost@example.test'), 'the bounced address on the suppression list');
    expect((await emails.send({ template: 'test-email', to: 'ghost@example.test' })).cancelled).toEqual({ reason: 'suppressed' });
    expect((await emails.send({ template: 'test-email', to: 'ghost@example.test', tenant: 'acme' })).cancelled).toEqual({ reason: 'suppressed' });
    await events.waitFor(EmailEvent.Suppressed, 2);

    expect(await recorded.sums(SUPPRESSED)).toEqual({ 'template=test-email': 1, 'template=test-email,tenant=acme': 1 });
    expect(await recorded.sums(QUEUED)).toEqual({ 'template=test-email': 2 });
    // Only what was sent is timed.
    expect((await recorded.histograms(DELIVERY))['template=test-email'].count).toBe(1);
    await expectNoPersonalData(recorded);
  });

  it('counts bounces (by whether they suppressed), delays, complaints and ignored reports, with no address in any attribute', async () => {
    const sink = await sinkOn();
    const { emails, moduleRef, recorded, events } = await start(sink);
    const reports = moduleRef.get(EmailBounceProcessor);
    const ids: string[] = [];
    for (const to of ['hard@example.test', 'slow@example.test', 'annoyed@example.test']) ids.push((await emails.send({ template: 'test-email', to })).messageId);
    await events.waitFor(EmailEvent.Sent, 3);
    const log = moduleRef.get(EmailDeliveryLog);
    await until(async () => (await Promise.all(ids.map((id) => log.get(id)))).every((record) => record?.status === 'sent'), 'three emails sent in the log');
    await reports.process(dsn({ recipient: 'hard@example.test', messageId: ids[0] }));
    await reports.process(dsn({ recipient: 'slow@example.test', messageId: ids[1], action: 'delayed', status: '4.4.7', diagnostic: '421 4.4.7 Mailbox full' }));
    await reports.process(arf({ recipient: 'annoyed@example.test', messageId: ids[2] }));
    await reports.process(dsn({ recipient: 'nobody@example.test', messageId: '<made-up@acme.test>' }));
    await reports.process(dsn({ recipient: 'hard@example.test', messageId: ids[0] }));

    expect(await recorded.sums('email_workflow.emails.bounced')).toEqual({ 'suppressed=true,template=test-email': 1 });
    expect(await recorded.sums('email_workflow.emails.delayed')).toEqual({ 'template=test-email': 1 });
    expect(await recorded.sums('email_workflow.emails.complained')).toEqual({ 'template=test-email': 1 });
    expect(await recorded.sums('email_workflow.reports.ignored')).toEqual({ 'reason=unknown-message,type=bounce': 1, 'reason=duplicate,type=bounce': 1 });
    await expectNoPersonalData(recorded);
  });

  it('counts every retry, the email that got through after them, and the one whose retries ran out', async () => {
    let flakyRefusals = 0;
    const onRcptTo: RcptHandler = (address, _session, callback) => {
      if (address.address === 'full@example.test') return callback(smtpReply(452, '4.2.2 Mailbox full'));
      if (address.address === 'flaky@example.test' && flakyRefusals++ < 2) return callback(smtpReply(452, '4.2.2 Mailbox full'));
      callback();
    };
    const sink = await sinkOn({ onRcptTo });
    const { emails, events, recorded } = await start(sink, { attempts: 3 });

    await emails.send({ template: 'test-email', to: 'flaky@example.test' });
    await emails.send({ template: 'test-email', to: 'full@example.test' });
    await events.waitFor(EmailEvent.Sent, 1);
    await events.waitFor(EmailEvent.Failed, 1);
    await untilQueueIdle(emails);

    expect(events.seen[EmailEvent.Retrying]).toHaveLength(4);
    expect(await recorded.sums(RETRIED)).toEqual({ 'template=test-email': 4 });
    expect(await recorded.sums(SENT)).toEqual({ 'template=test-email': 1 });
    expect(await recorded.sums(FAILED)).toEqual({ 'kind=transient,template=test-email': 1 });
    // Queue-to-sent spans both waits before the third try: at least 25 + 50 ms with the backoff's jitter.
    const [{ count, min }] = Object.values(await recorded.histograms(DELIVERY));
    expect(count).toBe(1);
    expect(min).toBeGreaterThanOrEqual(0.075);
    // The SMTP time is the successful try's only.
    expect((await recorded.histograms(SMTP_SEND))['template=test-email'].max).toBeLessThan(min!);
    await expectNoPersonalData(recorded);
  });

  it('counts a paused transport (535 for a tenant) up while paused and down once it resumes; the default transport is not paused', async () => {
    const sink = await sinkOn();
    const tenantSink = await sinkOn({ credentials: { user: 'acme', pass: 'rotated-password' } });
    const { emails, events, recorded } = await start(sink, { probeInterval: 200 }, acmeOn(tenantSink.port, { user: 'acme', pass: 'current-password' }));

    await emails.send({ template: 'test-email', to: 'a1@example.test', tenant: 'acme' });
    await emails.send({ template: 'test-email', to: 'a2@example.test', tenant: 'acme' });
    await emails.send({ template: 'test-email', to: 'plain@example.test' });
    await events.waitFor(EmailEvent.DeliveryPaused, 1);
    await events.waitFor(EmailEvent.Sent, 1);

    expect(await recorded.sums(PAUSED)).toEqual({ 'tenant=acme': 1 });
    expect(await recorded.sums(SENT)).toEqual({ 'template=test-email': 1 });
    expect(await recorded.sums(FAILED)).toEqual({});

    tenantSink.credentials = { user: 'acme', pass: 'current-password' };
    const [resumed] = await events.waitFor(EmailEvent.DeliveryResumed, 1);
    await tenantSink.waitForMessages(2);
    await untilQueueIdle(emails);

    expect(await recorded.sums(PAUSED)).toEqual({ 'tenant=acme': 0 });
    expect(await recorded.sums(SENT)).toEqual({ 'template=test-email': 1, 'template=test-email,tenant=acme': 2 });
    expect(await recorded.sums(RETRIED)).toEqual({});
    // The held emails were queued before the pause and sent after it.
    expect((await recorded.histograms(DELIVERY))['template=test-email,tenant=acme'].max).toBeGreaterThanOrEqual(resumed.pausedForMs / 1000);
    await expectNoPersonalData(recorded);
  });

  it('takes a pause back at shutdown, when the held emails are handed back without a resume', async () => {
    const sink = await sinkOn({ credentials: { user: 'ada', pass: 'rotated-password' } });
    const { emails, events, recorded, close } = await start(
      sink,
      { probeInterval: 60_000 },
      { transport: { host: '127.0.0.1', port: sink.port, security: 'none', pool: false, auth: { user: 'ada', pass: 'current-password' } } },
    );
    await emails.send({ template: 'test-email', to: 'held@example.test' });
    await events.waitFor(EmailEvent.DeliveryPaused, 1);
    expect(await recorded.sums(PAUSED)).toEqual({ '': 1 });

    await close();

    expect(events.seen[EmailEvent.DeliveryResumed]).toEqual([]);
    expect(await recorded.sums(PAUSED)).toEqual({ '': 0 });
    expect(await recorded.sums(SENT)).toEqual({});
  });
});

describe('metrics options and the optional @opentelemetry/api', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function sendOne(overrides: Partial<EmailWorkflowModuleOptions>): Promise<void> {
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const { moduleRef, emails, events } = await bootInProcessWorkflow(sink.port, {}, overrides);
    cleanups.push(() => moduleRef.close());
    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    await events.waitFor(EmailEvent.Sent, 1);
  }

  it('records to the global MeterProvider when no meterProvider is given', async () => {
    const recorded = new RecordedMetrics();
    cleanups.push(() => recorded.shutdown());
    expect(openTelemetryMetrics.setGlobalMeterProvider(recorded.provider)).toBe(true);
    cleanups.push(async () => openTelemetryMetrics.disable());

    await sendOne({});

    expect(await recorded.sums(QUEUED)).toEqual({ 'template=test-email': 1 });
    expect(await recorded.sums(SENT)).toEqual({ 'template=test-email': 1 });
  });

  it('records nothing with enabled: false, to the given provider or the global one', async () => {
    const given = new RecordedMetrics();
    const global = new RecordedMetrics();
    cleanups.push(() => given.shutdown(), () => global.shutdown());
    openTelemetryMetrics.setGlobalMeterProvider(global.provider);
    cleanups.push(async () => openTelemetryMetrics.disable());

    await sendOne({ metrics: { enabled: false, meterProvider: given.provider } });
    await sendOne({ metrics: { enabled: false } });

    expect(await given.all()).toEqual([]);
    expect(await global.all()).toEqual([]);
  });

  it('refuses bad metrics options at boot, naming each field and the fix', async () => {
    const error = await invalidOptionsError(
      localOptions(2525, { metrics: { enabled: 'yes', meterProvider: { getMeters: () => undefined }, exporter: 'prometheus' } as never }),
    );
    expect(error.problems).toEqual([
      { path: 'metrics.exporter', problem: 'is not a known option', fix: 'remove it or check its spelling' },
      { path: 'metrics.enabled', problem: 'must be true or false', fix: expect.stringContaining('false to record no metrics') },
      { path: 'metrics.meterProvider', problem: 'has no method getMeter', fix: 'implement every method: getMeter' },
    ]);
    const notAnObject = await invalidOptionsError(localOptions(2525, { metrics: true as never }));
    expect(notAnObject.problems).toEqual([{ path: 'metrics', problem: 'must be an object', fix: expect.stringContaining('metrics: {') }]);
    expect(notAnObject).toBeInstanceOf(InvalidOptionsError);
  });

  it('without @opentelemetry/api: the module boots and sends, records to a given provider, and enabled: true names the package', async () => {
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const recorded = new RecordedMetrics();
    cleanups.push(() => recorded.shutdown());
    let enabledError: unknown;
    await jest.isolateModulesAsync(async () => {
      jest.doMock('@opentelemetry/api', () => {
        throw Object.assign(new Error("Cannot find module '@opentelemetry/api' from 'meter.loader.ts'"), { code: 'MODULE_NOT_FOUND' });
      });
      const library = require('nestjs-email-workflow') as typeof import('nestjs-email-workflow');
      const { Test: IsolatedTest } = require('@nestjs/testing') as typeof import('@nestjs/testing');
      const boot = (overrides: Partial<EmailWorkflowModuleOptions>) =>
        IsolatedTest.createTestingModule({ imports: [library.EmailWorkflowModule.forRoot(localOptions(sink.port, overrides))] })
          .setLogger(new SilentLogger())
          .compile();
      for (const overrides of [{}, { metrics: { meterProvider: recorded.provider } }]) {
        const moduleRef = await boot(overrides);
        await moduleRef.init();
        await moduleRef.get(library.EmailWorkflowService).send({ template: 'test-email', to: 'ada@example.test' });
        await moduleRef.close();
      }
      enabledError = await boot({ metrics: { enabled: true } }).catch((error: unknown) => error);
    });
    jest.dontMock('@opentelemetry/api');

    // Both modules sent (a closing module hands its queue over only once it is empty).
    await sink.waitForMessages(2);
    expect(await recorded.sums(SENT)).toEqual({ 'template=test-email': 1 });
    expect((enabledError as { code?: string }).code).toBe('EMAIL_WORKFLOW_DEPENDENCY_MISSING');
    expect((enabledError as Error).message).toBe(
      'metrics: { enabled: true } (OpenTelemetry metrics) needs the package "@opentelemetry/api", which is not installed. Fix: npm install @opentelemetry/api',
    );
  });

  it('does not load @opentelemetry/api when an app imports the library, only once the module is created', async () => {
    // dist/ is built from lib/ by the jest global setup. Creating the module opens no SMTP connection.
    const script = `
      require('reflect-metadata');
      const { NestFactory } = require('@nestjs/core');
      const loaded = () => Object.keys(require.cache).some((file) => /node_modules[\\\\/]@opentelemetry[\\\\/]api[\\\\/]/.test(file));
      const { EmailWorkflowModule } = require('./dist/index.js');
      const report = { onImport: loaded() };
      const module = EmailWorkflowModule.forRoot(JSON.parse(process.argv[1]));
      report.onForRoot = loaded();
      NestFactory.createApplicationContext(module, { logger: false }).then(async (app) => {
        report.onCreate = loaded();
        await app.close();
        console.log(JSON.stringify(report));
      });
    `;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script, JSON.stringify(localOptions(2525))], { cwd: ROOT }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    expect(JSON.parse(stdout)).toEqual({ onImport: false, onForRoot: false, onCreate: true });
  });
});

describe('metrics are best effort: a provider or instrument that throws costs no email', () => {
  type Fault = 'getMeter' | 'createCounter' | 'createUpDownCounter' | 'createHistogram' | 'add' | 'record';
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A MeterProvider that throws at `fault` (every time), and counts the measurements it was given, and those after it threw. */
  function faultyProvider(fault: Fault): MeterProviderLike & { measurements: number; measurementsAfterFault: number } {
    let threw = false;
    const fail = (): never => {
      threw = true;
      throw new Error(`${fault} failed: the exporter is misconfigured`);
    };
    const provider = {
      measurements: 0,
      measurementsAfterFault: 0,
      getMeter: (): MeterLike => (fault === 'getMeter' ? fail() : meter),
    };
    const measure = (method: Fault) => () => {
      provider.measurements++;
      if (threw) provider.measurementsAfterFault++;
      if (fault === method) fail();
    };
    const instrument = { add: measure('add'), record: measure('record') };
    const meter: MeterLike = {
      createCounter: () => (fault === 'createCounter' ? fail() : instrument),
      createUpDownCounter: () => (fault === 'createUpDownCounter' ? fail() : instrument),
      createHistogram: () => (fault === 'createHistogram' ? fail() : instrument),
    };
    return provider;
  }

  /** Boots on the in-process queue, sends three emails to a real sink and waits for all three. */
  async function sendThree(overrides: Partial<EmailWorkflowModuleOptions>) {
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const workflow = await bootInProcessWorkflow(sink.port, {}, overrides);
    cleanups.push(() => workflow.moduleRef.close());
    for (const to of ['ada@example.test', 'bo@example.test', 'cy@example.test']) await workflow.emails.send({ template: 'test-email', to });
    await sink.waitForMessages(3);
    await workflow.events.waitFor(EmailEvent.Sent, 3);
    return { sink, ...workflow };
  }

  /** The metrics warnings logged: there must be exactly one, under the library's context, naming the cause. */
  function metricsWarnings(logger: CapturingLogger) {
    return logger.entries.filter((entry) => entry.level === 'warn' && /metric/i.test(entry.message));
  }

  it.each<Fault>(['getMeter', 'createCounter', 'createUpDownCounter', 'createHistogram'])(
    'a meterProvider whose %s throws: the module boots and sends, with one warning and no metrics',
    async (fault) => {
      const provider = faultyProvider(fault);
      const { logger } = await sendThree({ metrics: { meterProvider: provider } });

      expect(metricsWarnings(logger)).toEqual([
        { level: 'warn', message: expect.stringContaining(`${fault} failed: the exporter is misconfigured`), params: ['EmailWorkflow'] },
      ]);
      expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
      expect(provider.measurements).toBe(0);
    },
  );

  it.each<Fault>(['add', 'record'])('an instrument whose %s throws when recording: one warning, then no more measurements; every email sent', async (fault) => {
    const provider = faultyProvider(fault);
    const { logger, emails, sink } = await sendThree({ metrics: { meterProvider: provider } });
    await emails.send({ template: 'test-email', to: 'di@example.test' });
    await sink.waitForMessages(4);

    expect(metricsWarnings(logger)).toEqual([
      { level: 'warn', message: expect.stringContaining(`${fault} failed: the exporter is misconfigured`), params: ['EmailWorkflow'] },
    ]);
    // No listener failure reported: the throw stayed inside metrics.
    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    // The first `add` (email queued) or the first `record` (email sent) threw; nothing was measured after it.
    expect(provider.measurements).toBeGreaterThan(0);
    expect(provider.measurementsAfterFault).toBe(0);
  });

  it('the global MeterProvider whose getMeter throws: the module boots and sends, with one warning', async () => {
    const provider = faultyProvider('getMeter');
    expect(openTelemetryMetrics.setGlobalMeterProvider(provider as never)).toBe(true);
    cleanups.push(async () => openTelemetryMetrics.disable());

    const { logger } = await sendThree({});

    expect(metricsWarnings(logger)).toEqual([
      { level: 'warn', message: expect.stringContaining('getMeter failed: the exporter is misconfigured'), params: ['EmailWorkflow'] },
    ]);
    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
