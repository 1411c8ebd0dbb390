import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { diagnoseSmtp } from '../../lib/diagnostics';
import type { SmtpFailure } from '../../lib/errors';
import { EmailEvent, EmailEventBus } from '../../lib/events';
import type { DeliveryPausedEvent, DeliveryResumedEvent } from '../../lib/events';
import { DeliveryGate, GateAbandonedError } from '../../lib/delivery/delivery.gate';
import { describeTransport, toNodemailerOptions } from '../../lib/transport/smtp-transport.resolver';
import { CapturingLogger } from '../support/capturing-logger';
import { SmtpSink } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';

const PROBE_INTERVAL = 100;
const LOGIN = { user: 'mailer', pass: 'current-password' };
const REFUSED_LOGIN: SmtpFailure = { kind: 'configuration', responseCode: 535, enhancedCode: '5.7.8', reason: 'The SMTP server refused the login' };

/** Tracks whether a `pass()` has settled, without awaiting it. */
function watch(passing: Promise<void>): { settled: () => boolean; outcome: Promise<unknown> } {
  let settled = false;
  const outcome = passing.then(
    () => ((settled = true), 'passed'),
    (error: unknown) => ((settled = true), error),
  );
  return { settled: () => settled, outcome };
}

describe('DeliveryGate', () => {
  let logger: CapturingLogger;
  let sink: SmtpSink;
  let events: EmailEventBus;
  let paused: DeliveryPausedEvent[];
  let resumed: DeliveryResumedEvent[];
  let probes: number;
  let reopenedCalls: number;
  const gates: DeliveryGate[] = [];

  /** A gate whose probe is the worker's: a real SMTP conversation through MAIL FROM with LOGIN. */
  function gateFor(tenant?: string): DeliveryGate {
    const transport = { host: '127.0.0.1', port: sink.port, security: 'none' as const, pool: false, auth: LOGIN };
    const options = toNodemailerOptions(transport);
    const probe = async () => {
      probes++;
      return (await diagnoseSmtp(options, describeTransport(transport), { from: 'no-reply@acme.test' })).ok;
    };
    const gate = new DeliveryGate(probe, PROBE_INTERVAL, events, tenant, () => reopenedCalls++);
    gates.push(gate);
    return gate;
  }

  const errors = () => logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message);

  beforeAll(() => {
    logger = new CapturingLogger();
    Logger.overrideLogger(logger);
  });

  afterAll(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  beforeEach(async () => {
    logger.entries.length = 0;
    // The server's password was rotated: every login is refused until the test puts LOGIN back.
    sink = await SmtpSink.start({ credentials: { user: LOGIN.user, pass: 'rotated-password' } });
    events = new EmailEventBus();
    paused = [];
    resumed = [];
    events.on(EmailEvent.DeliveryPaused, (event) => void paused.push(event));
    events.on(EmailEvent.DeliveryResumed, (event) => void resumed.push(event));
    probes = 0;
    reopenedCalls = 0;
  });

  afterEach(async () => {
    gates.splice(0).forEach((gate) => gate.abandon());
    await sink.close();
  });

  it('while open, lets every delivery pass at once and probes nothing', async () => {
    const gate = gateFor();
    const passing = watch(gate.pass());
    await expect(passing.outcome).resolves.toBe('passed');
    // Proves an absence: an open gate schedules no probe, so none may come within three intervals.
    await sleep(3 * PROBE_INTERVAL);
    expect(probes).toBe(0);
    expect(paused).toEqual([]);
  });

  it('closes once: one delivery.paused event and one error line, however many failures close it', () => {
    const gate = gateFor('acme');
    gate.close(REFUSED_LOGIN);
    gate.close(REFUSED_LOGIN);
    gate.close({ ...REFUSED_LOGIN, reason: 'a second failure while closed' });

    expect(paused).toEqual([{ tenant: 'acme', reason: REFUSED_LOGIN.reason, responseCode: 535, enhancedCode: '5.7.8' }]);
    expect(errors()).toEqual([
      'Delivery for tenant "acme" paused: The SMTP server refused the login. Queued emails are kept; the server is re-checked every 100 ms.',
    ]);
  });

  it('while closed, holds every delivery and probes the server every probeInterval', async () => {
    const gate = gateFor();
    const closedAt = Date.now();
    gate.close(REFUSED_LOGIN);
    const held = [watch(gate.pass()), watch(gate.pass())];

    await until(() => sink.authAttempts.length >= 3, 'three refused probes');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(3 * PROBE_INTERVAL - 5);
    expect(held.map((passing) => passing.settled())).toEqual([false, false]);
    expect(paused).toHaveLength(1);
    expect(resumed).toEqual([]);
    expect(reopenedCalls).toBe(0);
    expect(errors()).toEqual([expect.stringMatching(/^Delivery paused: The SMTP server refused the login\./)]);
  });

  it('reopens on the first probe that succeeds: the held deliveries go, one delivery.resumed, and probing stops', async () => {
    const gate = gateFor();
    gate.close(REFUSED_LOGIN);
    const held = [watch(gate.pass()), watch(gate.pass())];
    await until(() => sink.authAttempts.length >= 1, 'a refused probe');

    sink.credentials = LOGIN;
    await until(() => held.every((passing) => passing.settled()), 'the held deliveries to pass');
    await expect(Promise.all(held.map((passing) => passing.outcome))).resolves.toEqual(['passed', 'passed']);
    expect(resumed).toHaveLength(1);
    expect(resumed[0].tenant).toBeUndefined();
    expect(resumed[0].pausedForMs).toBeGreaterThanOrEqual(PROBE_INTERVAL - 5);
    expect(reopenedCalls).toBe(1);
    expect(logger.entries.filter((entry) => entry.level === 'log').map((entry) => entry.message)).toEqual([expect.stringMatching(/^Delivery resumed after \d+ s\.$/)]);
    await expect(watch(gate.pass()).outcome).resolves.toBe('passed');

    const probesAtReopen = probes;
    // Proves an absence: an open gate probes no more, so none may come within three intervals.
    await sleep(3 * PROBE_INTERVAL);
    expect(probes).toBe(probesAtReopen);

    // It can close again, and reports that pause too.
    gate.close(REFUSED_LOGIN);
    expect(paused).toHaveLength(2);
  });

  it('counts a probe that throws as a failed one and keeps probing', async () => {
    let attempts = 0;
    const gate = new DeliveryGate(
      async () => {
        attempts++;
        if (attempts < 3) throw new Error('the tenant settings could not be read');
        return true;
      },
      PROBE_INTERVAL,
      events,
      undefined,
      () => reopenedCalls++,
    );
    gates.push(gate);
    gate.close(REFUSED_LOGIN);
    const passing = watch(gate.pass());

    await until(() => passing.settled(), 'the gate to reopen on the third probe');
    expect(attempts).toBe(3);
    await expect(passing.outcome).resolves.toBe('passed');
    expect(resumed).toHaveLength(1);
  });

  it('at shutdown, releases every held delivery with GateAbandonedError and stops probing', async () => {
    const gate = gateFor();
    gate.close(REFUSED_LOGIN);
    const held = [watch(gate.pass()), watch(gate.pass())];
    await until(() => sink.authAttempts.length >= 1, 'a refused probe');

    gate.abandon();
    for (const passing of held) {
      const error = await passing.outcome;
      expect(error).toBeInstanceOf(GateAbandonedError);
      expect((error as Error).message).toBe('Delivery was paused when the process shut down; the email stays queued');
    }
    const probesAtShutdown = probes;
    // Proves an absence: an abandoned gate probes no more, so none may come within three intervals.
    await sleep(3 * PROBE_INTERVAL);
    expect(probes).toBe(probesAtShutdown);
    expect(resumed).toEqual([]);
    expect(reopenedCalls).toBe(0);
    await expect(watch(gate.pass()).outcome).resolves.toBe('passed');
    expect(() => gate.abandon()).not.toThrow();
  });
});
