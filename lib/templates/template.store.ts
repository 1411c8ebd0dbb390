/**
 * A template as the app stores it (e.g. a row of its database), for one name and locale. Either `mjml`
 * (sections placed inside the shared layout, or a whole `<mjml>` document) or `html`.
 */
export interface StoredTemplate {
  /** Handlebars, one line: `Reset your {{brand.name}} password`. */
  subject: string;
  mjml?: string;
  html?: string;
  /** The plain-text part; made from the HTML when absent. */
  text?: string;
  /**
   * Changes whenever the content changes (a revision number, an updated-at stamp, a hash): compiled
   * results are cached by it, and `email.sent` and the delivery log record it.
   */
  version: string;
}

/** A draft to validate or preview: a stored template before it has a version. */
export interface TemplateDraft extends Omit<StoredTemplate, 'version'> {
  /** The template it stands for (`reset-password`): its declared variables and samples apply. */
  name: string;
  /** Its locale (`fr`, `pt-br`); '' for locale-neutral. */
  locale?: string;
}

/** One stored template as `list()` names it. */
export interface StoredTemplateEntry {
  name: string;
  locale: string;
  version: string;
}

/**
 * The app's own template store: the workflow asks it first, then `templates.dir`, then the built-ins,
 * for each locale of the reader's chain. Pass it as `templates.store` or provide it under
 * `EMAIL_TEMPLATE_STORE`. Whatever it returns is validated before use; a template that fails, a throw
 * or an answer slower than `templates.storeTimeout` is skipped for the next source: an email never waits
 * on, or fails because of, the store.
 *
 * @example
 * @Injectable()
 * export class DbTemplateStore implements EmailTemplateStore {
 *   constructor(@InjectRepository(EmailTemplateRow) private readonly rows: Repository<EmailTemplateRow>) {}
 *   async get(name: string, locale: string) {
 *     const row = await this.rows.findOneBy({ name, locale });
 *     return row && { subject: row.subject, mjml: row.mjml, version: String(row.revision) };
 *   }
 * }
 */
export interface EmailTemplateStore {
  /** The template `name` in exactly `locale` ('' for locale-neutral), or null: the workflow does the fallback. */
  get(name: string, locale: string): Promise<StoredTemplate | null | undefined>;
  /** Every stored template, for admin pages; optional. */
  list?(): Promise<StoredTemplateEntry[]>;
}

export const EMAIL_TEMPLATE_STORE = 'EMAIL_WORKFLOW:TEMPLATE_STORE';

/** Where the template of a send came from. */
export type TemplateOrigin = 'store' | 'dir' | 'built-in';
