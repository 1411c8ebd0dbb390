import type { TemplatePreviewResult } from '../templates';
import { escapeHtml, page, renderedEmail } from './dev-inbox.pages';
import type { DevInboxNav } from './dev-inbox.pages';

/** What the draft form posts; every field as text, none trusted. */
export interface DraftForm {
  name: string;
  locale: string;
  subject: string;
  format: 'mjml' | 'html';
  body: string;
}

/** The locales the built-ins ship in, offered in the form. */
const LOCALES = ['en', 'fr', 'de', 'es', 'pt-br'];
const EMPTY_FORM: DraftForm = {
  name: 'reset-password',
  locale: 'en',
  subject: 'Reset your {{brand.name}} password',
  format: 'mjml',
  body: '<mj-section>\n  <mj-column>\n    <mj-text>Hi {{name}},</mj-text>\n    <mj-button href="{{link}}">Choose a new password</mj-button>\n  </mj-column>\n</mj-section>',
};

/** The posted form as text fields, with the defaults where a field is missing or not text. */
export function draftFormOf(posted: unknown): DraftForm {
  const fields = (typeof posted === 'object' && posted !== null ? posted : {}) as Record<string, unknown>;
  const text = (key: keyof DraftForm) => (typeof fields[key] === 'string' ? (fields[key] as string) : EMPTY_FORM[key]);
  return { name: text('name').trim(), locale: text('locale').trim(), subject: text('subject'), format: fields.format === 'html' ? 'html' : 'mjml', body: text('body') };
}

function formSection(form: DraftForm, names: string[]): string {
  const option = (value: string, selected: boolean) => `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(value)}</option>`;
  return `<form method="post" action="draft" class="draft" data-testid="draft-form">
<p><label>Template <input name="name" list="template-names" value="${escapeHtml(form.name)}" required></label>
<datalist id="template-names">${names.map((name) => option(name, false)).join('')}</datalist>
<label>Locale <select name="locale">${LOCALES.map((locale) => option(locale, locale === form.locale)).join('')}</select></label>
<label>Format <select name="format">${option('mjml', form.format === 'mjml')}${option('html', form.format === 'html')}</select></label></p>
<p><label>Subject <input name="subject" size="60" value="${escapeHtml(form.subject)}"></label></p>
<p><label>Body<br><textarea name="body" rows="16" cols="100" spellcheck="false">${escapeHtml(form.body)}</textarea></label></p>
<p><button type="submit">Preview</button> <span class="muted">Rendered with the template's sample values; nothing is stored or sent.</span></p>
</form>`;
}

function resultSection(result: TemplatePreviewResult): string {
  const where = (problem: TemplatePreviewResult['problems'][number]) => `${problem.field}${problem.line ? `, line ${problem.line}` : ''}`;
  const problems = result.problems.length
    ? `<div class="error-box" role="alert" data-testid="draft-problems"><strong>This draft cannot be used:</strong><ol>${result.problems
        .map((problem) => `<li data-code="${escapeHtml(problem.code)}"><strong>${escapeHtml(where(problem))}</strong>: ${escapeHtml(problem.message)}</li>`)
        .join('')}</ol></div>`
    : '';
  const warnings = result.warnings.length
    ? `<ul data-testid="draft-warnings">${result.warnings.map((warning) => `<li>${escapeHtml(warning.message)} ${escapeHtml(warning.fix)}</li>`).join('')}</ul>`
    : '';
  const rendered = result.rendered ? renderedEmail(result.rendered) : '';
  return `<section class="preview" data-testid="draft-result">${problems}${warnings}${rendered}</section>`;
}

/** The draft preview page: the form, and the last posted draft's problems or its render. */
export function draftPreviewPage(nav: DevInboxNav, names: string[], posted?: { form: DraftForm; result: TemplatePreviewResult }): string {
  return page(
    'Preview a template draft',
    `<h1>Preview a template draft</h1>
<p class="muted lead">Paste a template as an admin page would save it to your template store (EmailTemplates.preview): it is checked as a stored template is before use.</p>
${formSection(posted?.form ?? EMPTY_FORM, names)}
${posted ? resultSection(posted.result) : ''}`,
    nav,
  );
}
