import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TemplateInvalidError, TemplateNotFoundError } from '../errors';
import { CompiledTemplate, compileTemplate, RenderedEmail, TemplateContext } from './template.compiler';
import type { LayoutBrand } from './template.layout';
import { parseTemplateFileName, parseTemplateSource } from './template.source';

export const BUILT_IN_TEMPLATES_DIR = join(__dirname, 'built-in');

export interface TemplateRegistrySettings {
  /** Folders to load, later ones replacing same-named templates of earlier ones. */
  dirs: string[];
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
    for (const dir of settings.dirs) {
      for (const compiled of await Promise.all((await templateFiles(dir)).map((file) => compileFile(file, settings.layout)))) {
        const variants = templates.get(compiled.name) ?? new Map<string, CompiledTemplate>();
        variants.set(compiled.locale, compiled);
        templates.set(compiled.name, variants);
      }
    }
    return new TemplateRegistry(templates, settings.defaultLocale.toLowerCase());
  }

  /** Template names, sorted. */
  names(): string[] {
    return [...this.templates.keys()].sort();
  }

  /**
   * The variant for `locale`: exact tag, then its language (`pt-br` → `pt`), then the default
   * locale, then the locale-neutral file.
   */
  resolve(name: string, locale?: string): CompiledTemplate {
    const variants = this.templates.get(name);
    if (!variants) throw new TemplateNotFoundError(name, this.names());
    const candidates = [locale, this.defaultLocale].flatMap((tag) => {
      const lower = tag?.toLowerCase();
      return lower ? [lower, lower.split('-')[0]] : [];
    });
    for (const candidate of [...candidates, '']) {
      const variant = variants.get(candidate);
      if (variant) return variant;
    }
    return variants.values().next().value as CompiledTemplate;
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
 * Compiles every template from disk again and renders it with `sampleContext`, for development
 * previews: an edited file shows without a restart, and a broken one reports its error instead of
 * hiding the others. Later folders replace same-named files of earlier ones, as at boot.
 */
export async function previewTemplates(
  settings: TemplateRegistrySettings,
  sampleContext: (template: CompiledTemplate) => TemplateContext,
): Promise<TemplatePreview[]> {
  const byIdentity = new Map<string, { file: string; builtIn: boolean }>();
  for (const dir of settings.dirs) {
    for (const file of await templateFiles(dir)) {
      const identity = parseTemplateFileName(file);
      byIdentity.set(`${identity?.name}.${identity?.locale}`, { file, builtIn: dir === BUILT_IN_TEMPLATES_DIR });
    }
  }
  const previews = await Promise.all(
    [...byIdentity.values()].map(async ({ file, builtIn }): Promise<TemplatePreview> => {
      const identity = parseTemplateFileName(file) ?? { name: basename(file), locale: '' };
      try {
        const compiled = await compileFile(file, settings.layout);
        return { ...identity, file, builtIn, rendered: compiled.render(sampleContext(compiled)) };
      } catch (error) {
        return { ...identity, file, builtIn, error: (error as Error).message };
      }
    }),
  );
  return previews.sort((a, b) => a.name.localeCompare(b.name) || a.locale.localeCompare(b.locale));
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
