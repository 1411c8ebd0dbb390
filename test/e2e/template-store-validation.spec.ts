/**
 * EmailTemplates.validate and preview: what an admin page shows before it saves a template to the
 * app's store, with each problem's field and line; and the dev inbox's draft preview page over HTTP,
 * on Express and Fastify.
 */
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { EmailTemplates, EmailWorkflowModule } from 'nestjs-email-workflow';
import type { TemplateDraft, TemplateProblem } from 'nestjs-email-workflow';
import { SilentLogger } from '../support/capturing-logger';
import { bootDevInboxApp, DevInboxApp } from '../support/dev-inbox-app';
import { localOptions } from '../support/module-options';

const BUTTON = '<mj-button href="{{link}}">Reset</mj-button>';

function draft(mjml: string, subject = 'Reset your {{brand.name}} password'): TemplateDraft {
  return { name: 'reset-password', locale: 'en', subject, mjml };
}

/** Lines numbered as an admin page's editor shows them. */
function lines(...rows: string[]): string {
  return rows.join('\n');
}

describe('EmailTemplates.validate and preview', () => {
  let moduleRef: TestingModule;
  let templates: EmailTemplates;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(2525))] })
      .setLogger(new SilentLogger())
      .compile();
    await moduleRef.init();
    templates = moduleRef.get(EmailTemplates);
  });
  afterAll(() => moduleRef.close());

  it('accepts a template that uses only its declared variables, and lists them', async () => {
    const result = await templates.validate(draft(lines('<mj-section><mj-column>', '<mj-text>Hi {{name}}, {{#if code}}{{code}}{{/if}}</mj-text>', BUTTON, '</mj-column></mj-section>')));
    expect(result).toMatchObject({ valid: true, problems: [] });
    expect(result.variables.sort()).toEqual(['brand.name', 'code', 'link', 'name']);
  });

  const refused: Array<[string, TemplateDraft, Partial<TemplateProblem>]> = [
    [
      'invalid MJML',
      draft(lines('<mj-section>', '<mj-column>', '<mj-colum>oops</mj-colum>', '</mj-column>', '</mj-section>')),
      { field: 'mjml', line: 3, code: 'mjml' },
    ],
    ['an unknown variable', draft(lines('<mj-section><mj-column>', BUTTON, '<mj-text>{{password}}</mj-text>', '</mj-column></mj-section>')), { field: 'mjml', line: 3, code: 'unknown-variable' }],
    ['a triple-stash of a user variable', draft(lines('<mj-section><mj-column>', '<mj-text>', 'Hi {{{name}}}', '</mj-text></mj-column></mj-section>')), { field: 'mjml', line: 3, code: 'unescaped-variable' }],
    ['{{constructor.constructor}}', draft(lines('<mj-section><mj-column>', '<mj-text>{{constructor.constructor}}</mj-text>', '</mj-column></mj-section>')), { field: 'mjml', line: 2, code: 'prototype-access' }],
    ['a subject with CR/LF', draft('<mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>', 'Reset\r\nBcc: victim@example.test'), { field: 'subject', line: 1, code: 'subject-line-break' }],
    ['a relative link', draft(lines('<mj-section><mj-column>', '<mj-text>Hi</mj-text>', '<mj-button href="/reset">Reset</mj-button>', '</mj-column></mj-section>')), { field: 'mjml', line: 3, code: 'link-absolute' }],
    ['a helper call', draft(lines('<mj-section><mj-column>', '<mj-text>{{lookup this "name"}}</mj-text>', '</mj-column></mj-section>')), { field: 'mjml', line: 2, code: 'unsupported-construct' }],
    ['a partial', draft(lines('<mj-section><mj-column>', '<mj-text>{{> header}}</mj-text>', '</mj-column></mj-section>')), { field: 'mjml', line: 2, code: 'unsupported-construct' }],
    ['mj-include', draft(lines('<mj-section><mj-column>', '<mj-include path="/etc/passwd" type="html" />', '</mj-column></mj-section>')), { field: 'mjml', line: 2, code: 'mj-include' }],
    ['broken {{…}} syntax', draft(lines('<mj-section><mj-column>', '<mj-text>', '{{#if name}}Hi', '</mj-text></mj-column></mj-section>')), { field: 'mjml', code: 'syntax' }],
  ];

  it.each(refused)('refuses %s, saying where', async (_, source, expected) => {
    const result = await templates.validate(source);
    expect(result.valid).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining(expected));
    expect(result.problems.every((problem) => problem.message.length > 10)).toBe(true);
  });

  it('refuses a huge draft without parsing it, and a body of non-strings as missing', async () => {
    const huge = await templates.validate(draft(`<mj-section><mj-column><mj-text>${'{{'.repeat(300_000)}</mj-text></mj-column></mj-section>`, 'S'.repeat(999)));
    expect(huge).toMatchObject({ valid: false, variables: [] });
    expect(huge.problems.map(({ field, code }) => ({ field, code }))).toEqual([
      { field: 'subject', code: 'too-large' },
      { field: 'mjml', code: 'too-large' },
    ]);
    const malformed = await templates.validate({ name: 'reset-password', locale: 'en', subject: 'Hi', mjml: 42 } as unknown as TemplateDraft);
    expect(malformed.problems).toEqual([expect.objectContaining({ field: 'mjml', code: 'missing-body' })]);
  });

  it('returns every problem at once, in field and line order', async () => {
    const result = await templates.validate(
      draft(lines('<mj-section><mj-column>', '<mj-text>{{{name}}}</mj-text>', '<mj-text>{{password}}</mj-text>', '<mj-text>{{__proto__.x}}</mj-text>', '</mj-column></mj-section>'), 'A\nB'),
    );
    expect(result.problems.map(({ field, line, code }) => ({ field, line, code }))).toEqual([
      { field: 'subject', line: 1, code: 'subject-line-break' },
      { field: 'mjml', line: 2, code: 'unescaped-variable' },
      { field: 'mjml', line: 3, code: 'unknown-variable' },
      { field: 'mjml', line: 4, code: 'prototype-access' },
    ]);
  });

  it('allows brand.* unescaped (the app sets it) and any variable in a template that is not built in', async () => {
    expect((await templates.validate(draft('<mj-section><mj-column><mj-text>{{{brand.name}}}</mj-text></mj-column></mj-section>'))).valid).toBe(true);
    const invoice = await templates.validate({ name: 'invoice', subject: 'Invoice {{number}}', html: '<p>Amount: {{amount}}</p>' });
    expect(invoice).toMatchObject({ valid: true });
    expect(invoice.variables.sort()).toEqual(['amount', 'number']);
  });

  const languages: Array<[string, string, string]> = [
    ['en', 'Sent by Acme.', '1 hour'],
    ['fr', 'Envoyé par Acme.', '1 heure'],
    ['de', 'Gesendet von Acme.', '1 Stunde'],
    ['es', 'Enviado por Acme.', '1 hora'],
    ['pt-br', 'Enviado por Acme.', '1 hora'],
  ];

  it.each(languages)('previews a draft in %s with the sample values, in HTML and text, storing nothing', async (locale, footer, expiresIn) => {
    const preview = await templates.preview(
      draft(lines('<mj-section><mj-column>', '<mj-text>{{name}}: {{expiresIn}}</mj-text>', BUTTON, '</mj-column></mj-section>'), 'Draft for {{brand.name}}'),
      { locale },
    );
    expect(preview.valid).toBe(true);
    expect(preview.rendered?.subject).toBe('Draft for Acme');
    expect(preview.rendered?.html).toContain(`lang="${locale === 'pt-br' ? 'pt-BR' : locale}"`);
    // French puts a no-break space between a number and its unit.
    expect(preview.rendered?.text.replace(/[\u00a0\u202f]/g, ' ')).toContain(`Ada Lovelace: ${expiresIn}`);
    expect(preview.rendered?.text).toContain(footer);
    // Handlebars writes `=` in HTML as its entity, as in every email the built-ins send.
    expect(preview.rendered?.html.replaceAll('&#x3D;', '=')).toContain('href="https://app.example.com/reset-password?token=preview-token"');
  });

  it('previews with the values given instead of the samples, and renders nothing for an invalid draft', async () => {
    const given = await templates.preview(draft(`<mj-section><mj-column><mj-text>Hi {{name}}</mj-text>${BUTTON}</mj-column></mj-section>`), { variables: { name: 'Grace' } });
    expect(given.rendered?.text).toContain('Hi Grace');
    const invalid = await templates.preview(draft('<mj-section><mj-column><mj-text>{{password}}</mj-text></mj-column></mj-section>'));
    expect(invalid.valid).toBe(false);
    expect(invalid.rendered).toBeUndefined();
  });
});

describe.each([
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
])('the dev inbox draft preview page on %s', (_, adapter) => {
  let app: DevInboxApp;
  const previousEnv = process.env.NODE_ENV;

  beforeAll(async () => {
    process.env.NODE_ENV = 'test';
    app = await bootDevInboxApp(adapter());
  });
  afterAll(async () => {
    await app.app.close();
    process.env.NODE_ENV = previousEnv;
  });

  const post = (fields: Record<string, string>) =>
    fetch(`${app.origin}/dev/templates/draft`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

  it('is linked from the templates page and shows a form', async () => {
    expect(await (await fetch(`${app.origin}/dev/templates`)).text()).toContain('href="templates/draft"');
    const form = await fetch(`${app.origin}/dev/templates/draft`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('data-testid="draft-form"');
  });

  it('renders a pasted draft in French, escaped in a sandboxed frame', async () => {
    const response = await post({ name: 'reset-password', locale: 'fr', format: 'mjml', subject: 'Brouillon {{brand.name}}', body: `<mj-section><mj-column><mj-text>Salut {{name}} &lt;b&gt;</mj-text>${BUTTON}</mj-column></mj-section>` });
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<strong data-testid="template-subject">Brouillon Acme</strong>');
    expect(page).toContain('data-testid="preview-desktop"');
    expect(page).toMatch(/<iframe [^>]*sandbox="/);
    expect(page).toContain('Envoyé par Acme.');
    expect(page).not.toContain('data-testid="draft-problems"');
  });

  it('lists a refused draft’s problems with their lines, and renders nothing', async () => {
    const page = await (await post({ name: 'reset-password', locale: 'en', format: 'mjml', subject: 'x', body: '<mj-section>\n<mj-column>\n<mj-text>{{{name}}}</mj-text>\n</mj-column>\n</mj-section>' })).text();
    expect(page).toContain('data-testid="draft-problems"');
    expect(page).toContain('<li data-code="unescaped-variable"><strong>mjml, line 3</strong>');
    expect(page).not.toContain('data-testid="preview-desktop"');
  });
});
