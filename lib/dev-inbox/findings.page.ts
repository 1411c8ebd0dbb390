import type { TemplateFinding } from '../templates';
import { escapeHtml } from './dev-inbox.pages';

/** The template variant a caught email was rendered from, and the message checks' findings of it (those about every message included). */
export interface EmailChecks {
  template: string;
  locale: string;
  findings: TemplateFinding[];
}

function variantTitle({ template, locale }: { template: string; locale: string }): string {
  return `<code>${escapeHtml(template)}</code>${locale ? ` (${escapeHtml(locale)})` : ''}`;
}

/** Findings as a list, each with its check id and its fix; every text escaped. */
export function findingsList(findings: TemplateFinding[]): string {
  const items = findings.map(
    (finding) =>
      `<li data-testid="finding" data-check="${escapeHtml(finding.check)}"><span class="check-id">${escapeHtml(finding.check)}</span> ${escapeHtml(finding.message)}<span class="fix">Fix: ${escapeHtml(finding.fix)}</span></li>`,
  );
  return `<ul class="findings">\n${items.join('\n')}\n</ul>`;
}

/** The email page's box: its template's findings, or that it passes, or why there is nothing to show. */
export function emailChecksSection(checks: EmailChecks | undefined): string {
  if (checks === undefined) {
    return '<p class="muted" data-testid="email-checks-unknown">Message checks: this email is not in the delivery log (not sent by EmailWorkflowModule, or logged before a restart), so its template is unknown.</p>';
  }
  if (checks.findings.length === 0) {
    return `<section class="checks clean" data-testid="email-checks"><h2>Message checks</h2> Template ${variantTitle(checks)} passes every message check.</section>`;
  }
  const count = `${checks.findings.length} warning${checks.findings.length === 1 ? '' : 's'}`;
  return `<section class="checks" id="checks" data-testid="email-checks"><h2>Message checks: ${count} for template ${variantTitle(checks)}</h2>
${findingsList(checks.findings)}
</section>`;
}

/** The inbox row's cell: how many warnings the email's template has, linked to them. */
export function checksCell(checks: EmailChecks | undefined, emailHref: string): string {
  if (checks === undefined) return '<span class="muted">—</span>';
  if (checks.findings.length === 0) return '<span class="status ok">✓ passes</span>';
  const count = checks.findings.length;
  return `<a class="status wait" href="${escapeHtml(`${emailHref}#checks`)}">⚠ ${count} warning${count === 1 ? '' : 's'}</a>`;
}

/** A preview's findings (the template page), or nothing when it has none. */
export function previewChecksSection(findings: TemplateFinding[], title = 'Message checks'): string {
  if (findings.length === 0) return '';
  return `<section class="checks" data-testid="template-checks"><h2>${escapeHtml(title)}: ${findings.length} warning${findings.length === 1 ? '' : 's'}</h2>
${findingsList(findings)}
</section>`;
}
