import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
      for (const compiled of await compileFolder(dir, settings.layout)) {
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

  /** Locale tags with a variant of that template ('' is the locale-neutral file). */
  locales(name: string): string[] {
    return [...(this.templates.get(name)?.keys() ?? [])];
  }

  has(name: string): boolean {
    return this.templates.has(name);
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

async function compileFolder(dir: string, layout: LayoutBrand): Promise<CompiledTemplate[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    throw new TemplateInvalidError(dir, 'the templates folder cannot be read; check templates.dir points to an existing folder');
  }
  const files = entries.filter((entry) => !entry.startsWith('_') && entry.endsWith('.mjml')).sort();
  return Promise.all(
    files.map(async (entry) => {
      const file = join(dir, entry);
      const identity = parseTemplateFileName(entry);
      if (!identity) {
        throw new TemplateInvalidError(file, 'its name is not "name.mjml" or "name.<locale>.mjml" (letters, digits, - and _)');
      }
      const parsed = parseTemplateSource(file, await readFile(file, 'utf8'));
      if (typeof parsed === 'string') throw new TemplateInvalidError(file, parsed);
      return compileTemplate({ ...identity, ...parsed }, layout);
    }),
  );
}
