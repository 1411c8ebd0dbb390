import type { RenderedEmail } from './template.compiler';
import type { TemplateFinding } from './template.findings';

/** The part of a template a problem is in. */
export type TemplateField = 'subject' | 'mjml' | 'html' | 'text';

/**
 * Why a template is refused, one id each:
 * - `missing-body`: neither `mjml` nor `html` (or both);
 * - `syntax`: its `{{…}}` do not parse;
 * - `mjml`: MJML refuses it (unknown tag, tag in the wrong place, illegal attribute…);
 * - `mj-include`: a stored template may not read files;
 * - `unknown-variable`: a variable the template's sends never carry;
 * - `unescaped-variable`: a `{{{…}}}` of user data in the HTML;
 * - `prototype-access`: a path through `constructor`, `__proto__`…;
 * - `unsupported-construct`: a helper call, a partial, a decorator;
 * - `subject-line-break`: a CR or LF in the subject;
 * - `link-absolute`: a link or image source that is not an absolute URL;
 * - `renders`: it does not render with the template's sample values;
 * - `too-large`: a field over its limit (subject 998 characters, the others 500,000), not parsed.
 */
export type TemplateProblemCode =
  | 'missing-body'
  | 'syntax'
  | 'mjml'
  | 'mj-include'
  | 'unknown-variable'
  | 'unescaped-variable'
  | 'prototype-access'
  | 'unsupported-construct'
  | 'subject-line-break'
  | 'link-absolute'
  | 'renders'
  | 'too-large';

/** One reason a template cannot be used, with where it is: the field and its line (1-based). */
export interface TemplateProblem {
  field: TemplateField;
  /** 1-based, in the field's own text; absent when the problem has no one place (`missing-body`, some MJML errors). */
  line?: number;
  code: TemplateProblemCode;
  message: string;
}

/** What `EmailTemplates.validate` finds. */
export interface TemplateValidation {
  /** True when there is no problem: the template can be saved and sent. */
  valid: boolean;
  /** Every problem found, in field and line order. */
  problems: TemplateProblem[];
  /** Variables the template uses (outside `each`/`with`), dotted: `device.browser`. */
  variables: string[];
  /** Message-check warnings that do not refuse it (http links, images without alt text). */
  warnings: TemplateFinding[];
}

/** A draft rendered with sample values: what `EmailTemplates.preview` returns. */
export interface TemplatePreviewResult extends TemplateValidation {
  /** Present when the draft is valid. */
  rendered?: RenderedEmail;
}
