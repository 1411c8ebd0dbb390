import { INestApplication } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { EmailEvent, EmailEventSubscriptions, EmailWorkflowModuleOptions, EmailWorkflowService } from 'nestjs-email-workflow';
import { EmailQueueHealthIndicator } from 'nestjs-email-workflow/health';
import { HealthAppModule } from '../fixtures/health-app/health-app.module';
import { SilentLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { SmtpSink } from '../support/smtp-sink';
import { EventLog } from '../support/workflow';

type RcptHandler = (address: SMTPServerAddress, session: SMTPServerSession, callback: (error?: Error | null) => void) => void;

interface HealthResponse {
  status: number;
  body: HealthCheckResult;
  text: string;
}

describe('GET /health with Terminus and the email indicators', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Starts the fixture app on a free port, as `main.ts` would. */
  async function startApp(options: EmailWorkflowModuleOptions) {
    const moduleRef = await Test.createTestingModule({ imports: [HealthAppModule.withOptions(options)] })
      .setLogger(new SilentLogger())
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    cleanups.push(() => app.close());
    const url = await app.getUrl();
    const getHealth = async (): Promise<HealthResponse> => {
      const response = await fetch(`${url}/health`);
      const text = await response.text();
      return { status: response.status, body: JSON.parse(text) as HealthCheckResult, text };
    };
    return { emails: app.get(EmailWorkflowService), events, getHealth };
  }

  it('200 with smtp up while the server runs; 503 with smtp down, its failure code and hint once it stops', async () => {
    const onRcptTo: RcptHandler = (address, _session, callback) =>
      address.address === 'bounce@example.test' ? callback(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 })) : callback();
    const sink = await SmtpSink.start({ onRcptTo });
    let sinkOpen = true;
    cleanups.push(async () => {
      if (sinkOpen) await sink.close();
    });
    const { emails, events, getHealth } = await startApp(localOptions(sink.port, { queue: false }));
    const transport = `smtp://127.0.0.1:${sink.port} (no TLS)`;

    const up = await getHealth();
    expect(up.status).toBe(200);
    expect(up.body.status).toBe('ok');
    expect(up.body.error).toEqual({});
    expect(up.body.info?.smtp).toEqual({ status: 'up', transport, steps: '✓ dns, ✓ connect, ✓ greeting, ✓ tls, ✓ mail-from' });
    expect(up.body.info?.['email-queue']).toEqual({ status: 'up', depth: 0, active: 0, failed: 0, paused: false, pausedTenants: [], durable: false });
    expect(up.body.details).toEqual(up.body.info);
    expect(sink.messages).toHaveLength(0);

    // A permanent failure is counted; the queue stays up.
    await emails.send({ template: 'test-email', to: 'bounce@example.test' });
    await events.waitFor(EmailEvent.Failed, 1);
    const afterBounce = await getHealth();
    expect(afterBounce.status).toBe(200);
    expect(afterBounce.body.info?.['email-queue']).toMatchObject({ status: 'up', depth: 0, failed: 1, paused: false });

    // The server goes away: the transport indicator is down, with what failed and what to do.
    await sink.close();
    sinkOpen = false;
    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    await events.waitFor(EmailEvent.DeliveryPaused, 1);

    const down = await getHealth();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('error');
    expect(down.body.error?.smtp).toEqual({
      status: 'down',
      transport,
      steps: '✓ dns, ✗ connect',
      failure: 'CONNECTION_REFUSED',
      message: `The connection to 127.0.0.1:${sink.port} failed (ECONNREFUSED)`,
      hint: expect.stringContaining(`Nothing listens on port ${sink.port}`),
    });
    // An outage pauses delivery (issue 11): the email is held, not retried, and the queue indicator is down too.
    expect(down.body.error?.['email-queue']).toEqual({
      status: 'down',
      depth: 0,
      active: 1,
      failed: 1,
      paused: true,
      pausedTenants: [],
      durable: false,
      message: 'delivery is paused until the SMTP server works again (see email.delivery-paused)',
    });
    expect(down.body.details).toEqual({ ...down.body.error, ...down.body.info });
  });

  it('the queue indicator is down while delivery is paused on a refused login, and up again once it works', async () => {
    const password = 'Wr0ng-Pa55-9f1c';
    const sink = await SmtpSink.start({ credentials: { user: 'ada', pass: 'rotated-password' } });
    cleanups.push(() => sink.close());
    const { emails, events, getHealth } = await startApp(
      localOptions(sink.port, {
        transport: { host: '127.0.0.1', port: sink.port, security: 'none', pool: false, auth: { user: 'ada', pass: password } },
        queue: { redis: false, probeInterval: 200 },
      }),
    );

    const { messageId } = await emails.send({ template: 'test-email', to: 'grace@example.test' });
    await events.waitFor(EmailEvent.DeliveryPaused, 1);

    const paused = await getHealth();
    expect(paused.status).toBe(503);
    expect(paused.body.error?.smtp).toMatchObject({
      status: 'down',
      transport: `smtp://ada:***@127.0.0.1:${sink.port} (no TLS)`,
      failure: 'AUTH_FAILED',
      message: 'The server refused the login',
      hint: expect.stringContaining('transport.auth'),
    });
    expect(paused.body.error?.['email-queue']).toEqual({
      status: 'down',
      depth: 0,
      active: 1,
      failed: 0,
      paused: true,
      pausedTenants: [],
      durable: false,
      message: 'delivery is paused until the SMTP server works again (see email.delivery-paused)',
    });
    expect(paused.text).not.toContain(password);

    sink.credentials = { user: 'ada', pass: password };
    await events.waitFor(EmailEvent.DeliveryResumed, 1);
    const [mail] = await sink.waitForMessages(1);
    expect(mail.messageId).toBe(messageId);

    const resumed = await getHealth();
    expect(resumed.status).toBe(200);
    expect(resumed.body.info?.smtp).toMatchObject({ status: 'up', steps: '✓ dns, ✓ connect, ✓ greeting, ✓ tls, ✓ auth, ✓ mail-from' });
    expect(resumed.body.info?.['email-queue']).toEqual({ status: 'up', depth: 0, active: 0, failed: 0, paused: false, pausedTenants: [], durable: false });
  });

  it('the queue indicator is down when more emails wait than maxDepth', async () => {
    // Every recipient is deferred with a 451: every email waits for a retry (5 s away).
    const onRcptTo: RcptHandler = (_address, _session, callback) => callback(Object.assign(new Error('4.3.0 Try again later'), { responseCode: 451 }));
    const sink = await SmtpSink.start({ onRcptTo });
    cleanups.push(() => sink.close());
    const port = sink.port;
    const moduleRef = await Test.createTestingModule({ imports: [HealthAppModule.withOptions(localOptions(port, { queue: false }))] })
      .setLogger(new SilentLogger())
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    const emails = moduleRef.get(EmailWorkflowService);
    const indicator = moduleRef.get(EmailQueueHealthIndicator);

    await Promise.all([1, 2, 3].map((i) => emails.send({ template: 'test-email', to: `user${i}@example.test` })));
    await events.waitFor(EmailEvent.Retrying, 3);
    expect(await indicator.isHealthy('email-queue', { maxDepth: 5 })).toEqual({
      'email-queue': { status: 'up', depth: 3, active: 0, failed: 0, paused: false, pausedTenants: [], durable: false },
    });
    expect(await indicator.isHealthy('email-queue', { maxDepth: 2 })).toEqual({
      'email-queue': { status: 'down', depth: 3, active: 0, failed: 0, paused: false, pausedTenants: [], durable: false, message: 'more than 2 emails wait' },
    });
  });
});
