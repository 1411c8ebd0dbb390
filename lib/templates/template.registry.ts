import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TemplateInvalidError, TemplateNotFoundError } from '../errors';
import { CompiledTemplate, compileTemplate, RenderedEmail, TemplateContext } from './template.compiler';
import type { LayoutBrand } from './template.layout';
import { loadBuiltIns } from './template.precompiled';
import { parseTemplateFileName, parseTemplateSource } from './template.source';

export interface TemplateRegistrySettings {
  /** The app's own templates, compiled from MJML at boot; they replace same-named built-ins. */
  customDir?: string;
  defaultLocale: string;
  layout: LayoutBrand;
}

/** Every template, compiled once at boot, looked up by name and locale. */
export class TemplateRegistry {
  private constructor(
    private readonly templates: Map<string, Map<string, CompiledTemplate>>,
    private readonly defaultLocale: string,
  ) {}

  static async load(settings: TemplateRegistrySettings): Promise<TemplateRegistry> {
    const templates = new Map<string, Map<string, CompiledTemplate>>();
    const custom = settings.customDir
      ? await Promise.all((await templateFiles(settings.customDir)).map((file) => compileFile(file, settings.layout)))
      : [];
    for (const compiled of withoutReplacedTranslations(loadBuiltIns(settings.layout), custom)) {
      const variants = templates.get(compiled.name) ?? new Map<string, CompiledTemplate>();
      variants.set(compiled.locale, compiled);
      templates.set(compiled.name, variants);
    }
    return new TemplateRegistry(templates, settings.defaultLocale.toLowerCase());
  }

  /** Template names, sorted. */
  names(): string[] {
    return [...this.templates.keys()].sort();
  }

  /**
   * The variant for `locale`: exact tag, then its language (`fr-ca` → `fr`), then another region of
   * that language (`pt` → `pt-br`), then the same for the default locale, then the locale-neutral file.
   */
  resolve(name: string, locale?: string): CompiledTemplate {
    const variants = this.templates.get(name);
    if (!variants) throw new TemplateNotFoundError(name, this.names());
    for (const tag of [locale, this.defaultLocale]) {
      const lower = tag?.toLowerCase();
      if (!lower) continue;
      const language = lower.split('-')[0];
      const variant = this.exact(name, lower) ?? this.exact(name, language) ?? this.sameLanguage(name, language);
      if (variant) return variant;
    }
    return variants.get('') ?? (variants.values().next().value as CompiledTemplate);
  }

  /** Whether `name` is a built-in or `templates.dir` template. */
  has(name: string): boolean {
    return this.templates.has(name);
  }

  /** The variant of exactly `locale` ('' for the locale-neutral file), if there is one. */
  exact(name: string, locale: string): CompiledTemplate | undefined {
    return this.templates.get(name)?.get(locale);
  }

  /** A variant of another region of `language` (`pt` → `pt-br`), if there is one. */
  sameLanguage(name: string, language: string): CompiledTemplate | undefined {
    return [...(this.templates.get(name)?.values() ?? [])].find((candidate) => candidate.locale.startsWith(`${language}-`));
  }

  /** The locale used when a recipient has none, lower-cased. */
  get fallbackLocale(): string {
    return this.defaultLocale;
  }

  render(name: string, context: TemplateContext, locale?: string): RenderedEmail {
    return this.resolve(name, locale).render(context);
  }
}

/** One template file compiled straight from disk, or why it does not compile. */
export interface TemplatePreview {
  name: string;
  locale: string;
  file: string;
  builtIn: boolean;
  rendered?: RenderedEmail;
  error?: string;
}

/**
 * Renders every template with `sampleContext`, for development previews. The app's own files are
 * compiled from disk again, so an edited file shows without a restart, and a broken one reports its
 * error instead of hiding the others; they replace same-named built-ins, as at boot.
 */
export async function previewTemplates(
  settings: TemplateRegistrySettings,
  sampleContext: (template: CompiledTemplate) => TemplateContext,
): Promise<TemplatePreview[]> {
  const render = (compiled: CompiledTemplate, builtIn: boolean): TemplatePreview => {
    const identity = { name: compiled.name, locale: compiled.locale, file: compiled.file, builtIn };
    try {
      return { ...identity, rendered: compiled.render(sampleContext(compiled)) };
    } catch (error) {
      return { ...identity, error: (error as Error).message };
    }
  };
  const customFiles = settings.customDir ? await templateFiles(settings.customDir) : [];
  const byIdentity = new Map<string, TemplatePreview>();
  const replaced = new Set(customFiles.map((file) => parseTemplateFileName(file)).filter((identity) => identity?.locale === '').map((identity) => identity!.name));
  for (const builtIn of loadBuiltIns(settings.layout)) {
    if (!replaced.has(builtIn.name)) byIdentity.set(`${builtIn.name}.${builtIn.locale}`, render(builtIn, true));
  }
  const custom = await Promise.all(
    customFiles.map(async (file): Promise<TemplatePreview> => {
      const identity = parseTemplateFileName(file) ?? { name: basename(file), locale: '' };
      try {
        return render(await compileFile(file, settings.layout), false);
      } catch (error) {
        return { ...identity, file, builtIn: false, error: (error as Error).message };
      }
    }),
  );
  for (const preview of custom) byIdentity.set(`${preview.name}.${preview.locale}`, preview);
  const previews = [...byIdentity.values()];
  return previews.sort((a, b) => a.name.localeCompare(b.name) || a.locale.localeCompare(b.locale));
}

/**
 * The built-ins the app's files leave in place, then the app's files. An app's locale-neutral file of a
 * built-in (`welcome.mjml`) replaces its translations too: they translate the built-in's text, not the
 * app's, which would otherwise reach only English readers. An app's `welcome.fr.mjml` replaces only French.
 */
function withoutReplacedTranslations(builtIns: CompiledTemplate[], custom: CompiledTemplate[]): CompiledTemplate[] {
  const replaced = new Set(custom.filter((template) => template.locale === '').map((template) => template.name));
  return [...builtIns.filter((template) => !replaced.has(template.name)), ...custom];
}

async function templateFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    throw new TemplateInvalidError(dir, 'the templates folder cannot be read; check templates.dir points to an existing folder');
  }
  return entries
    .filter((entry) => !entry.startsWith('_') && entry.endsWith('.mjml'))
    .sort()
    .map((entry) => join(dir, entry));
}

async function compileFile(file: string, layout: LayoutBrand): Promise<CompiledTemplate> {
  const identity = parseTemplateFileName(file);
  if (!identity) {
    throw new TemplateInvalidError(file, 'its name is not "name.mjml" or "name.<locale>.mjml" (letters, digits, - and _)');
  }
  const parsed = parseTemplateSource(file, await readFile(file, 'utf8'));
  if (typeof parsed === 'string') throw new TemplateInvalidError(file, parsed);
  return compileTemplate({ ...identity, ...parsed }, layout);
}
