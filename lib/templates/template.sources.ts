import type { CompiledTemplate, RenderedEmail } from './template.compiler';
import type { TemplateOrigin } from './template.store';
import type { TemplateProblem } from './template.validation.types';

/** A template ready to render, and where it came from. */
export interface ResolvedTemplate {
  template: CompiledTemplate;
  origin: TemplateOrigin;
  /** The store's version; absent for `templates.dir` and built-in templates. */
  version?: string;
}

/** A render by `EmailTemplates.render`: the email, and which template made it. */
export interface RenderedTemplate extends RenderedEmail {
  origin: TemplateOrigin;
  /** The locale of the variant used ('' for locale-neutral). */
  locale: string;
  version?: string;
}

/**
 * Why a stored template was passed over for the next source:
 * - `invalid`: it failed validation (see `problems`);
 * - `render`: it threw while rendering this send's values;
 * - `error`: the store threw;
 * - `timeout`: the store did not answer within `templates.storeTimeout`.
 */
export type TemplateSkipReason = 'invalid' | 'render' | 'error' | 'timeout';

/** A stored template passed over: what `EmailTemplates.onSkip` listeners get. Never the template's text. */
export interface TemplateSkip {
  name: string;
  locale: string;
  reason: TemplateSkipReason;
  version?: string;
  problems?: TemplateProblem[];
}

/** What the cache holds for one name and locale: the store's last answer, compiled. */
export interface CachedAnswer {
  expiresAt: number;
  /** Undefined when the store had no template. */
  version?: string;
  /** Undefined when the store had none, or the version was refused. */
  template?: CompiledTemplate;
}

/** The locales asked, in order, for a reader's `locale` and the default one: exact tag, then its language. */
export function localeChain(locale: string | undefined, defaultLocale: string): Array<{ tags: string[]; language: string }> {
  const levels: Array<{ tags: string[]; language: string }> = [];
  for (const tag of [locale, defaultLocale]) {
    const lower = tag?.toLowerCase();
    if (!lower) continue;
    const language = lower.split('-')[0];
    levels.push({ tags: [...new Set([lower, language])], language });
  }
  return levels;
}

/** `reset-password.fr`: a variant as logs name it. */
export function variantName(name: string, locale: string): string {
  return locale ? `${name}.${locale}` : name;
}

/** The store's answer, or a throw: `timeout` after `ms`. A late answer or rejection is ignored. */
export function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(ms)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A call that did not answer in time. Internal: a store's is logged and counted, never thrown to the app. */
export class TimedOut extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}
