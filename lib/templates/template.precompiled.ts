import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TemplateInvalidError } from '../errors';
import { bindTemplate, CompiledTemplate, compileMarkup, requiredVariablesOf, TemplateMarkup } from './template.compiler';
import type { LayoutBrand } from './template.layout';
import { parseTemplateFileName, parseTemplateSource } from './template.source';

/** The built-in `.mjml` sources, shipped for reading and overriding; never compiled at run time. */
export const BUILT_IN_TEMPLATES_DIR = join(__dirname, 'built-in');
/** What `npm run build` writes: every built-in compiled to HTML and text, for both layouts. */
export const PRECOMPILED_BUILT_INS_FILE = join(__dirname, 'built-in.compiled.json');

/**
 * Stands in for `brand.primaryColor` while the built-ins are compiled, and is replaced by the app's
 * colour at boot. The colour is the only brand value MJML needs at compile time (it validates colour
 * attributes); an unusual value, so no template text contains it by chance.
 */
const PRIMARY_COLOUR_PLACEHOLDER = '#0a1b2c';

interface PrecompiledTemplate {
  name: string;
  locale: string;
  /** File name inside BUILT_IN_TEMPLATES_DIR. */
  fileName: string;
  subject: string;
  requiresOneOf?: string[];
  /** Per layout: the logo's header reads brand.logoUrl. */
  requiredVariables: { withLogo: string[]; withoutLogo: string[] };
  withLogo: TemplateMarkup;
  withoutLogo: TemplateMarkup;
}

interface PrecompiledBuiltIns {
  primaryColourPlaceholder: string;
  templates: PrecompiledTemplate[];
}

/** Compiles every built-in MJML file for both layouts (with and without a logo). Needs mjml: build time only. */
export async function precompileBuiltIns(): Promise<PrecompiledBuiltIns> {
  const fileNames = (await readdir(BUILT_IN_TEMPLATES_DIR)).filter((entry) => !entry.startsWith('_') && entry.endsWith('.mjml')).sort();
  const templates = await Promise.all(
    fileNames.map(async (fileName): Promise<PrecompiledTemplate> => {
      const file = join(BUILT_IN_TEMPLATES_DIR, fileName);
      const identity = parseTemplateFileName(file);
      const parsed = parseTemplateSource(file, await readFile(file, 'utf8'));
      if (!identity || typeof parsed === 'string') throw new TemplateInvalidError(file, typeof parsed === 'string' ? parsed : 'its name is not valid');
      const source = { ...identity, ...parsed };
      const [withLogo, withoutLogo] = await Promise.all(
        [true, false].map((hasLogo) => compileMarkup(source, { primaryColor: PRIMARY_COLOUR_PLACEHOLDER, hasLogo })),
      );
      // Boot binds the built-ins without compiling their Handlebars: a broken {{…}} must fail the build instead.
      [withLogo, withoutLogo].forEach((markup) => bindTemplate(source, markup));
      const requiredVariables = { withLogo: requiredVariablesOf(parsed.subject, withLogo), withoutLogo: requiredVariablesOf(parsed.subject, withoutLogo) };
      return { ...identity, fileName, subject: parsed.subject, requiresOneOf: parsed.requiresOneOf, requiredVariables, withLogo, withoutLogo };
    }),
  );
  return { primaryColourPlaceholder: PRIMARY_COLOUR_PLACEHOLDER, templates };
}

let precompiled: PrecompiledBuiltIns | undefined;

function readPrecompiled(): PrecompiledBuiltIns {
  if (!precompiled) {
    try {
      precompiled = JSON.parse(readFileSync(PRECOMPILED_BUILT_INS_FILE, 'utf8')) as PrecompiledBuiltIns;
    } catch {
      throw new TemplateInvalidError(
        PRECOMPILED_BUILT_INS_FILE,
        'the compiled built-in templates are missing; reinstall nestjs-email-workflow (in a checkout of it: npm run build)',
      );
    }
  }
  return precompiled;
}

/** The built-ins for this app's brand: the stored markup with its colour filled in, bound to Handlebars. */
export function loadBuiltIns(layout: LayoutBrand): CompiledTemplate[] {
  const { primaryColourPlaceholder, templates } = readPrecompiled();
  return templates.map((template) => {
    const markup = layout.hasLogo ? template.withLogo : template.withoutLogo;
    const withColour = (part: string) => part.split(primaryColourPlaceholder).join(layout.primaryColor);
    return bindTemplate(
      {
        name: template.name,
        locale: template.locale,
        file: join(BUILT_IN_TEMPLATES_DIR, template.fileName),
        subject: template.subject,
        requiresOneOf: template.requiresOneOf,
      },
      { html: withColour(markup.html), text: withColour(markup.text) },
      { requiredVariables: layout.hasLogo ? template.requiredVariables.withLogo : template.requiredVariables.withoutLogo },
    );
  });
}
