import Handlebars from 'handlebars';
import { dirname } from 'node:path';
import { DependencyMissingError, TemplateInvalidError, TemplateVariableMissingError } from '../errors';
import { requireOptional } from '../optional-packages';
import { LayoutBrand, wrapInLayout } from './template.layout';
import type { TemplateSource } from './template.source';

export type TemplateContext = Record<string, unknown>;

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** A template after its one-time compilation: sending only fills in variables. */
export interface CompiledTemplate {
  name: string;
  locale: string;
  file: string;
  /** Variables every render must provide (those outside `{{#if}}`/`{{#each}}` blocks). */
  requiredVariables: string[];
  /** Throws TemplateVariableMissingError when the context lacks a required variable. */
  assertRenderable(context: TemplateContext): void;
  render(context: TemplateContext): RenderedEmail;
}

const handlebars = Handlebars.create();
const CONTROL_CHARACTERS = /[\r\n\t\u0000-\u001f\u007f]+/g;
const EXTRA_BLANK_LINES = /\n{3,}/g;
const DENIED_INCLUDE_MARKER = 'mj-include denied';

type HandlebarsNode = { type: string; path?: { type: string; original: string; data?: boolean }; params?: unknown[] };

/** Variables used outside any block: a render without them would print nothing where a value belongs. */
function requiredVariables(source: string): string[] {
  const program = handlebars.parse(source) as unknown as { body: HandlebarsNode[] };
  return program.body
    .filter(
      (node) =>
        node.type === 'MustacheStatement' &&
        node.path?.type === 'PathExpression' &&
        !node.path.data &&
        node.params?.length === 0 &&
        node.path.original !== 'this',
    )
    .map((node) => node.path!.original);
}

function lookup(context: TemplateContext, path: string): unknown {
  return path.split(/[./]/).reduce<unknown>((value, key) => (value == null ? undefined : (value as TemplateContext)[key]), context);
}

/** HTML and plain text of a template, before Handlebars: what `npm run build` stores for the built-ins. */
export interface TemplateMarkup {
  html: string;
  text: string;
}

// MJML is only needed to compile templates from disk (templates.dir, previews of them, the build of the
// built-ins); loading it costs a fifth of a second and 190 packages, so apps that only use the built-ins skip it.
function loadMjml(): typeof import('mjml') {
  return requireOptional('mjml', () => require('mjml') as typeof import('mjml'), missingCompilerPackage);
}

function loadHtmlToText(): typeof import('html-to-text').convert {
  return requireOptional('html-to-text', () => require('html-to-text') as typeof import('html-to-text'), missingCompilerPackage).convert;
}

function missingCompilerPackage(name: string): DependencyMissingError {
  return new DependencyMissingError(name, 'Compiling MJML templates from disk (templates.dir)');
}

/** What MJML refused, each with its line in the template's own MJML (not in the layout around it). */
export class MjmlInvalidError extends TemplateInvalidError {
  constructor(
    file: string,
    readonly problems: Array<{ line?: number; message: string }>,
  ) {
    super(file, problems.map((problem) => (problem.line ? `line ${problem.line}: ${problem.message}` : problem.message)).join('; '));
  }
}

/** `includes: false` for MJML the app did not ship as files (a stored template): it may not read any. */
export interface MjmlCompileOptions {
  includes?: boolean;
}

async function compileMjml(source: TemplateSource, layout: LayoutBrand, { includes = true }: MjmlCompileOptions = {}): Promise<string> {
  const whole = source.body.trimStart().startsWith('<mjml');
  const document = whole ? source.body : wrapInLayout(source.body, layout, source.lang ?? source.locale);
  // MJML counts lines in the document; the template's author counts them in the body.
  const linesBefore = whole ? 0 : document.slice(0, document.indexOf(source.body)).split('\n').length - 1;
  const mjml2html = loadMjml();
  let html: string;
  try {
    html = (await mjml2html(document, { validationLevel: 'strict', filePath: dirname(source.file), ignoreIncludes: !includes })).html;
  } catch (error) {
    const errors = (error as { errors?: Array<{ line?: number; message: string }> }).errors;
    if (!errors?.length) throw new MjmlInvalidError(source.file, [{ message: (error as Error).message.replace(/^ValidationError:\s*/, '').trim() }]);
    throw new MjmlInvalidError(
      source.file,
      errors.map(({ line, message }) => ({ line: line === undefined ? undefined : Math.max(1, line - linesBefore), message })),
    );
  }
  // MJML replaces an include it refuses (outside the folder, or missing) with this comment instead of failing.
  if (html.includes(DENIED_INCLUDE_MARKER)) {
    throw new TemplateInvalidError(
      source.file,
      `an mj-include points outside ${dirname(source.file)} or at a missing file; keep partials inside the templates folder`,
    );
  }
  return html;
}

/** The plain-text part made from HTML, as every template's is. */
export function textOfHtml(html: string): string {
  return loadHtmlToText()(html, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
      { selector: 'img', format: 'skip' },
      // MJML puts each mj-text in a div: a blank line around each keeps paragraphs apart in the text part.
      { selector: 'div', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
      // Upper-casing would turn {{name}} into {{NAME}}, a variable nobody passes.
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
      { selector: 'table', options: { uppercaseHeaderCells: false } },
    ],
  });
}

/** MJML → HTML with Handlebars placeholders, and the plain text derived from it. */
export async function compileMarkup(source: TemplateSource, layout: LayoutBrand, options?: MjmlCompileOptions): Promise<TemplateMarkup> {
  const html = await compileMjml(source, layout, options);
  return { html, text: textOfHtml(html) };
}

/** MJML compiled once, then cached Handlebars delegates. */
export async function compileTemplate(source: TemplateSource, layout: LayoutBrand): Promise<CompiledTemplate> {
  return bindTemplate(source, await compileMarkup(source, layout));
}

type Delegates = Record<keyof RenderedEmail, Handlebars.TemplateDelegate>;

function compileDelegates(source: Omit<TemplateSource, 'body'>, { html, text }: TemplateMarkup): Delegates {
  try {
    const delegates: Delegates = {
      subject: handlebars.compile(source.subject, { noEscape: true }),
      html: handlebars.compile(html),
      text: handlebars.compile(text, { noEscape: true }),
    };
    // Handlebars compiles lazily; render once now so a send never pays for compilation.
    Object.values(delegates).forEach((delegate) => delegate({}));
    return delegates;
  } catch (error) {
    throw new TemplateInvalidError(source.file, `its {{…}} syntax is broken: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** The variables a render of this markup must be given: see requiredVariables. */
export function requiredVariablesOf(subject: string, { html, text }: TemplateMarkup): string[] {
  return [...new Set([...requiredVariables(subject), ...requiredVariables(html), ...requiredVariables(text)])];
}

/**
 * Handlebars delegates over compiled markup: sending only fills in variables. With `precompiled` (the
 * built-ins, checked when the package was built, with their required variables stored), Handlebars
 * compiles each one at its first render instead: some 7 ms each, which at boot would add up over
 * 45 variants most apps never send.
 */
export function bindTemplate(
  source: Omit<TemplateSource, 'body'>,
  markup: TemplateMarkup,
  precompiled?: { requiredVariables: string[] },
): CompiledTemplate {
  let delegates: Delegates | undefined = precompiled ? undefined : compileDelegates(source, markup);
  const required = precompiled?.requiredVariables ?? requiredVariablesOf(source.subject, markup);
  const oneOf = source.requiresOneOf ?? [];
  const assertRenderable = (context: TemplateContext): void => {
    const missing = required.find((variable) => lookup(context, variable) == null);
    if (missing) throw new TemplateVariableMissingError(source.name, missing);
    // A link or a code: each is guarded by {{#if}}, but an email with neither would ask for nothing.
    if (oneOf.length > 0 && oneOf.every((variable) => lookup(context, variable) == null)) {
      throw new TemplateVariableMissingError(source.name, oneOf[0]);
    }
  };
  return {
    name: source.name,
    locale: source.locale,
    file: source.file,
    requiredVariables: required,
    assertRenderable,
    render(context) {
      assertRenderable(context);
      delegates ??= compileDelegates(source, markup);
      return {
        subject: delegates.subject(context).replace(CONTROL_CHARACTERS, ' ').trim(),
        html: delegates.html(context),
        text: delegates.text(context).replace(EXTRA_BLANK_LINES, '\n\n').trim(),
      };
    },
  };
}
