import type { TemplatePreview } from '../templates';
import { PAGE_SCRIPT } from './dev-inbox.script';
import type { CaughtEmail } from './dev-inbox.types';

/**
 * Email HTML runs in frames without scripts, forms or access to the page's origin. Its links stay
 * usable: they open in a new tab (popups that escape the sandbox) or, if they say so, in this one.
 */
export const EMAIL_FRAME_SANDBOX = 'allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation';

const STYLES = `
:root { --text: #1f2937; --muted: #6b7280; --line: #e5e7eb; --page: #f6f7f9; --accent: #2563eb; --error: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: var(--page); }
main { max-width: 1320px; margin: 0 auto; padding: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; word-break: break-word; }
h2 { font-size: 16px; margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
.lead { margin: 0 0 16px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: #f3f4f6; }
td.time { white-space: nowrap; color: var(--muted); font-variant-numeric: tabular-nums; }
.empty { padding: 32px; text-align: center; background: #fff; border: 1px dashed var(--line); border-radius: 8px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0 20px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-word; }
.tabs > input { position: absolute; opacity: 0; pointer-events: none; }
.tabs > label { display: inline-block; padding: 6px 14px; margin-right: 2px; border: 1px solid var(--line); border-bottom: 0; border-radius: 6px 6px 0 0; background: #eef0f3; cursor: pointer; }
.tabs > input:checked + label { background: #fff; font-weight: 600; }
.tabs > input:focus-visible + label { outline: 2px solid var(--accent); }
.panel { display: none; padding: 12px; background: #fff; border: 1px solid var(--line); border-radius: 0 6px 6px 6px; }
#view-html:checked ~ .panel-html, #view-text:checked ~ .panel-text, #view-raw:checked ~ .panel-raw { display: block; }
.panel-html iframe { width: 100%; height: 70vh; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font: 12.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
iframe { display: block; border: 1px solid var(--line); background: #fff; }
nav.index { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0 0 20px; }
nav.index .failed { color: var(--error); }
.preview { margin: 0 0 24px; padding: 16px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.preview .file { margin: 2px 0 0; font-size: 12px; word-break: break-all; }
.badge { display: inline-block; margin-left: 8px; padding: 1px 8px; border-radius: 999px; font-size: 11px; font-weight: 500; vertical-align: middle; background: #eef2ff; color: #3730a3; }
.badge.custom { background: #ecfdf5; color: #047857; }
.subject { margin: 12px 0 0; }
.frames { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 24px; margin: 12px 0; }
figure { margin: 0; }
figcaption { margin-bottom: 4px; font-size: 12px; color: var(--muted); }
details summary { cursor: pointer; color: var(--muted); }
details pre { margin-top: 8px; padding: 12px; background: #f9fafb; border: 1px solid var(--line); }
.error-box { margin-top: 12px; padding: 12px; border: 1px solid #fecaca; border-radius: 6px; background: #fef2f2; color: var(--error); }
.error-box pre { margin-top: 6px; }
nav.pages { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0 0 16px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
nav.pages a[aria-current="page"] { color: var(--text); font-weight: 600; }
form.search { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 0 0 16px; }
form.search input { flex: 1 1 220px; max-width: 420px; padding: 6px 10px; font: inherit; border: 1px solid var(--line); border-radius: 6px; }
form.search button { padding: 6px 14px; font: inherit; color: #fff; background: var(--accent); border: 0; border-radius: 6px; cursor: pointer; }
code { font: 12.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 500; background: #f3f4f6; color: #374151; }
.status.ok { background: #ecfdf5; color: #047857; }
.status.wait { background: #fffbeb; color: #b45309; }
.status.bad { background: #fef2f2; color: var(--error); }
ol.timeline { list-style: none; margin: 12px 0 0; padding: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
ol.timeline li { padding: 10px 12px; border-bottom: 1px solid var(--line); }
ol.timeline li:last-child { border-bottom: 0; }
ol.timeline pre { margin-top: 6px; }
.checks { margin: 0 0 16px; padding: 10px 12px; border: 1px solid #fde68a; border-radius: 6px; background: #fffbeb; }
.checks.clean { border-color: #a7f3d0; background: #ecfdf5; }
.checks h2 { font-size: 14px; margin: 0 0 4px; }
ul.findings { margin: 4px 0 0; padding-left: 18px; }
ul.findings li { margin: 4px 0; overflow-wrap: anywhere; }
ul.findings .fix { display: block; color: var(--muted); }
.check-id { font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; padding: 0 4px; border-radius: 4px; background: #fef3c7; color: #92400e; }
@media (max-width: 640px) {
  main { padding: 12px; }
  table.records, table.records tbody, table.records tr, table.records td { display: block; }
  table.records thead { display: none; }
  table.records tr { padding: 6px 0; border-bottom: 1px solid var(--line); }
  table.records td { padding: 2px 12px; border: 0; }
  table.records td::before { content: attr(data-label); display: inline-block; min-width: 92px; color: var(--muted); font-size: 12px; }
  table.records td { overflow-wrap: anywhere; }
  table.records td.time { white-space: normal; }
  table[data-testid="inbox"] td[data-label="Subject"] { order: -1; font-size: 15px; }
  table[data-testid="inbox"] td[data-label="Subject"] a { display: block; padding: 6px 0; }
  table[data-testid="inbox"] tr { display: flex; flex-direction: column; }
}
`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. Everything from an email, a template or the delivery log goes through it. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => ESCAPES[character]);
}

/** The dev inbox's pages, each as a link relative to the page that shows the nav; `current` is that page. */
export interface DevInboxNav {
  inbox: string;
  templates: string;
  deliveryLog: string;
  current: 'inbox' | 'templates' | 'delivery-log';
}

function navBar(nav: DevInboxNav): string {
  const link = (key: DevInboxNav['current'], href: string, label: string) =>
    `<a href="${escapeHtml(href)}" data-testid="nav-${key}"${nav.current === key ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<nav class="pages" aria-label="Dev inbox">${link('inbox', nav.inbox, 'Inbox')} ${link('templates', nav.templates, 'Templates')} ${link('delivery-log', nav.deliveryLog, 'Delivery log')}</nav>`;
}

export function page(title: string, body: string, nav: DevInboxNav): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLES}</style>
</head>
<body>
<main>
${navBar(nav)}
${body}
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * A date as `<time datetime="ISO">`: the page's script shows it in the browser's locale and time zone
 * (Intl); without scripts it reads `2026-12-07 05:39:45 UTC`, the same everywhere.
 */
export function timeOf(date: Date): string {
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC</time>`;
}

/**
 * The email's HTML as the frame shows it. A plain link would navigate inside the frame, where most
 * sites refuse to load, so links default to a new tab, as in a real mail client.
 */
export function emailFrameDocument(html: string): string {
  const base = '<base target="_blank">';
  return /<head\b[^>]*>/i.test(html) ? html.replace(/<head\b[^>]*>/i, (head) => head + base) : base + html;
}

/** `checksCell` gives each row's message-checks cell (HTML): its template's warnings. */
/** `version` changes whenever the list does; the page's script polls with it to update live. */
export function inboxPage(
  emails: CaughtEmail[],
  emailHref: (id: string) => string,
  nav: DevInboxNav,
  checksCell: (email: CaughtEmail) => string = () => '',
  version = 0,
): string {
  const rows = emails
    .map(
      (email) => `<tr data-testid="inbox-row" data-id="${escapeHtml(email.id)}">
<td class="time" data-label="Received">${timeOf(email.receivedAt)}</td>
<td data-label="To" data-testid="inbox-row-to">${escapeHtml(email.to)}</td>
<td data-label="Subject" data-testid="inbox-row-subject"><a href="${escapeHtml(emailHref(email.id))}">${escapeHtml(email.subject || '(no subject)')}</a></td>
<td data-label="Checks" data-testid="inbox-row-checks">${checksCell(email)}</td>
</tr>`,
    )
    .join('\n');
  const list =
    emails.length === 0
      ? '<p class="empty" data-testid="inbox-empty">No emails yet. Emails sent through <code>DevInbox.transport()</code> show here.</p>'
      : `<table class="records" data-testid="inbox">
<thead><tr><th>Received</th><th>To</th><th>Subject</th><th>Checks</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
  return page(
    'Dev inbox',
    `<h1>Dev inbox</h1>
<p class="muted lead" data-live-version="${version}" data-testid="inbox-count">${emails.length} email${emails.length === 1 ? '' : 's'}, newest first. New ones show as they arrive.</p>
${list}`,
    nav,
  );
}

/** `checks` is the message checks' box (HTML) for the email's template. */
export function emailPage(email: CaughtEmail, links: { inbox: string; html: string }, nav: DevInboxNav, checks = ''): string {
  const hasHtml = email.html !== undefined;
  const htmlView = hasHtml
    ? `<iframe title="HTML part" src="${escapeHtml(links.html)}" sandbox="${EMAIL_FRAME_SANDBOX}" data-testid="email-html-frame"></iframe>`
    : '<p class="muted">This email has no HTML part.</p>';
  const textView = email.text !== undefined ? `<pre>${escapeHtml(email.text)}</pre>` : '<p class="muted">This email has no text part.</p>';
  return page(
    email.subject || '(no subject)',
    `<p><a href="${escapeHtml(links.inbox)}" data-testid="back-to-inbox">← Inbox</a></p>
<h1 data-testid="email-subject">${escapeHtml(email.subject || '(no subject)')}</h1>
<dl class="meta">
<dt>From</dt><dd data-testid="email-from">${escapeHtml(email.from)}</dd>
<dt>To</dt><dd data-testid="email-to">${escapeHtml(email.to)}</dd>
<dt>Received</dt><dd>${timeOf(email.receivedAt)}</dd>
</dl>
${checks}
<div class="tabs">
<input type="radio" name="view" id="view-html"${hasHtml ? ' checked' : ''}><label for="view-html" data-testid="tab-html">HTML</label>
<input type="radio" name="view" id="view-text"${hasHtml ? '' : ' checked'}><label for="view-text" data-testid="tab-text">Text</label>
<input type="radio" name="view" id="view-raw"><label for="view-raw" data-testid="tab-raw">Raw source</label>
<section class="panel panel-html" data-testid="view-html">${htmlView}</section>
<section class="panel panel-text" data-testid="view-text">${textView}</section>
<section class="panel panel-raw" data-testid="view-raw"><pre>${escapeHtml(email.raw)}</pre></section>
</div>`,
    nav,
  );
}

function anchorOf(preview: TemplatePreview): string {
  return `template-${preview.name}${preview.locale ? `-${preview.locale}` : ''}`;
}

function titleOf(preview: TemplatePreview): string {
  return `${preview.name}${preview.locale ? ` (${preview.locale})` : ''}`;
}

/** An email's HTML in a sandboxed frame of `width` px. */
export function frame(srcdoc: string, width: number, testId: string): string {
  return `<iframe title="${testId}" width="${width}" height="720" style="width:${width}px" sandbox="${EMAIL_FRAME_SANDBOX}" srcdoc="${escapeHtml(emailFrameDocument(srcdoc))}" data-testid="${testId}"></iframe>`;
}

/** A rendered email as the preview pages show it: its subject, the HTML at two widths, the text part. */
export function renderedEmail(rendered: { subject: string; html: string; text: string }): string {
  return `<p class="subject"><span class="muted">Subject:</span> <strong data-testid="template-subject">${escapeHtml(rendered.subject)}</strong></p>
<div class="frames">
<figure><figcaption>Desktop · 600 px</figcaption>${frame(rendered.html, 600, 'preview-desktop')}</figure>
<figure><figcaption>Mobile · 375 px</figcaption>${frame(rendered.html, 375, 'preview-mobile')}</figure>
</div>
<details><summary>Text part</summary><pre data-testid="template-text">${escapeHtml(rendered.text)}</pre></details>`;
}

function previewSection(preview: TemplatePreview, checks: string): string {
  const origin = preview.builtIn ? '<span class="badge">built-in</span>' : '<span class="badge custom">templates.dir</span>';
  const header = `<h2>${escapeHtml(titleOf(preview))}${origin}</h2>
<p class="file muted">${escapeHtml(preview.file)}</p>
${checks}`;
  const body = preview.rendered
    ? renderedEmail(preview.rendered)
    : `<div class="error-box" role="alert" data-testid="template-error"><strong>This template does not compile.</strong> Fix the file and reload this page.<pre>${escapeHtml(preview.error ?? 'Unknown error')}</pre></div>`;
  return `<section class="preview" id="${escapeHtml(anchorOf(preview))}" data-testid="template-preview" data-template="${escapeHtml(preview.name)}" data-locale="${escapeHtml(preview.locale)}">
${header}
${body}
</section>`;
}

/** `checks` gives the message checks' boxes (HTML): those about every message, and each preview's. */
export function templatesPage(
  previews: TemplatePreview[],
  nav: DevInboxNav,
  checks: { everyMessage: string; of: (preview: TemplatePreview) => string } = { everyMessage: '', of: () => '' },
  draftHref?: string,
): string {
  const draft = draftHref ? ` <a href="${escapeHtml(draftHref)}" data-testid="draft-link">Preview a draft</a> of a stored template (templates.store).` : '';
  const index = previews
    .map((preview) => `<a href="#${escapeHtml(anchorOf(preview))}"${preview.error ? ' class="failed"' : ''}>${escapeHtml(titleOf(preview))}</a>`)
    .join('\n');
  return page(
    'Email templates',
    `<h1>Email templates</h1>
<p class="muted lead">Every template and locale, compiled from disk on each request and rendered with sample data: edit a file and reload.${draft}</p>
<nav class="index">
${index}
</nav>
${checks.everyMessage}
${previews.map((preview) => previewSection(preview, checks.of(preview))).join('\n')}`,
    nav,
  );
}

/** The templates page when no preview can be made at all (no EmailWorkflowModule, an unreadable folder). */
export function templatesUnavailablePage(problem: string, nav: DevInboxNav): string {
  return page(
    'Email templates',
    `<h1>Email templates</h1>
<div class="error-box" role="alert" data-testid="templates-error"><pre>${escapeHtml(problem)}</pre></div>`,
    nav,
  );
}
