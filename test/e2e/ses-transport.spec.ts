import { generateKeyPairSync } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { simpleParser } from 'mailparser';
import {
  EmailDeliveryError,
  EmailDeliveryLog,
  EmailEvent,
  EmailEventSubscriptions,
  EmailWorkflowModule,
  EmailWorkflowService,
  type TransportDiagnosis,
} from 'nestjs-email-workflow';
import { diagnoseSesTransport, resolveSesTransport, SesTransport } from '../../lib/transport/ses';
import { CapturingLogger } from '../support/capturing-logger';
import { freePort } from '../support/free-port';
import { localOptions } from '../support/module-options';
import { SesV2StandIn, TEST_CREDENTIALS, TEST_REGION } from '../support/sesv2-server';
import { until, untilQueueIdle } from '../support/wait';
import { EventLog } from '../support/workflow';

const PROBE_INTERVAL = 200;
const SES_ID = /^[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$/;
/** AWS's SigV4 Authorization header, as the SDK must send it for SES in the test region. */
const SIGV4 = new RegExp(
  `^AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/\\d{8}/${TEST_REGION}/ses/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`,
);

interface Booted {
  emails: EmailWorkflowService;
  events: EventLog;
  log: EmailDeliveryLog;
  logger: CapturingLogger;
}

describe('SES API transport (against a SESv2 stand-in on loopback)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  let ses: SesV2StandIn;

  beforeEach(async () => {
    ses = await SesV2StandIn.start();
    cleanups.push(() => ses.close());
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function transport(overrides: Partial<ConstructorParameters<typeof SesTransport>[0]> = {}): SesTransport {
    const made = new SesTransport({ region: TEST_REGION, credentials: { ...TEST_CREDENTIALS }, endpoint: ses.endpoint, timeout: 5_000, ...overrides });
    cleanups.push(() => made.close());
    return made;
  }

  async function boot(sesTransport: SesTransport): Promise<Booted> {
    const logger = new CapturingLogger();
    const queue = { redis: false, probeInterval: PROBE_INTERVAL, backoff: { delay: 20, maxDelay: 100 } } as const;
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(0, { transport: { use: sesTransport }, queue }))] })
      .setLogger(logger)
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    return { emails: moduleRef.get(EmailWorkflowService), events, log: moduleRef.get(EmailDeliveryLog), logger };
  }

  /** Nothing the stand-in received, nor anything the module said, holds the secret key. */
  function expectNoSecret(...texts: string[]): void {
    for (const text of [...texts, ...ses.requests.map((request) => JSON.stringify(request.headers) + request.body)]) {
      expect(text).not.toContain(TEST_CREDENTIALS.secretAccessKey);
    }
  }

  it('sends the raw MIME nodemailer built, SigV4-signed, and records SES’s MessageId as the queue id', async () => {
    const workflow = await boot(transport());
    const { messageId } = await workflow.emails.send({ template: 'test-email', to: { address: 'ada@example.test', name: 'Ada' } });
    const [sent] = await workflow.events.waitFor(EmailEvent.Sent, 1, 10_000);

    expect(ses.sent).toHaveLength(1);
    const [{ raw, messageId: sesId, request }] = ses.sent;
    const mail = await simpleParser(raw);
    expect(mail.from?.value).toEqual([{ name: 'Acme', address: 'no-reply@acme.test' }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((to) => to.address) : []).toEqual(['ada@example.test']);
    expect(mail.subject).toBe('Test email from Acme');
    expect(mail.messageId).toBe(messageId);
    expect(mail.html).toEqual(expect.stringContaining('Acme'));
    expect(mail.text).toEqual(expect.stringContaining('Acme'));
    expect(request).toMatchObject({ Destination: { ToAddresses: ['ada@example.test'] }, FromEmailAddress: expect.stringContaining('<no-reply@acme.test>') });

    const [call] = ses.calls('send');
    expect(call.method).toBe('POST');
    expect(call.headers.authorization).toMatch(SIGV4);
    expect(call.signatureValid).toBe(true);
    expectNoSecret(JSON.stringify(sent), workflow.logger.text());

    expect(sesId).toMatch(SES_ID);
    expect(sent).toMatchObject({ messageId, attempt: 1, response: `250 Ok ${sesId}`, accepted: ['ada@example.test'], transport: `ses (${TEST_REGION}, ${ses.endpoint})` });
    await until(async () => (await workflow.log.get(messageId as string))?.status === 'sent', 'the email sent in the log');
    const step = (await workflow.log.get(messageId as string))!.steps.find((entry) => entry.event === 'sent');
    expect(step).toMatchObject({ queueId: sesId, reply: `250 Ok ${sesId}` });
    // A SES notification names the email only by SES's id: the log finds it.
    expect(await workflow.log.refOfQueueId(sesId)).toBeDefined();
  });

  it('transport: { ses } in the module options sends through SES, and diagnoseTransport asks GetAccount instead of the SMTP steps', async () => {
    const queue = { redis: false, probeInterval: PROBE_INTERVAL, backoff: { delay: 20, maxDelay: 100 } } as const;
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(0, { transport: { ses: { region: TEST_REGION, credentials: { ...TEST_CREDENTIALS }, endpoint: ses.endpoint } }, queue }))],
    })
      .setLogger(new CapturingLogger())
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    const emails = moduleRef.get(EmailWorkflowService);
    const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [sent] = await events.waitFor(EmailEvent.Sent, 1, 10_000);
    expect(sent).toMatchObject({ messageId, response: expect.stringMatching(/^250 Ok /), transport: `ses (${TEST_REGION}, ${ses.endpoint})` });
    expect(ses.sent.map((entry) => entry.messageId)).toEqual([sent.response!.slice('250 Ok '.length)]);
    const diagnosis = await emails.diagnoseTransport();
    expect(diagnosis.ok).toBe(true);
    expect(diagnosis.steps.map((step) => step.step)).toEqual(['verify']);
    expect(ses.calls('account').length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(diagnosis)).not.toContain(TEST_CREDENTIALS.secretAccessKey);
  });

  it.each([
    [429, 'TooManyRequestsException', 'Maximum sending rate exceeded.'],
    [400, 'ThrottlingException', 'Rate exceeded'],
    [503, 'ServiceUnavailable', 'Service unavailable, try again'],
  ])('retries after %s %s and sends the email once', async (status, type, message) => {
    ses.sendAnswers.push({ status, type, message });
    const workflow = await boot(transport());
    const { messageId } = await workflow.emails.send({ template: 'test-email', to: 'grace@example.test' });

    const [sent] = await workflow.events.waitFor(EmailEvent.Sent, 1, 10_000);
    await untilQueueIdle(workflow.emails);
    expect(sent).toMatchObject({ messageId, attempt: 2 });
    expect(workflow.events.seen[EmailEvent.Retrying]).toMatchObject([{ messageId, attempt: 1, reason: expect.stringContaining(type) }]);
    expect(workflow.events.seen[EmailEvent.Failed]).toEqual([]);
    expect(workflow.events.seen[EmailEvent.DeliveryPaused]).toEqual([]);
    expect(ses.calls('send')).toHaveLength(2);
    expect(ses.sent).toHaveLength(1);
  });

  it('fails a MessageRejected (400) once, without a retry', async () => {
    ses.sendAnswers.push({ status: 400, type: 'MessageRejected', message: 'Email address is not verified. The following identities failed the check in region EU-WEST-1: grace@example.test' });
    const workflow = await boot(transport());
    const { messageId } = await workflow.emails.send({ template: 'test-email', to: 'grace@example.test' });

    const [failed] = await workflow.events.waitFor(EmailEvent.Failed, 1, 10_000);
    await untilQueueIdle(workflow.emails);
    expect(failed).toMatchObject({ messageId, kind: 'permanent', attempt: 1 });
    expect(failed.reason).toContain('MessageRejected');
    expect(workflow.events.seen[EmailEvent.Failed]).toHaveLength(1);
    expect(workflow.events.seen[EmailEvent.Retrying]).toEqual([]);
    expect(workflow.events.seen[EmailEvent.Sent]).toEqual([]);
    expect(ses.calls('send')).toHaveLength(1);
    expect(ses.sent).toEqual([]);
  });

  it('pauses delivery while SES refuses the key (403 UnrecognizedClientException) and resumes once GetAccount answers', async () => {
    ses.activeKeys.clear(); // the IAM key deactivated
    const workflow = await boot(transport());
    const { messageId } = await workflow.emails.send({ template: 'test-email', to: 'linus@example.test' });

    const [paused] = await workflow.events.waitFor(EmailEvent.DeliveryPaused, 1, 10_000);
    expect(paused.reason).toContain('UnrecognizedClientException');
    expect(paused.reason).not.toContain(TEST_CREDENTIALS.accessKeyId);
    // While paused the transport is probed with GetAccount, and nothing more is sent.
    await until(() => ses.calls('account').length >= 1, 'a GetAccount probe', PROBE_INTERVAL * 10);
    expect(ses.calls('account')[0].headers.authorization).toMatch(SIGV4);
    expect(ses.calls('send')).toHaveLength(1);
    expect(workflow.events.seen[EmailEvent.Failed]).toEqual([]);

    ses.activeKeys.add(TEST_CREDENTIALS.accessKeyId); // the key reactivated
    await workflow.events.waitFor(EmailEvent.DeliveryResumed, 1, PROBE_INTERVAL * 10);
    const [sent] = await workflow.events.waitFor(EmailEvent.Sent, 1, 10_000);
    await untilQueueIdle(workflow.emails);
    expect(sent.messageId).toBe(messageId);
    expect(ses.sent).toHaveLength(1);
    expect(workflow.events.seen[EmailEvent.Sent]).toHaveLength(1);
    expect(workflow.events.seen[EmailEvent.Failed]).toEqual([]);
    expectNoSecret(paused.reason, workflow.logger.text());
  });

  it('calls a wrong secret (SignatureDoesNotMatch) a configuration failure, without quoting the key', async () => {
    const wrong = transport({ credentials: { accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong/Secret+Value/ZYXWVUTSRQPONMLKJIH' } });
    const error = await wrong.deliver({ from: 'no-reply@acme.test', to: 'ada@example.test', subject: 'x', text: 'x', messageId: '<a@acme.test>' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EmailDeliveryError);
    expect(error).toMatchObject({ kind: 'configuration', message: expect.stringContaining('SignatureDoesNotMatch') });
    expect((error as Error).message).not.toMatch(/wrong\/Secret|AKIATEST/);
    expect((error as Error & { cause?: unknown }).cause).toBeUndefined();
    const check = await wrong.verify();
    expect(check).toMatchObject({ ok: false, reason: expect.stringContaining('SignatureDoesNotMatch') });
    expect(ses.sent).toEqual([]);
    expect(ses.requests.every((request) => !request.signatureValid)).toBe(true);
  });

  it('calls a closed port unavailable, and verify says SES was not reached', async () => {
    const closed = transport({ endpoint: `http://127.0.0.1:${await freePort()}` });
    const error = await closed.deliver({ from: 'no-reply@acme.test', to: 'ada@example.test', subject: 'x', text: 'x' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('ECONNREFUSED') });
    const diagnosis: TransportDiagnosis = await diagnoseSesTransport(closed);
    expect(diagnosis).toMatchObject({ ok: false, steps: [{ step: 'verify', ok: false }], failure: { code: 'CONNECTION_REFUSED' } });
  });

  it('calls no credentials at all (the SDK’s default chain finds none) a configuration failure', async () => {
    const saved = { ...process.env };
    cleanups.push(() => {
      process.env = saved;
    });
    for (const name of Object.keys(process.env).filter((key) => key.startsWith('AWS_'))) delete process.env[name];
    Object.assign(process.env, { AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials' });
    const anonymous = transport({ credentials: undefined });
    const error = await anonymous.deliver({ from: 'no-reply@acme.test', to: 'ada@example.test', subject: 'x', text: 'x' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'configuration', message: expect.stringContaining('no AWS credentials were found') });
    expect(await anonymous.verify()).toMatchObject({ ok: false, reason: expect.stringContaining('CredentialsProviderError') });
    expect(ses.requests).toEqual([]);
  });

  describe('verify() and the doctor’s GetAccount check', () => {
    it('answers ok for a production account, with its quota', async () => {
      ses.account.SendQuota = { Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 1_234 };
      const sesTransport = transport();
      expect(await sesTransport.verify()).toEqual({ ok: true });
      const diagnosis: TransportDiagnosis = await diagnoseSesTransport(sesTransport);
      expect(diagnosis).toMatchObject({ ok: true, transport: `ses (${TEST_REGION}, ${ses.endpoint})`, steps: [{ step: 'verify', ok: true }] });
      expect(diagnosis.steps[0].detail).toContain('production access');
      expect(diagnosis.steps[0].detail).toContain('1234 of 50000');
      expect(ses.calls('account')).toHaveLength(2);
      expect(ses.calls('account').every((request) => request.method === 'GET' && request.signatureValid)).toBe(true);
    });

    it('says when the account is in the sandbox (it can send, to verified addresses only)', async () => {
      ses.account.ProductionAccessEnabled = false;
      ses.account.SendQuota = { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 3 };
      const sesTransport = transport();
      expect(await sesTransport.verify()).toEqual({ ok: true });
      const account = await sesTransport.checkAccount();
      expect(account).toMatchObject({ ok: true, productionAccess: false, sendingEnabled: true });
      expect(account.notes.join(' ')).toMatch(/sandbox.*verified addresses/);
      expect((await diagnoseSesTransport(sesTransport)).steps[0].detail).toContain('sandbox');
    });

    it.each([
      ['sending is disabled', { SendingEnabled: false, EnforcementStatus: 'HEALTHY' }, /sending is disabled/],
      ['the account is shut down', { SendingEnabled: true, EnforcementStatus: 'SHUTDOWN' }, /SHUTDOWN/],
    ])('answers not ok when %s', async (_what, account, reason) => {
      Object.assign(ses.account, account);
      const sesTransport = transport();
      expect(await sesTransport.verify()).toEqual({ ok: false, reason: expect.stringMatching(reason) });
      expect(await diagnoseSesTransport(sesTransport)).toMatchObject({ ok: false, failure: { code: 'TRANSPORT_FAILED', message: expect.stringMatching(reason) } });
    });

    it('answers not ok with AUTH_FAILED for the doctor when the key is refused', async () => {
      ses.activeKeys.clear();
      const diagnosis = await diagnoseSesTransport(transport());
      expect(diagnosis).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', message: expect.stringContaining('UnrecognizedClientException') } });
      expect(JSON.stringify(diagnosis)).not.toContain(TEST_CREDENTIALS.secretAccessKey);
    });
  });

  it('signs with the module’s DKIM key as well when one is given, leaving Message-ID and Date out (SES rewrites them)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'der' } });
    const signing = transport({ dkim: { domainName: 'acme.test', keySelector: 'mail', privateKey } });
    await signing.deliver({ from: 'no-reply@acme.test', to: 'ada@example.test', subject: 'Signed', text: 'Hello', messageId: '<signed@acme.test>' });

    const record = `v=DKIM1; k=rsa; p=${publicKey.toString('base64')}`;
    const resolver = async (name: string, type: string) => {
      if (name === 'mail._domainkey.acme.test' && type === 'TXT') return [[record]];
      throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    };
    const { results } = await dkimVerify(ses.sent[0].raw, { resolver: resolver as never });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ signingDomain: 'acme.test', selector: 'mail', status: { result: 'pass' } });
    const signedHeaders = String((results[0] as { signingHeaders?: { keys?: string } }).signingHeaders?.keys ?? '').toLowerCase().split(': ');
    expect(signedHeaders).toEqual(expect.arrayContaining(['from', 'to', 'subject']));
    expect(signedHeaders).not.toContain('message-id');
    expect(signedHeaders).not.toContain('date');
  });

  describe('options (`transport: { ses }`)', () => {
    it('resolves to a factory whose transport names no key', () => {
      const resolved = resolveSesTransport({ ses: { region: TEST_REGION, credentials: TEST_CREDENTIALS, endpoint: ses.endpoint } }, 'transport');
      if (!resolved.ok) throw new Error(JSON.stringify(resolved.problems));
      const made = resolved.value.make();
      cleanups.push(() => made.close());
      expect(made).toBeInstanceOf(SesTransport);
      expect(resolved.value.description).toBe(`ses (${TEST_REGION}, ${ses.endpoint})`);
      expect(made.description).toBe(resolved.value.description);
    });

    it('lists every problem, naming its path and never quoting a secret', () => {
      const secret = 'leaked/secret+value/0123456789';
      const resolved = resolveSesTransport(
        { ses: { region: 'Ireland', credentials: { accessKeyId: secret, secretAccessKey: '' }, endpoint: 'https://user:pw@ses.example', colour: 'blue' } },
        'transport[1]',
      );
      expect(resolved.ok).toBe(false);
      const problems = resolved.ok ? [] : resolved.problems;
      expect(problems.map((problem) => problem.path).sort()).toEqual(
        ['transport[1].ses.colour', 'transport[1].ses.credentials.accessKeyId', 'transport[1].ses.credentials.secretAccessKey', 'transport[1].ses.endpoint', 'transport[1].ses.region'].sort(),
      );
      expect(JSON.stringify(problems)).not.toContain(secret);
      expect(JSON.stringify(problems)).not.toContain(':pw@');
    });

    it('throws DependencyMissingError naming @aws-sdk/client-sesv2 when it is not installed', () => {
      jest.isolateModules(() => {
        jest.doMock('@aws-sdk/client-sesv2', () => {
          throw Object.assign(new Error("Cannot find module '@aws-sdk/client-sesv2' from 'lib/transport/ses/ses.transport.ts'"), { code: 'MODULE_NOT_FOUND' });
        });
        const isolated = require('../../lib/transport/ses') as typeof import('../../lib/transport/ses');
        const errors = require('../../lib/errors') as typeof import('../../lib/errors');
        let caught: unknown;
        try {
          new isolated.SesTransport({ region: TEST_REGION });
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(errors.DependencyMissingError);
        expect(caught).toMatchObject({ missingPackage: '@aws-sdk/client-sesv2', message: expect.stringContaining('npm install @aws-sdk/client-sesv2') });
      });
      jest.dontMock('@aws-sdk/client-sesv2');
    });
  });
});
