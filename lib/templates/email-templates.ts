import { Logger, OnModuleDestroy } from '@nestjs/common';
import { QueueUnavailableError } from '../errors';
import type { RedisClient } from '../redis';
import type { CompiledTemplate, TemplateContext } from './template.compiler';
import type { TemplateSettings } from './template.options';
import { BUILT_IN_TEMPLATES_DIR } from './template.precompiled';
import type { TemplateRegistry } from './template.registry';
import { TemplateReloadChannel } from './template.reload-channel';
import { sampleContextFor } from './template.samples';
import { CachedAnswer, localeChain, RenderedTemplate, ResolvedTemplate, TimedOut, TemplateSkip, variantName, withinTime } from './template.sources';
import type { EmailTemplateStore, StoredTemplateEntry, TemplateDraft } from './template.store';
import { checkDraft } from './template.validation';
import type { TemplatePreviewResult, TemplateValidation } from './template.validation.types';

/** Refused versions remembered (so each is validated and logged once); past this, the memory starts over. */
const MAX_REMEMBERED = 1_000;
/**
 * Store answers kept, least recently used dropped first: a locale is any string the app passes on, so the
 * names and locales asked have no bound of their own.
 */
const MAX_CACHED_ANSWERS = 1_000;

/** Options of `preview`: the locale to render the draft in, and values to use instead of the samples. */
export interface TemplatePreviewOptions {
  locale?: string;
  variables?: TemplateContext;
}

/**
 * The templates of every send, from the app's store first (`templates.store`), then `templates.dir`,
 * then the built-ins, for each locale of the reader's chain; and the checks and previews an admin page
 * needs to edit stored templates safely. A stored template is used only once validated; one that fails,
 * a store that throws or is slower than `templates.storeTimeout`, is skipped for the next source,
 * logged once per version and reported to `onSkip` listeners (metrics, `email.template-skipped`).
 */
export class EmailTemplates implements OnModuleDestroy {
  private readonly logger = new Logger('EmailTemplates');
  private readonly cache = new Map<string, CachedAnswer>();
  /** Name, locale and version of each refused version and each failing call already logged. */
  private readonly logged = new Set<string>();
  private readonly skipListeners: Array<(skip: TemplateSkip) => void> = [];
  /** Bumped by every reload: an answer asked for before it is not cached after it. */
  private generation = 0;
  private channel?: TemplateReloadChannel;
  private publishTimeoutMs = 0;

  constructor(
    private readonly registry: TemplateRegistry,
    private readonly settings: TemplateSettings,
    private readonly store?: EmailTemplateStore,
  ) {}

  /** Whether a store is configured. */
  get hasStore(): boolean {
    return this.store !== undefined;
  }

  /**
   * With Redis: every process on `prefix` hears each `reload()`. `subscriber` becomes this channel's
   * own connection (closed by `close()`); `publisher` is the shared commands connection.
   */
  async connect(publisher: RedisClient, subscriber: RedisClient, prefix: string, publishTimeoutMs: number): Promise<void> {
    this.publishTimeoutMs = publishTimeoutMs;
    this.channel = await TemplateReloadChannel.open(publisher, subscriber, prefix, publishTimeoutMs, (name) => this.drop(name));
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close();
  }

  /** Every check a stored template passes before use, with each problem's field and line. Stores nothing. */
  async validate(draft: TemplateDraft): Promise<TemplateValidation> {
    return (await checkDraft(draft, this.draftSettings())).validation;
  }

  /**
   * A draft rendered in HTML and text with the template's sample values (`variables` replace some),
   * in `locale` (default: the draft's), when it validates; its problems otherwise. Stores nothing.
   */
  async preview(draft: TemplateDraft, options: TemplatePreviewOptions = {}): Promise<TemplatePreviewResult> {
    const checked = await checkDraft({ ...draft, locale: options.locale ?? draft.locale }, this.draftSettings());
    if (!checked.template || !options.variables) return { ...checked.validation, ...(checked.rendered ? { rendered: checked.rendered } : {}) };
    const brand = { ...this.settings.brand };
    const context = { ...sampleContextFor(checked.template, brand), ...options.variables, brand };
    return { ...checked.validation, rendered: checked.template.render(context) };
  }

  /** The stored templates, as the store lists them; [] without a store or its `list()`. */
  async list(): Promise<StoredTemplateEntry[]> {
    return (await this.store?.list?.()) ?? [];
  }

  /**
   * Drops the compiled copies of `name` (every template when undefined), here and, with Redis, in every
   * process on the prefix: the next send of it asks the store again. Throws QueueUnavailableError when
   * Redis could not be told (this process has dropped them; the others will after `templates.cacheTtl`).
   */
  async reload(name?: string): Promise<void> {
    this.drop(name);
    if (!this.channel) return;
    try {
      await withinTime(this.channel.publish(name), this.publishTimeoutMs);
    } catch (error) {
      throw new QueueUnavailableError(error instanceof TimedOut ? `Redis gave ${error.message}` : (error as Error).message, 'the other processes were not told to reload');
    }
  }

  /** Calls `listener` for every stored template passed over; returns its removal. */
  onSkip(listener: (skip: TemplateSkip) => void): () => void {
    this.skipListeners.push(listener);
    return () => this.skipListeners.splice(this.skipListeners.indexOf(listener), 1);
  }

  /**
   * The template for `name` in `locale`: for the reader's tag, then its language, then the same for the
   * default locale, then locale-neutral, the store's (when valid) before `templates.dir`'s and the built-in.
   */
  async resolve(name: string, locale?: string, useStore = true): Promise<ResolvedTemplate> {
    if (!this.store) return this.fromFiles(this.registry.resolve(name, locale));
    const state = { storeUp: useStore && this.store !== undefined };
    for (const { tags, language } of localeChain(locale, this.registry.fallbackLocale)) {
      for (const tag of tags) {
        const found = (await this.fromStore(name, tag, state)) ?? this.fromRegistry(name, tag);
        if (found) return found;
      }
      const regional = this.registry.sameLanguage(name, language);
      if (regional) return this.fromFiles(regional);
    }
    return (await this.fromStore(name, '', state)) ?? this.fromFiles(this.registry.resolve(name, locale));
  }

  /**
   * Renders `name` with `context` (brand included) from the template `resolve` finds. A stored template
   * that throws while rendering is skipped for the files' one: the email still goes out.
   */
  async render(name: string, context: TemplateContext, locale?: string): Promise<RenderedTemplate> {
    const resolved = await this.resolve(name, locale);
    if (resolved.origin !== 'store') return this.rendered(resolved, context);
    try {
      return this.rendered(resolved, context);
    } catch (error) {
      const { template, version } = resolved;
      this.skip({ name, locale: template.locale, version, reason: 'render' }, `${version}:render`, `${storedName(name, template.locale, version)} throws with this send's values (${(error as Error).message}); fix it in your template store, then call EmailTemplates.reload()`);
      return this.rendered(await this.resolve(name, locale, false), context);
    }
  }

  private rendered({ template, origin, version }: ResolvedTemplate, context: TemplateContext): RenderedTemplate {
    return { ...template.render(context), origin, locale: template.locale, ...(version === undefined ? {} : { version }) };
  }

  private fromRegistry(name: string, tag: string): ResolvedTemplate | undefined {
    const template = this.registry.exact(name, tag);
    return template && this.fromFiles(template);
  }

  private fromFiles(template: CompiledTemplate): ResolvedTemplate {
    return { template, origin: template.file.startsWith(BUILT_IN_TEMPLATES_DIR) ? 'built-in' : 'dir' };
  }

  /** The store's valid template for exactly `tag`, from the cache while it is fresh. */
  private async fromStore(name: string, tag: string, state: { storeUp: boolean }): Promise<ResolvedTemplate | undefined> {
    if (!state.storeUp || !this.store) return undefined;
    const key = `${name}\u0000${tag}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) {
      this.remember(key, cached);
      return cached.template && { template: cached.template, origin: 'store', version: cached.version };
    }
    const generation = this.generation;
    let answer: CachedAnswer;
    try {
      answer = await this.ask(name, tag, cached);
      this.logged.delete(`${key}\u0000call`);
    } catch (error) {
      // One failing call per send: the rest of the chain goes on without the store.
      state.storeUp = false;
      const reason = error instanceof TimedOut ? 'timeout' : 'error';
      const described = error instanceof TimedOut ? `the template store gave ${error.message} (templates.storeTimeout)` : `the template store threw ${describeError(error)}`;
      this.skip({ name, locale: tag, reason }, 'call', `Asking for ${variantName(name, tag)}, ${described}; check the store's get()`);
      return undefined;
    }
    if (generation === this.generation) this.remember(key, answer);
    return answer.template && { template: answer.template, origin: 'store', version: answer.version };
  }

  /** Asks the store, and compiles a version not compiled before (an unchanged one keeps its compilation). */
  private async ask(name: string, tag: string, cached: CachedAnswer | undefined): Promise<CachedAnswer> {
    const expiresAt = Date.now() + this.settings.store.cacheTtlMs;
    const stored = await withinTime(Promise.resolve(this.store!.get(name, tag)), this.settings.store.timeoutMs);
    if (!stored) return { expiresAt };
    const version = String(stored.version ?? '');
    if (cached?.version === version) return { ...cached, expiresAt };
    const draft: TemplateDraft = { name, locale: tag, subject: stored.subject, mjml: stored.mjml ?? undefined, html: stored.html ?? undefined, text: stored.text ?? undefined };
    const checked = await checkDraft(draft, this.draftSettings());
    if (!checked.template) {
      const { problems } = checked.validation;
      const list = problems.map((problem) => `${problem.field}${problem.line ? ` line ${problem.line}` : ''}: ${problem.message}`).join('; ');
      this.skip({ name, locale: tag, version, reason: 'invalid', problems }, version, `${storedName(name, tag, version)} is invalid (${list}); fix it in your template store, then call EmailTemplates.reload()`);
      return { expiresAt, version };
    }
    return { expiresAt, version, template: checked.template };
  }

  /** Reports a skip to the listeners, and logs `what` once per name, locale and `once` (a version, or the kind of failure). */
  private skip(skip: TemplateSkip, once: string, what: string): void {
    for (const listener of this.skipListeners) {
      try {
        listener(skip);
      } catch (error) {
        this.logger.warn(`A template-skip listener threw: ${describeError(error)}`);
      }
    }
    const key = `${skip.name}\u0000${skip.locale}\u0000${once}`;
    if (this.logged.has(key)) return;
    if (this.logged.size >= MAX_REMEMBERED) this.logged.clear();
    this.logged.add(key);
    this.logger.warn(`${what}. Emails use the next source meanwhile (templates.dir or the built-in).`);
  }

  /** Keeps `answer` as the most recently used, dropping the least recently used past the bound. */
  private remember(key: string, answer: CachedAnswer): void {
    this.cache.delete(key);
    this.cache.set(key, answer);
    if (this.cache.size > MAX_CACHED_ANSWERS) this.cache.delete(this.cache.keys().next().value as string);
  }

  private drop(name: string | undefined): void {
    this.generation += 1;
    if (name === undefined) return this.cache.clear();
    for (const key of this.cache.keys()) if (key.startsWith(`${name}\u0000`)) this.cache.delete(key);
  }

  private draftSettings() {
    return { layout: this.settings.registry.layout, brand: { ...this.settings.brand } };
  }
}

function storedName(name: string, locale: string, version: string | undefined): string {
  return `Stored template ${variantName(name, locale)} version ${version}`;
}

/** An error as logs may show it: its class and code, not its message, which may carry what the store was given. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return 'a non-error value';
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' || typeof code === 'number' ? ` (${code})` : ''}`;
}
