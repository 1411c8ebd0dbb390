/**
 * Templates the app edits at run time (templates.store), on the in-process queue with a real SMTP sink:
 * the store is asked first, what it returns is validated, a bad, failing or hanging store never stops
 * an email, and the version reaches email.sent, the delivery log and the metrics.
 */
import { Global, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  EMAIL_TEMPLATE_STORE,
  EmailDeliveryLog,
  EmailEvent,
  EmailEventSubscriptions,
  EmailTemplates,
  EmailWorkflowModule,
  EmailWorkflowService,
} from 'nestjs-email-workflow';
import type { EmailTemplateStore, EmailWorkflowModuleOptions, StoredTemplate } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { RecordedMetrics } from '../support/metric-reader';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { SmtpSink } from '../support/smtp-sink';
import { until } from '../support/wait';
import { EventLog } from '../support/workflow';

const RESET = { name: 'Ada', link: 'https://app.example.com/reset-password?token=t', expiresIn: '1 hour' };
/** Text of the built-in reset-password email, which every refused stored template falls back to. */
const BUILT_IN_TEXT = 'Someone asked to reset the password';
const DB_SECRET = 'postgres://admin:hunter2@db.internal/app';

function body(words: string): string {
  return `<mj-section><mj-column><mj-text>${words}, {{name}}.</mj-text><mj-button href="{{link}}">Reset</mj-button></mj-column></mj-section>`;
}

/** The app's store, as a database table would be: rows by name and locale. */
class MemoryStore implements EmailTemplateStore {
  readonly rows = new Map<string, StoredTemplate>();
  calls = 0;
  mode: 'answer' | 'throw' | 'hang' = 'answer';

  save(name: string, locale: string, template: StoredTemplate): void {
    this.rows.set(`${name}:${locale}`, template);
  }

  async get(name: string, locale: string): Promise<StoredTemplate | null> {
    this.calls++;
    if (this.mode === 'hang') return new Promise(() => undefined);
    if (this.mode === 'throw') throw new Error(`connection to ${DB_SECRET} refused`);
    return this.rows.get(`${name}:${locale}`) ?? null;
  }
}

interface Booted {
  moduleRef: TestingModule;
  emails: EmailWorkflowService;
  templates: EmailTemplates;
  events: EventLog;
  logger: CapturingLogger;
}

async function boot(sink: SmtpSink, store: MemoryStore, overrides: Partial<EmailWorkflowModuleOptions> = {}, templates: Record<string, unknown> = { store }): Promise<Booted> {
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { templates, ...overrides }))],
  })
    .setLogger(logger)
    .compile();
  const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
  await moduleRef.init();
  return { moduleRef, emails: moduleRef.get(EmailWorkflowService), templates: moduleRef.get(EmailTemplates), events, logger };
}

describe('templates.store: templates edited while the app runs', () => {
  let sink: SmtpSink;
  let store: MemoryStore;
  let app: Booted;
  let metrics: RecordedMetrics;

  const sendReset = async (locale?: string) => {
    const { messageId } = await app.emails.send({ template: 'reset-password', to: 'ada@example.test', context: RESET, locale });
    return sink.mailWithId(messageId);
  };

  beforeAll(async () => {
    sink = await SmtpSink.start();
  });
  afterAll(() => sink.close());

  beforeEach(async () => {
    store = new MemoryStore();
    metrics = new RecordedMetrics();
    app = await boot(sink, store, { metrics: { meterProvider: metrics.provider } });
  });
  afterEach(async () => {
    await app.moduleRef.close();
    await metrics.shutdown();
  });

  it('sends the stored template, and after an edit and reload() the next send uses the new text; email.sent and the delivery log record the version', async () => {
    store.save('reset-password', 'en', { subject: 'Reset at {{brand.name}}', mjml: body('First words'), version: '1' });
    const first = await sendReset();
    expect(first.subject).toBe('Reset at Acme');
    expect(first.text).toContain('First words, Ada.');

    store.save('reset-password', 'en', { subject: 'New reset at {{brand.name}}', mjml: body('Second words'), version: '2' });
    // Cached until the reload (the default cacheTtl is a minute).
    expect((await sendReset()).text).toContain('First words');
    await app.templates.reload('reset-password');
    const second = await sendReset();
    expect(second.subject).toBe('New reset at Acme');
    expect(second.text).toContain('Second words, Ada.');

    const sent = await app.events.waitFor(EmailEvent.Sent, 3);
    expect(sent.map((event) => event.templateVersion)).toEqual(['1', '1', '2']);
    const record = await app.moduleRef.get(EmailDeliveryLog).get(String(second.messageId));
    expect(record?.steps.find((step) => step.event === 'sent')?.templateVersion).toBe('2');
  });

  it('the admin-page recipe of docs/editing-templates.md: validate → preview → save → reload, and the next email is the saved one', async () => {
    // What the recipe's PUT does, over the store's table: save only what validates, then reload.
    const save = async (name: string, locale: string, fields: { subject: string; mjml: string }) => {
      const validation = await app.templates.validate({ name, locale, ...fields });
      if (!validation.valid) return validation;
      const revision = Number(store.rows.get(`${name}:${locale}`)?.version ?? 0) + 1;
      store.save(name, locale, { ...fields, version: String(revision) });
      await app.templates.reload(name);
      return validation;
    };
    expect((await sendReset()).text).toContain(BUILT_IN_TEXT);

    const draft = { name: 'reset-password', locale: 'en', subject: 'Edited reset for {{brand.name}}', mjml: body('Edited words') };
    const preview = await app.templates.preview(draft, { locale: draft.locale });
    expect(preview).toMatchObject({ valid: true, problems: [] });
    expect(preview.rendered?.text).toContain('Edited words, Ada Lovelace.');
    expect(store.rows.size).toBe(0);

    expect(await save('reset-password', 'en', { subject: draft.subject, mjml: draft.mjml })).toMatchObject({ valid: true });
    const edited = await sendReset();
    expect(edited.subject).toBe('Edited reset for Acme');
    expect(edited.text).toContain('Edited words, Ada.');

    // A broken edit is refused at the save, with its line; the saved version keeps going out.
    const refusedEdit = await save('reset-password', 'en', { subject: 'Reset', mjml: body('Hi {{{name}}}') });
    expect(refusedEdit.valid).toBe(false);
    expect(refusedEdit.problems).toContainEqual(expect.objectContaining({ field: 'mjml', line: 1, code: 'unescaped-variable' }));
    expect(store.rows.get('reset-password:en')?.version).toBe('1');
    expect((await sendReset()).text).toContain('Edited words, Ada.');
    expect((await app.events.waitFor(EmailEvent.Sent, 3)).map((event) => event.templateVersion)).toEqual([undefined, '1', '1']);
  });

  it('asks the store per locale of the reader, before templates.dir and the built-ins: fr-CA gets the stored fr, de the built-in German', async () => {
    store.save('reset-password', 'fr', { subject: 'Réinitialisation {{brand.name}}', mjml: body('Salut de la base'), version: 'fr-1' });
    expect((await sendReset('fr-CA')).text).toContain('Salut de la base, Ada.');
    expect((await sendReset('de')).subject).toBe('Passwort für Ihr Acme-Konto zurücksetzen');
    expect(store.calls).toBeGreaterThanOrEqual(3);
  });

  const refused: Array<[string, StoredTemplate]> = [
    ['invalid MJML', { subject: 'Reset', mjml: '<mj-section>\n<mj-colum><mj-text>Hi</mj-text></mj-colum>\n</mj-section>', version: 'bad-mjml' }],
    ['an unknown variable', { subject: 'Reset', mjml: body('Your password is {{password}}'), version: 'bad-variable' }],
    ['a triple-stash of a user variable', { subject: 'Reset', mjml: body('Hello {{{name}}}'), version: 'bad-stash' }],
    ['{{constructor.constructor}}', { subject: 'Reset {{constructor.constructor}}', mjml: body('Hi'), version: 'bad-prototype' }],
    ['a subject with CR/LF', { subject: 'Reset\r\nBcc: victim@example.test', mjml: body('Hi'), version: 'bad-subject' }],
  ];

  it.each(refused)('a stored template with %s is skipped for the built-in, logged once per version and counted', async (_, template) => {
    store.save('reset-password', 'en', template);
    const mail = await sendReset();
    expect(mail.text).toContain(BUILT_IN_TEXT);
    expect(mail.headers.get('bcc')).toBeUndefined();
    await app.templates.reload();
    expect((await sendReset()).text).toContain(BUILT_IN_TEXT);

    const warnings = app.logger.entries.filter((entry) => entry.level === 'warn' && entry.message.includes(`version ${template.version}`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('reset-password.en');
    const skipped = app.events.seen[EmailEvent.TemplateSkipped];
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatchObject({ name: 'reset-password', locale: 'en', version: template.version, reason: 'invalid' });
    expect(skipped[0].problems?.length).toBeGreaterThan(0);
    expect(await metrics.sums('email_workflow.templates.skipped')).toEqual({ 'reason=invalid,template=reset-password': 2 });
    expect((await app.events.waitFor(EmailEvent.Sent, 2)).map((event) => event.templateVersion)).toEqual([undefined, undefined]);
  });

  it('a store that throws is skipped for the built-in; its error message (which may name secrets) is not logged', async () => {
    store.mode = 'throw';
    expect((await sendReset()).text).toContain(BUILT_IN_TEXT);
    expect(app.events.seen[EmailEvent.TemplateSkipped]).toEqual([expect.objectContaining({ name: 'reset-password', reason: 'error' })]);
    const logged = app.logger.entries.map((entry) => [entry.message, ...entry.params].join(' ')).join('\n');
    expect(logged).toContain('the template store threw Error');
    expect(logged).not.toContain('hunter2');
  });

  it('a stored template that throws with a send’s values (a required variable missing) is skipped for the built-in', async () => {
    store.save('reset-password', 'en', { subject: 'Your code', mjml: '<mj-section><mj-column><mj-text>Code: {{code}}</mj-text></mj-column></mj-section>', version: 'needs-code' });
    expect((await sendReset()).text).toContain(BUILT_IN_TEXT);
    expect(app.events.seen[EmailEvent.TemplateSkipped]).toEqual([expect.objectContaining({ version: 'needs-code', reason: 'render' })]);
  });

  it('the EMAIL_TEMPLATE_STORE token supplies the store when templates.store is not set', async () => {
    const injected = new MemoryStore();
    injected.save('welcome', '', { subject: 'Hello from the token', html: '<p>Welcome, {{name}}. <a href="{{link}}">Start</a></p>', version: 'token-1' });
    // A template of the app's own that only the store has: sent, though no file or built-in has that name.
    injected.save('invoice', 'en', { subject: 'Invoice {{number}}', html: '<p>Amount due: {{amount}}</p>', version: 'inv-7' });
    @Global()
    @Module({ providers: [{ provide: EMAIL_TEMPLATE_STORE, useValue: injected }], exports: [EMAIL_TEMPLATE_STORE] })
    class StoreModule {}
    const moduleRef = await Test.createTestingModule({ imports: [StoreModule, EmailWorkflowModule.forRoot(localOptions(sink.port))] })
      .setLogger(new CapturingLogger())
      .compile();
    await moduleRef.init();
    try {
      const rendered = await moduleRef.get(EmailTemplates).render('welcome', { name: 'Ada', link: 'https://app.example.com', brand: { name: 'Acme' } });
      expect(rendered).toMatchObject({ subject: 'Hello from the token', origin: 'store', version: 'token-1' });
      expect(rendered.text).toContain('Welcome, Ada.');
      const { messageId } = await moduleRef.get(EmailWorkflowService).send({ template: 'invoice', to: 'ada@example.test', context: { number: 'A-12', amount: '€40' } });
      const invoice = await sink.mailWithId(messageId);
      expect(invoice.subject).toBe('Invoice A-12');
      expect(invoice.text).toContain('Amount due: €40');
    } finally {
      await moduleRef.close();
    }
  });
});

describe('templates.store bounds', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await SmtpSink.start();
  });
  afterAll(() => sink.close());

  it('a store that hangs: the built-in goes out once templates.storeTimeout has passed', async () => {
    const store = new MemoryStore();
    store.mode = 'hang';
    const app = await boot(sink, store, {}, { store, storeTimeout: 300 });
    try {
      const started = Date.now();
      const rendered = await app.templates.render('reset-password', { ...RESET, brand: { name: 'Acme' } });
      const took = Date.now() - started;
      expect(rendered.origin).toBe('built-in');
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(1_500);
      const { messageId } = await app.emails.send({ template: 'reset-password', to: 'ada@example.test', context: RESET });
      expect((await sink.mailWithId(messageId)).text).toContain(BUILT_IN_TEXT);
      expect(app.events.seen[EmailEvent.TemplateSkipped][0]).toMatchObject({ reason: 'timeout' });
    } finally {
      await app.moduleRef.close();
    }
  });

  it('without reload(), an edit shows once templates.cacheTtl has passed', async () => {
    const store = new MemoryStore();
    store.save('welcome', 'en', { subject: 'Old', html: '<p>Old {{name}}</p>', version: 'a' });
    const app = await boot(sink, store, {}, { store, cacheTtl: 1_000 });
    const context = { name: 'Ada', link: 'https://app.example.com', brand: { name: 'Acme' } };
    try {
      expect((await app.templates.render('welcome', context)).subject).toBe('Old');
      store.save('welcome', 'en', { subject: 'New', html: '<p>New {{name}}</p>', version: 'b' });
      const edited = Date.now();
      expect((await app.templates.render('welcome', context)).subject).toBe('Old');
      await until(async () => (await app.templates.render('welcome', context)).subject === 'New', 'the edit after cacheTtl', 3_000);
      expect(Date.now() - edited).toBeGreaterThanOrEqual(900);
    } finally {
      await app.moduleRef.close();
    }
  });

  it('keeps at most 1,000 store answers, least recently used dropped first: locales from users cannot grow it without bound', async () => {
    const store = new MemoryStore();
    const app = await boot(sink, store);
    const context = { name: 'Ada', link: 'https://app.example.com', brand: { name: 'Acme' } };
    try {
      for (let i = 1; i <= 1_100; i++) await app.templates.render('welcome', context, `x-${i}`);
      const before = store.calls;
      await app.templates.render('welcome', context, 'x-1100');
      expect(store.calls).toBe(before);
      await app.templates.render('welcome', context, 'x-1');
      expect(store.calls).toBe(before + 1);
    } finally {
      await app.moduleRef.close();
    }
  });

  it('refuses a store without get(), and out-of-range storeTimeout and cacheTtl, with InvalidOptionsError', async () => {
    const error = await invalidOptionsError(localOptions(sink.port, { templates: { store: {} as EmailTemplateStore, storeTimeout: 0, cacheTtl: -1 } }));
    expect(error.problems.map((problem) => problem.path).sort()).toEqual(['templates.cacheTtl', 'templates.store', 'templates.storeTimeout']);
  });
});
