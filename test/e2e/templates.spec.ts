import { Test, TestingModule } from '@nestjs/testing';
import { join } from 'node:path';
import {
  EmailWorkflowModule,
  EmailWorkflowService,
  TemplateInvalidError,
  TemplateNotFoundError,
} from 'nestjs-email-workflow';
import { localOptions } from '../support/module-options';
import { linkIn, SmtpSink } from '../support/smtp-sink';

const TEMPLATES = join(__dirname, '..', 'fixtures', 'templates');

async function boot(port: number, dir: string, defaultLocale?: string): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [EmailWorkflowModule.forRoot(localOptions(port, { templates: { dir, defaultLocale } }))],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('template overrides, new templates and locales', () => {
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    moduleRef = await boot(sink.port, join(TEMPLATES, 'overrides'));
    emails = moduleRef.get(EmailWorkflowService);
  });

  afterAll(async () => {
    await moduleRef.close();
    await sink.close();
  });

  beforeEach(() => {
    sink.messages.length = 0;
  });

  it('replaces a built-in with the same-named file of templates.dir', async () => {
    await emails.send({ template: 'welcome', to: 'ada@example.test', context: { name: 'Ada' } });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.subject).toBe('Custom welcome, Ada');
    expect(mail.text).toContain('Our own welcome for Ada.');
    expect(mail.html).not.toContain('Your email address is confirmed');
  });

  it('sends a new template by its name, with partials included from the same folder', async () => {
    await emails.send({ template: 'invoice', to: 'ada@example.test', context: { number: 'A-17', amount: '€12.00' } });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.subject).toBe('Invoice A-17 from Acme');
    expect(mail.text).toContain('Invoice A-17: €12.00');
    expect(mail.text).toContain('The billing team');
  });

  it('does not treat partials (_name.mjml) as templates', () => {
    expect(() => emails.render({ template: '_signature' })).toThrow(TemplateNotFoundError);
  });

  it('picks the locale variant, also for a regional tag, and falls back to the default', async () => {
    const link = 'http://localhost:3000/reset-password?token=t1';
    expect(emails.render({ template: 'reset-password', context: { name: 'Ada', link }, locale: 'fr' }).subject).toBe(
      'Réinitialisez votre mot de passe Acme',
    );
    expect(emails.render({ template: 'reset-password', context: { name: 'Ada', link }, locale: 'fr-CA' }).subject).toBe(
      'Réinitialisez votre mot de passe Acme',
    );
    // No German override: the built-in German variant.
    expect(emails.render({ template: 'reset-password', context: { name: 'Ada', link }, locale: 'de' }).subject).toBe(
      'Passwort für Ihr Acme-Konto zurücksetzen',
    );
    expect(emails.render({ template: 'reset-password', context: { name: 'Ada', link }, locale: 'it' }).subject).toBe(
      'Reset your Acme password',
    );
    await emails.send({ template: 'reset-password', to: 'ada@example.test', context: { name: 'Ada', link }, locale: 'fr' });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.text).toContain('Bonjour Ada');
    expect(linkIn(mail.html as string, link)).toBe(link);
  });

  it('uses the default locale when the recipient has none', async () => {
    const frenchByDefault = await boot(sink.port, join(TEMPLATES, 'overrides'), 'fr');
    try {
      const rendered = frenchByDefault.get(EmailWorkflowService).render({
        template: 'reset-password',
        context: { name: 'Ada', link: 'http://localhost:3000/r?token=1' },
      });
      expect(rendered.subject).toBe('Réinitialisez votre mot de passe Acme');
    } finally {
      await frenchByDefault.close();
    }
  });

  it('strips CR/LF from a subject variable so it cannot inject a header', async () => {
    await emails.send({
      template: 'welcome',
      to: 'ada@example.test',
      context: { name: 'Ada\r\nBcc: victim@evil.test\r\nX-Injected: yes' },
    });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.subject).toBe('Custom welcome, Ada Bcc: victim@evil.test X-Injected: yes');
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.headers.has('x-injected')).toBe(false);
  });

  it('names an unknown template and lists the available ones', () => {
    const error = (() => {
      try {
        emails.render({ template: 'nope' });
      } catch (e) {
        return e as TemplateNotFoundError;
      }
    })();
    expect(error).toBeInstanceOf(TemplateNotFoundError);
    expect(error?.code).toBe('EMAIL_WORKFLOW_TEMPLATE_NOT_FOUND');
    expect(error?.message).toContain('"nope"');
    expect(error?.message).toContain('invoice');
  });
});

describe('invalid templates fail the boot', () => {
  it('names the file and MJML’s message for invalid MJML', async () => {
    const error = await boot(1, join(TEMPLATES, 'invalid')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateInvalidError);
    expect((error as TemplateInvalidError).code).toBe('EMAIL_WORKFLOW_TEMPLATE_INVALID');
    expect((error as TemplateInvalidError).file).toBe(join(TEMPLATES, 'invalid', 'broken.mjml'));
    expect((error as Error).message).toContain('mj-colum');
  });

  it('refuses an mj-include that reaches outside the templates folder', async () => {
    const error = await boot(1, join(TEMPLATES, 'escape')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateInvalidError);
    expect((error as TemplateInvalidError).file).toBe(join(TEMPLATES, 'escape', 'sneaky.mjml'));
  });

  it('refuses a templates.dir that does not exist', async () => {
    const error = await boot(1, join(TEMPLATES, 'missing-folder')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateInvalidError);
    expect((error as Error).message).toContain('missing-folder');
  });
});

describe('plain-text part', () => {
  it('keeps variables inside headings as written (html-to-text would upper-case them)', async () => {
    const moduleRef = await boot(1, join(TEMPLATES, 'overrides'));
    try {
      const rendered = moduleRef.get(EmailWorkflowService).render({ template: 'heading', context: { name: 'Ada' } });
      expect(rendered.text).toContain('Hello Ada');
      expect(rendered.subject).toBe('Heading for Ada');
    } finally {
      await moduleRef.close();
    }
  });
});
