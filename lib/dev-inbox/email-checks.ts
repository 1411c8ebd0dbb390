import type { Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { EmailDeliveryLog } from '../delivery-log';
import type { TemplateFinding, TemplatePreview } from '../templates';
import { TemplateChecks } from '../workflow';
import type { CaughtEmail } from './dev-inbox.types';
import type { EmailChecks } from './findings.page';

/** A provider of EmailWorkflowModule, looked up per request: the dev inbox does not have to import the module. */
function lookUp<T>(moduleRef: ModuleRef, token: Type<T>): T | undefined {
  try {
    return moduleRef.get(token, { strict: false });
  } catch {
    return undefined;
  }
}

/**
 * The message checks' findings of each caught email's template, by the email's id. The delivery log says
 * which template (and locale) an email was sent with, by its Message-ID; the registry which variant that
 * locale resolves to. An email the log does not know (not sent by EmailWorkflowModule, or caught before a
 * restart) has no entry, nor has any email without EmailWorkflowModule in the app.
 */
export async function checksOfEmails(moduleRef: ModuleRef, emails: CaughtEmail[]): Promise<Map<string, EmailChecks>> {
  const found = new Map<string, EmailChecks>();
  const checks = lookUp(moduleRef, TemplateChecks);
  const log = lookUp(moduleRef, EmailDeliveryLog);
  if (!checks || !log) return found;
  const sent = await Promise.all(
    emails.map(async (email) => {
      const record = email.messageId === undefined ? undefined : await log.get(email.messageId).catch(() => undefined);
      const locale = record && checks.variantLocale(record.template, record.locale);
      return record && locale !== undefined ? { email, template: record.template, locale } : undefined;
    }),
  );
  const known = sent.filter((entry) => entry !== undefined);
  if (known.length === 0) return found;
  const findings = await checks.check();
  for (const { email, template, locale } of known) {
    found.set(email.id, { template, locale, findings: findings.filter((finding) => finding.template === '*' || (finding.template === template && finding.locale === locale)) });
  }
  return found;
}

/** The templates page's findings: those about every message, and each preview's own (a preview that does not render shows its error instead). */
export async function checksOfPreviews(
  moduleRef: ModuleRef,
  previews: TemplatePreview[],
): Promise<{ everyMessage: TemplateFinding[]; of: (preview: TemplatePreview) => TemplateFinding[] }> {
  const checks = lookUp(moduleRef, TemplateChecks);
  const findings = checks ? await checks.checkPreviews(previews) : [];
  return {
    everyMessage: findings.filter((finding) => finding.template === '*'),
    of: (preview) => findings.filter((finding) => finding.check !== 'renders' && finding.template === preview.name && finding.locale === preview.locale),
  };
}
