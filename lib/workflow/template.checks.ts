import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { relative } from 'node:path';
import { MessageComposer, checkTemplateMessages } from '../delivery';
import { TemplateRegistry, TEMPLATE_SETTINGS } from '../templates';
import type { TemplateFinding, TemplatePreview, TemplateSettings } from '../templates';
import { TRANSPORT_SETTINGS } from '../transport';
import type { TransportSettings } from '../transport';
import { TemplatePreviews } from './template.previews';

const logger = new Logger('EmailTemplateChecks');
/** Templates the boot line names before "and N more". */
const NAMED_AT_BOOT = 5;

/** Whether this process runs in development: `NODE_ENV` trimmed and lower-cased is `development`. */
function isDevelopment(nodeEnv = process.env.NODE_ENV): boolean {
  return (nodeEnv ?? '').trim().toLowerCase() === 'development';
}

/** `welcome`, `welcome.fr`: a variant as the findings name it. */
function variantName({ template, locale }: Pick<TemplateFinding, 'template' | 'locale'>): string {
  return locale ? `${template}.${locale}` : template;
}

/** The one line the boot logs: how many warnings, in which templates, and where to read them (`dir`: templates.dir). */
export function bootSummary(findings: TemplateFinding[], dir?: string): string {
  const byVariant = new Map<string, Set<string>>();
  for (const finding of findings) {
    const name = finding.template === '*' ? 'every message' : variantName(finding);
    byVariant.set(name, (byVariant.get(name) ?? new Set()).add(finding.check));
  }
  const named = [...byVariant].slice(0, NAMED_AT_BOOT).map(([name, checks]) => `${name} (${[...checks].join(', ')})`);
  const more = byVariant.size > NAMED_AT_BOOT ? ` and ${byVariant.size - NAMED_AT_BOOT} more` : '';
  const count = `${findings.length} message-check warning${findings.length === 1 ? '' : 's'}`;
  const command = `npx nestjs-email-workflow check-templates${dir ? ` --dir ${relative(process.cwd(), dir) || '.'}` : ''}`;
  return `${count}: ${named.join(', ')}${more}. See them on the dev inbox's template previews, with EmailWorkflowService.checkTemplates(), or with ${command}.`;
}

/**
 * Message checks of every template and locale, as the app sends them (see `EmailWorkflowService.checkTemplates`).
 * In development (`NODE_ENV=development`) they run once after boot and log one warning line when they find
 * something; never otherwise, so production and test runs pay nothing.
 */
@Injectable()
export class TemplateChecks implements OnApplicationBootstrap {
  constructor(
    private readonly previews: TemplatePreviews,
    private readonly composer: MessageComposer,
    private readonly registry: TemplateRegistry,
    @Inject(TRANSPORT_SETTINGS) private readonly transport: TransportSettings,
    @Inject(TEMPLATE_SETTINGS) private readonly templates: TemplateSettings,
  ) {}

  /** Every template rendered with sample data and checked: the findings, `*` (every message) first. */
  async check(): Promise<TemplateFinding[]> {
    return this.checkPreviews(await this.previews.preview());
  }

  /** The findings of previews already rendered (the dev inbox's template page renders them once for both). */
  checkPreviews(previews: TemplatePreview[]): Promise<TemplateFinding[]> {
    return checkTemplateMessages(previews, { composer: this.composer, dkimDomain: this.transport.dkim?.domainName });
  }

  /**
   * The locale of the variant an email of `template` in `locale` is rendered from, as the registry resolves
   * it at send time (`fr-ca` → `fr`, `it` → `''`); undefined for a template the app does not have.
   */
  variantLocale(template: string, locale?: string): string | undefined {
    try {
      return this.registry.resolve(template, locale).locale;
    } catch {
      return undefined;
    }
  }

  /** In development only, and after boot: a slow or failing check never holds up or breaks the app. */
  onApplicationBootstrap(): void {
    if (!isDevelopment()) return;
    setImmediate(() => {
      this.check().then(
        (findings) => findings.length > 0 && logger.warn(bootSummary(findings, this.templates.registry.customDir)),
        (error: Error) => logger.warn(`The message checks of the templates could not run: ${error.message}`),
      );
    });
  }
}
