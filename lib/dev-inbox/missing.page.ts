import { DevInboxNav, escapeHtml, page } from './dev-inbox.pages';
import type { PageResponse } from './dev-inbox.routes';

/**
 * Why a missing page is rendered, not thrown: `@HtmlPage()` sets `Content-Type: text/html` before the
 * handler runs, so a thrown NotFoundException reached Nest's exception filter, which answers a JSON
 * object; Express's and Fastify's adapters then saw JSON under an HTML type, logged
 * "Content-Type doesn't match Reply body" and switched the answer to JSON. A handler that sets the status
 * and returns this page answers HTML on both platforms, with nothing logged.
 */
export function missingEmailPage(response: PageResponse, id: string, links: { inbox: string }, nav: DevInboxNav): string {
  response.status(404);
  return page(
    'Email not found',
    `<h1>Email not found</h1>
<div class="error-box" role="alert" data-testid="email-missing"><p>No caught email has the id <code>${escapeHtml(id)}</code>. It was cleared, dropped beyond <code>maxMessages</code>, or caught before the app restarted (the inbox keeps emails in memory).</p></div>
<p><a href="${escapeHtml(links.inbox)}" data-testid="back-to-inbox">← Back to the inbox</a></p>`,
    nav,
  );
}

/** The frame's document when the email is gone or has no HTML part: a line of text, in HTML. */
export function missingFrameDocument(response: PageResponse, problem: string): string {
  response.status(404);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body><p style="font:14px system-ui,sans-serif;color:#6b7280">${escapeHtml(problem)}</p></body></html>`;
}
