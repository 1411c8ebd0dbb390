import type { DeliveryEventType, DeliveryRecord, DeliveryStep } from '../delivery-log';
import { DevInboxNav, escapeHtml, page, timeOf } from './dev-inbox.pages';

const TITLE = 'Delivery log';
const SEND_EXAMPLE = "await emails.send({ template: 'test-email', to: 'ada@example.com' })";

/** How a status reads at a glance: done, still under way, gone wrong, or stopped on purpose. */
const STATUS_CLASS: Record<DeliveryEventType, string> = {
  queued: 'wait',
  retrying: 'wait',
  delayed: 'wait',
  sent: 'ok',
  delivered: 'ok',
  failed: 'bad',
  bounced: 'bad',
  complained: 'bad',
  unsubscribed: '',
  cancelled: '',
};

/** Links of the delivery log's pages, each relative to the page that shows it. */
export interface DeliveryLogLinks {
  /** The list, unfiltered (and the search form's target). */
  list: string;
  /** One email's timeline. */
  record(messageId: string): string;
  /** The list of one address's emails. */
  search(to: string): string;
}

/** What the list shows: the most recent emails, or one address's (`to`), or why the search cannot run. */
export interface DeliveryLogList {
  records: DeliveryRecord[];
  to?: string;
  problem?: string;
}

function statusBadge(status: DeliveryEventType): string {
  return `<span class="status ${STATUS_CLASS[status] ?? ''}" data-status="${escapeHtml(status)}">${escapeHtml(status)}</span>`;
}

/** The queue id of the last try the server accepted, to look the email up in the server's own log. */
function queueIdOf(record: DeliveryRecord): string | undefined {
  return record.steps.filter((step) => step.event === 'sent' && step.queueId !== undefined).pop()?.queueId;
}

/** When the email was queued; when it was cancelled instead, that time. */
function startedAt(record: DeliveryRecord): Date | undefined {
  return record.queuedAt ?? record.steps[0]?.at;
}

function row(record: DeliveryRecord, links: DeliveryLogLinks): string {
  const queueId = queueIdOf(record);
  const at = startedAt(record);
  return `<tr data-testid="log-row" data-message-id="${escapeHtml(record.messageId)}">
<td class="time" data-label="Queued">${at ? timeOf(at) : ''}</td>
<td data-label="To" data-testid="log-row-to">${escapeHtml(record.to)}</td>
<td data-label="Template" data-testid="log-row-template"><a href="${escapeHtml(links.record(record.messageId))}">${escapeHtml(record.template)}</a></td>
<td data-label="Status" data-testid="log-row-status">${statusBadge(record.status)}</td>
<td data-label="Queue id" data-testid="log-row-queue-id">${queueId === undefined ? '<span class="muted">—</span>' : `<code>${escapeHtml(queueId)}</code>`}</td>
</tr>`;
}

function emptyState(view: DeliveryLogList, links: DeliveryLogLinks): string {
  if (view.to === undefined) {
    return `<p class="empty" data-testid="log-empty">No emails yet. Send one, e.g. <code>${escapeHtml(SEND_EXAMPLE)}</code> with <code>EmailWorkflowService</code>, then reload.</p>`;
  }
  return `<p class="empty" data-testid="log-empty">No emails to ${escapeHtml(view.to)} in the log. The search matches the whole address as the app sent it (letter case aside): check it, or <a href="${escapeHtml(links.list)}">show all emails</a>.</p>`;
}

function searchForm(view: DeliveryLogList, links: DeliveryLogLinks): string {
  return `<form class="search" method="get" action="${escapeHtml(links.list)}" role="search" data-testid="log-search">
<label for="log-to">Recipient</label>
<input id="log-to" name="to" type="search" inputmode="email" autocomplete="off" spellcheck="false" placeholder="ada@example.com" value="${escapeHtml(view.to ?? '')}">
<button type="submit">Search</button>
</form>`;
}

export function deliveryLogPage(view: DeliveryLogList, links: DeliveryLogLinks, nav: DevInboxNav): string {
  const { records, to, problem } = view;
  const count = `${records.length} email${records.length === 1 ? '' : 's'}`;
  const lead =
    to === undefined
      ? `The ${count} most recently queued, newest first: what the workflow did with each and what the server answered. Reload to see new ones.`
      : `${count} to <strong data-testid="log-searched">${escapeHtml(to)}</strong>${records.length > 1 ? ', newest first' : ''}. <a href="${escapeHtml(links.list)}" data-testid="log-show-all">Show all emails</a>`;
  const list =
    problem !== undefined
      ? `<div class="error-box" role="alert" data-testid="log-problem">${escapeHtml(problem)}</div>`
      : records.length === 0
        ? emptyState(view, links)
        : `<table class="records" data-testid="log">
<thead><tr><th>Queued</th><th>To</th><th>Template</th><th>Status</th><th>Queue id</th></tr></thead>
<tbody>
${records.map((record) => row(record, links)).join('\n')}
</tbody>
</table>`;
  return page(
    TITLE,
    `<h1>${TITLE}</h1>
<p class="muted lead">${problem === undefined ? lead : 'Search by the recipient’s address.'}</p>
${searchForm(view, links)}
${list}`,
    nav,
  );
}

/** A step's facts as HTML, each value escaped. */
function stepDetails(step: DeliveryStep): string {
  const codes = [step.responseCode, step.enhancedCode].filter((code) => code !== undefined).join(' ');
  const facts = [
    step.attempt !== undefined ? `try ${escapeHtml(String(step.attempt))}` : '',
    codes ? escapeHtml(codes) : '',
    step.queueId !== undefined ? `queue id <code data-testid="step-queue-id">${escapeHtml(step.queueId)}</code>` : '',
    step.durationMs !== undefined ? `${escapeHtml(String(step.durationMs))} ms` : '',
    step.reason !== undefined ? `reason: ${escapeHtml(step.reason)}` : '',
    step.suppressed !== undefined ? (step.suppressed ? 'address suppressed' : 'address not suppressed') : '',
  ].filter(Boolean);
  return facts.length === 0 ? '' : ` <span class="muted">${facts.join(' · ')}</span>`;
}

function stepItem(step: DeliveryStep): string {
  const reply = step.reply === undefined ? '' : `<pre data-testid="step-reply">${escapeHtml(step.reply)}</pre>`;
  return `<li data-testid="step" data-event="${escapeHtml(step.event)}">${timeOf(step.at)} ${statusBadge(step.event)}${stepDetails(step)}${reply}</li>`;
}

/** One email's timeline. `caught` links to the email as the dev inbox caught it, when it still holds it. */
export function deliveryRecordPage(record: DeliveryRecord, links: DeliveryLogLinks & { caught?: string }, nav: DevInboxNav): string {
  const at = startedAt(record);
  const meta = [
    ['To', `<a href="${escapeHtml(links.search(record.to))}" data-testid="record-to">${escapeHtml(record.to)}</a>`],
    ['Message-ID', `<code data-testid="record-message-id">${escapeHtml(record.messageId)}</code>`],
    ['Status', `<span data-testid="record-status">${statusBadge(record.status)}</span>`],
    ['Queued', at ? timeOf(at) : ''],
    ...(record.tenant !== undefined ? [['Tenant', escapeHtml(record.tenant)]] : []),
    ...(record.locale !== undefined ? [['Locale', escapeHtml(record.locale)]] : []),
    ...(links.caught !== undefined ? [['Caught', `<a href="${escapeHtml(links.caught)}" data-testid="record-caught">Open it in the dev inbox</a>`]] : []),
  ];
  return page(
    `${record.template} to ${record.to}`,
    `<p><a href="${escapeHtml(links.list)}" data-testid="back-to-log">← ${TITLE}</a></p>
<h1 data-testid="record-template">${escapeHtml(record.template)}</h1>
<dl class="meta">
${meta.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('\n')}
</dl>
<h2>Timeline</h2>
<ol class="timeline" data-testid="timeline">
${record.steps.map(stepItem).join('\n')}
</ol>`,
    nav,
  );
}

/** Answered with status 404: no record has this Message-ID (or none was given). */
export function deliveryRecordMissingPage(messageId: string | undefined, links: DeliveryLogLinks, nav: DevInboxNav): string {
  const which = messageId ? `the Message-ID <code>${escapeHtml(messageId)}</code>` : 'no Message-ID (<code>?id=</code> is missing)';
  return page(
    'Not in the delivery log',
    `<p><a href="${escapeHtml(links.list)}" data-testid="back-to-log">← ${TITLE}</a></p>
<h1>Not in the delivery log</h1>
<p class="empty" data-testid="record-missing">No email has ${which}. It may be from before a restart (without Redis the log is kept in memory), older than <code>deliveryLog.retention</code> (30 days by default), or mistyped: open it from the list.</p>`,
    nav,
  );
}

/** The list when there is no log to read: no EmailWorkflowModule, or the log's store failed. */
export function deliveryLogUnavailablePage(problem: string, nav: DevInboxNav): string {
  return page(
    TITLE,
    `<h1>${TITLE}</h1>
<div class="error-box" role="alert" data-testid="log-error"><pre>${escapeHtml(problem)}</pre></div>`,
    nav,
  );
}
