import { TemplateInvalidError } from '../errors';
import { bindTemplate, CompiledTemplate, compileMarkup, MjmlInvalidError, RenderedEmail, TemplateContext, TemplateMarkup, textOfHtml } from './template.compiler';
import { contentFindings } from './template.findings';
import type { TemplateFinding } from './template.findings';
import { checkHandlebars } from './template.handlebars-checks';
import type { LayoutBrand } from './template.layout';
import { declaredVariables, sampleContextFor } from './template.samples';
import type { TemplateDraft } from './template.store';
import type { TemplateField, TemplateProblem, TemplateValidation } from './template.validation.types';

/** What checking a draft needs of the app: the layout it is wrapped in, the brand its samples carry. */
export interface DraftSettings {
  layout: LayoutBrand;
  brand: TemplateContext;
}

/** A draft checked: its validation and, when valid, the template compiled and its sample render. */
export interface CheckedDraft {
  validation: TemplateValidation;
  template?: CompiledTemplate;
  rendered?: RenderedEmail;
}

const LINE_BREAK = /[\r\n]/;
/**
 * Longest field accepted, in characters: a subject is one header line (RFC 5322 caps a line at 998), a
 * body far past any email's. Larger drafts are refused before MJML or Handlebars parse them.
 */
const MAX_CHARS: Record<TemplateField, number> = { subject: 998, mjml: 500_000, html: 500_000, text: 500_000 };
const MJ_INCLUDE = /<mj-include\b/i;
const HANDLEBARS = /\{\{[^}]*\}\}\}?/g;

/** 1-based line of `index` in `text`. */
function lineAt(text: string, index: number): number {
  return text.slice(0, Math.max(0, index)).split('\n').length;
}

/** Where a stored template says it comes from, in errors and findings: never a path on this machine. */
export function draftFile(name: string, locale: string): string {
  return `store:${name}${locale ? `.${locale}` : ''}`;
}

function byPlace(a: TemplateProblem, b: TemplateProblem): number {
  const order: TemplateField[] = ['subject', 'mjml', 'html', 'text'];
  return order.indexOf(a.field) - order.indexOf(b.field) || (a.line ?? 0) - (b.line ?? 0);
}

async function markupOf(draft: TemplateDraft, locale: string, layout: LayoutBrand, problems: TemplateProblem[]): Promise<TemplateMarkup | undefined> {
  if (draft.html !== undefined) return { html: draft.html, text: draft.text ?? textOfHtml(draft.html) };
  const mjml = draft.mjml as string;
  const include = MJ_INCLUDE.exec(mjml);
  if (include) {
    problems.push({ field: 'mjml', line: lineAt(mjml, include.index), code: 'mj-include', message: 'A stored template cannot use mj-include (it would read files); write the partial out.' });
    return undefined;
  }
  try {
    // mjml is required here, on the first stored or draft MJML template, never before.
    const markup = await compileMarkup({ name: draft.name, locale, file: draftFile(draft.name, locale), subject: draft.subject, body: mjml }, layout, { includes: false });
    return draft.text === undefined ? markup : { html: markup.html, text: draft.text };
  } catch (error) {
    if (error instanceof MjmlInvalidError) {
      problems.push(...error.problems.map(({ line, message }) => ({ field: 'mjml' as const, line, code: 'mjml' as const, message })));
    } else if (error instanceof TemplateInvalidError) {
      problems.push({ field: 'mjml', code: 'mjml', message: error.message });
    } else {
      throw error;
    }
    return undefined;
  }
}

/**
 * Every check a template passes before it is used: its fields' Handlebars (see checkHandlebars), a
 * one-line subject, MJML that compiles, links and image sources that are absolute URLs, and a render
 * with the template's sample values. Lines are each field's own, so an admin page can point at them.
 */
export async function checkDraft(draft: TemplateDraft, settings: DraftSettings): Promise<CheckedDraft> {
  const locale = (draft.locale ?? '').toLowerCase();
  const problems: TemplateProblem[] = [];
  const declared = declaredVariables(draft.name);
  const bodyField: TemplateField = draft.html !== undefined ? 'html' : 'mjml';
  const body = draft.html ?? draft.mjml;
  if (typeof draft.subject !== 'string' || typeof body !== 'string' || (draft.html !== undefined && draft.mjml !== undefined)) {
    const message = typeof draft.subject !== 'string' ? 'The template has no subject; give it one line of text.' : 'Give the template either mjml or html (one of them).';
    return { validation: { valid: false, problems: [{ field: typeof draft.subject !== 'string' ? 'subject' : bodyField, code: 'missing-body', message }], variables: [], warnings: [] } };
  }
  const oversized = (['subject', 'mjml', 'html', 'text'] as const).filter((field) => typeof draft[field] === 'string' && (draft[field] as string).length > MAX_CHARS[field]);
  if (oversized.length > 0) {
    const tooLarge = oversized.map((field): TemplateProblem => ({ field, code: 'too-large', message: `The ${field} is over ${MAX_CHARS[field]} characters; shorten it.` }));
    return { validation: { valid: false, problems: tooLarge, variables: [], warnings: [] } };
  }
  const lineBreak = LINE_BREAK.exec(draft.subject);
  if (lineBreak) {
    problems.push({ field: 'subject', line: lineAt(draft.subject, lineBreak.index), code: 'subject-line-break', message: 'The subject has a line break (CR or LF); a subject is one line.' });
  }
  const reports = [checkHandlebars('subject', draft.subject, declared, false), checkHandlebars(bodyField, body, declared, true)];
  if (draft.text !== undefined) reports.push(checkHandlebars('text', draft.text, declared, false));
  problems.push(...reports.flatMap((report) => report.problems));
  const variables = [...new Set(reports.flatMap((report) => report.variables))];
  const markup = await markupOf(draft, locale, settings.layout, problems);
  const warnings: TemplateFinding[] = [];
  const result = (template?: CompiledTemplate, rendered?: RenderedEmail): CheckedDraft => ({
    validation: { valid: problems.length === 0, problems: problems.sort(byPlace), variables, warnings },
    ...(problems.length === 0 ? { template, rendered } : {}),
  });
  if (!markup) return result();
  if (problems.length > 0) {
    // Still worth listing the links that are wrong, with every {{…}} as a value only known at send time.
    linkChecks({ subject: draft.subject, html: markup.html.replace(HANDLEBARS, '[value]'), text: '' }, body, bodyField, problems);
    return result();
  }
  let template: CompiledTemplate;
  let rendered: RenderedEmail;
  try {
    template = bindTemplate({ name: draft.name, locale, file: draftFile(draft.name, locale), subject: draft.subject }, markup);
    rendered = template.render(sampleContextFor(template, settings.brand));
  } catch (error) {
    problems.push({ field: bodyField, code: 'renders', message: `It does not render with sample values: ${(error as Error).message}` });
    return result();
  }
  const others = linkChecks(rendered, body, bodyField, problems);
  warnings.push(...others.map((finding) => ({ template: draft.name, locale, file: draftFile(draft.name, locale), ...finding })));
  return result(template, rendered);
}

/** Adds a `link-absolute` problem for each link or image source that is not an absolute URL; returns the other findings (warnings). */
function linkChecks(rendered: RenderedEmail, body: string, field: TemplateField, problems: TemplateProblem[]): ReturnType<typeof contentFindings> {
  const findings = contentFindings(rendered);
  for (const finding of findings.filter(({ check }) => check === 'link-absolute')) {
    const url = /"([^"]*)"/.exec(finding.message)?.[1] ?? '';
    // Where the source writes it: as an attribute value first, so `/x` is not found inside `</x>`.
    const written = url.split('[value]')[0];
    const quoted = body.indexOf(`"${written}`);
    const at = !written ? -1 : quoted >= 0 ? quoted : body.indexOf(written);
    problems.push({ field, ...(at >= 0 ? { line: lineAt(body, at) } : {}), code: 'link-absolute', message: `${finding.message} ${finding.fix}` });
  }
  return findings.filter(({ check }) => check !== 'link-absolute');
}
