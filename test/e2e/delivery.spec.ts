import { Test, TestingModule } from '@nestjs/testing';
import {
  EmailWorkflowModule,
  EmailWorkflowService,
  InvalidOptionsError,
  InvalidRecipientError,
  TemplateVariableMissingError,
} from 'nestjs-email-workflow';
import { localOptions } from '../support/module-options';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { untilQueueIdle } from '../support/wait';

describe('delivery of the built-in templates to a real SMTP server', () => {
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port))] }).compile();
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
  });

  afterAll(async () => {
    await moduleRef.close();
    await sink.close();
  });

  beforeEach(() => {
    sink.messages.length = 0;
  });

  const link = 'http://localhost:3000/verify-email?token=abc123';
  const cases: Array<{ template: string; subject: RegExp; context: Record<string, unknown>; link?: string }> = [
    { template: 'verify-email', subject: /^Confirm your email address for Acme$/, context: { name: 'Ada', link }, link },
    { template: 'welcome', subject: /^Welcome to Acme$/, context: { name: 'Ada', link: 'http://localhost:3000/account' }, link: 'http://localhost:3000/account' },
    {
      template: 'reset-password',
      subject: /^Reset your Acme password$/,
      context: { name: 'Ada', link: 'http://localhost:3000/reset-password?token=xyz', expiresIn: '1 hour' },
      link: 'http://localhost:3000/reset-password?token=xyz',
    },
    { template: 'password-changed', subject: /^Your Acme password was changed$/, context: { name: 'Ada' } },
    { template: 'test-email', subject: /^Test email from Acme$/, context: {} },
  ];

  it.each(cases)('$template arrives with subject, From, HTML and text parts', async ({ template, subject, context, link: expectedLink }) => {
    const result = await emails.send({ template, to: { address: 'ada@example.test', name: 'Ada Lovelace' }, context });
    const [mail] = await sink.waitForMessages(1);
    expect(result.messageId).toMatch(/^<[^@]+@acme\.test>$/);
    expect(mail.messageId).toBe(result.messageId);
    expect(mail.subject).toMatch(subject);
    expect(mail.from?.value).toEqual([{ address: 'no-reply@acme.test', name: 'Acme' }]);
    expect(mail.to && !Array.isArray(mail.to) && mail.to.value).toEqual([{ address: 'ada@example.test', name: 'Ada Lovelace' }]);
    expect(mail.html).toContain('<!doctype html>');
    expect(mail.html).toContain('support@acme.test');
    expect(mail.text).toContain('support@acme.test');
    expect(mail.text).not.toMatch(/\{\{|\}\}/);
    if (expectedLink) {
      expect(linkIn(mail.html as string, expectedLink)).toBe(expectedLink);
      expect(mail.text).toContain(expectedLink);
    }
  });

  it('escapes HTML in variables in the HTML part and keeps it readable in the text part', async () => {
    await emails.send({ template: 'verify-email', to: 'ada@example.test', context: { name: '<script>alert(1)</script>', link } });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.html).not.toContain('<script>alert(1)</script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.text).toContain('Hi <script>alert(1)</script>,');
  });

  it('refuses a missing variable before any SMTP traffic, naming template and variable', async () => {
    const error = await emails.send({ template: 'verify-email', to: 'ada@example.test', context: { name: 'Ada' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateVariableMissingError);
    expect(error).toMatchObject({ code: 'EMAIL_WORKFLOW_TEMPLATE_VARIABLE_MISSING', template: 'verify-email', variable: 'link' });
    expect(sink.messages).toHaveLength(0);
  });

  it('keeps CR/LF in a subject variable or a display name from injecting a header', async () => {
    const result = await emails.send({
      template: 'welcome',
      to: { address: 'ada@example.test', name: 'Ada\r\nBcc: victim@evil.test' },
      context: { name: 'x' },
    });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.messageId).toBe(result.messageId);
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.to && !Array.isArray(mail.to) && mail.to.value[0].name).toBe('Ada Bcc: victim@evil.test');
  });

  it.each([
    ['two addresses', 'a@example.test, b@example.test'],
    ['a CR/LF', 'ada@example.test\r\nBcc: victim@evil.test'],
    ['no domain', 'ada'],
    ['more than 254 characters', `${'a'.repeat(250)}@example.test`],
    ['an empty string', ''],
  ])('refuses a recipient with %s before any SMTP traffic', async (_, to) => {
    const commandsBefore = sink.messages.length;
    await expect(emails.send({ template: 'test-email', to })).rejects.toBeInstanceOf(InvalidRecipientError);
    await expect(emails.send({ template: 'test-email', to })).rejects.toMatchObject({ code: 'EMAIL_WORKFLOW_INVALID_RECIPIENT' });
    expect(sink.messages.length).toBe(commandsBefore);
  });
  it('refuses send({ tenant }) without a transportResolver before anything is queued', async () => {
    const error = await emails.send({ template: 'test-email', to: 'ada@example.test', tenant: 'acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toContain('transportResolver');
    await untilQueueIdle(emails);
    expect(sink.messages).toHaveLength(0);
  });
  it('refuses diagnoseTransport(tenant) and sendTestEmail(to, tenant) without a transportResolver with the same typed error', async () => {
    for (const attempt of [emails.diagnoseTransport('acme'), emails.sendTestEmail('ada@example.test', 'acme')]) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as Error).message).toContain('transportResolver');
    }
    expect(sink.messages).toHaveLength(0);
  });
});
