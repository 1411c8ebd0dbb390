import { basename } from 'node:path';

export interface TemplateSource {
  name: string;
  /** '' for the locale-neutral file (`welcome.mjml`), else the tag (`welcome.fr.mjml` → 'fr'). */
  locale: string;
  file: string;
  subject: string;
  /** MJML: a full `<mjml>` document, or sections to place inside the shared layout. */
  body: string;
  /** Front matter `lang:`: the language of the text, when the file name does not say it (`name.mjml`). */
  lang?: string;
  /** Front matter `requires-one-of: link, code`: a render needs at least one of them. */
  requiresOneOf?: string[];
}

const TEMPLATE_FILE = /^([a-z0-9][a-z0-9_-]*)(?:\.([a-z]{2,3}(?:-[a-z0-9]{2,8})*))?\.mjml$/i;
const LOCALE_TAG = /^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i;
const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;

/** Template files are `name.mjml` or `name.<locale>.mjml`; files starting with `_` are partials for mj-include. */
export function parseTemplateFileName(file: string): { name: string; locale: string } | undefined {
  const match = TEMPLATE_FILE.exec(basename(file));
  return match ? { name: match[1], locale: match[2]?.toLowerCase() ?? '' } : undefined;
}

/** Splits the `---` front matter (`subject: …`, optional `lang: …` and `requires-one-of: …`) from the MJML body. */
export function parseTemplateSource(file: string, text: string): Omit<TemplateSource, 'name' | 'locale'> | string {
  const match = FRONT_MATTER.exec(text);
  if (!match) return 'it has no front matter; start the file with "---", a line "subject: …", and "---"';
  const fields = new Map<string, string>();
  for (const line of match[1].split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (separator > 0) fields.set(line.slice(0, separator).trim().toLowerCase(), line.slice(separator + 1).trim());
  }
  const subject = fields.get('subject');
  if (!subject) return 'its front matter has no "subject:" line';
  const lang = fields.get('lang');
  if (lang !== undefined && !LOCALE_TAG.test(lang)) return `its front matter "lang: ${lang}" is not a locale tag; use e.g. "lang: en"`;
  const requiresOneOf = fields
    .get('requires-one-of')
    ?.split(',')
    .map((variable) => variable.trim())
    .filter(Boolean);
  return {
    file,
    subject,
    body: text.slice(match[0].length),
    ...(lang ? { lang } : {}),
    ...(requiresOneOf?.length ? { requiresOneOf } : {}),
  };
}
