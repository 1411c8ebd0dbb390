import type { SampleUser } from '../users.store';
import { Html, html } from './html';

/** What every page needs to draw its frame. */
export interface PageContext {
  /** The signed-in user, if any. */
  user?: SampleUser;
  /** Path of the dev inbox when emails are caught locally (no SMTP_URL), else undefined. */
  devInbox?: string;
  /** Path of the template previews. */
  devTemplates?: string;
}

export type Tone = 'ok' | 'warn' | 'bad';

interface Notice {
  tone: Tone;
  text: string;
  /** A next step the notice asks for. */
  action?: { href: string; label: string };
}

/** Fixed messages shown after a redirect (`?notice=`): nothing a visitor types is echoed. */
export const NOTICES = {
  'email-verified': { tone: 'ok', text: 'Your email address is confirmed.' },
  'email-verified-sign-in': { tone: 'ok', text: 'Your email address is confirmed. Sign in to continue.' },
  'password-changed': { tone: 'ok', text: 'Your password was changed and other sessions were signed out. Sign in with the new password.' },
  'signed-out': { tone: 'ok', text: 'You are signed out.' },
  'signed-in': { tone: 'ok', text: 'You are signed in. We emailed you a note about this sign-in, as we do after every one.' },
  'verification-sent': { tone: 'ok', text: 'A new confirmation link is on its way. Links in older emails no longer work.' },
  'sign-in-required': { tone: 'warn', text: 'Sign in to see your account.' },
  'language-saved': { tone: 'ok', text: 'Saved: your next emails come in the language you chose.' },
  'email-changed': { tone: 'ok', text: 'Your email address is changed: sign in with the new one from now on.' },
  'email-changed-sign-in': { tone: 'ok', text: 'Your email address is changed. Sign in with the new one.' },
  'email-change-reverted': {
    tone: 'warn',
    text: 'Your previous email address is back, and every session of your account was signed out. Whoever changed it may know your password: choose a new one now.',
    action: { href: '/forgot-password', label: 'Choose a new password' },
  },
} as const satisfies Record<string, Notice>;

export type NoticeKey = keyof typeof NOTICES;

export function noticeFrom(value: unknown): NoticeKey | undefined {
  return typeof value === 'string' && Object.hasOwn(NOTICES, value) ? (value as NoticeKey) : undefined;
}

export function layout(ctx: PageContext, title: string, body: Html): string {
  const nav = ctx.user
    ? html`<a href="/account">Account</a>
        <form method="post" action="/sign-out"><button type="submit" class="link">Sign out</button></form>`
    : html`<a href="/sign-in">Sign in</a> <a href="/sign-up">Sign up</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} · Sample App</title>
  <link rel="icon" href="/favicon.ico" type="image/svg+xml">
  <link rel="stylesheet" href="/assets/app.css">
</head>
<body>
  <header class="topbar">
    <a class="brand" href="/">Sample App</a>
    <nav aria-label="Account">${nav}</nav>
  </header>
  <main>
${body}
  </main>
  <footer class="devtools">
    Development tools:
    ${ctx.devInbox ? html`<a href="${ctx.devInbox}">Dev inbox</a>` : html`<span>emails go to SMTP_URL</span>`}
    ${ctx.devTemplates ? html`<a href="${ctx.devTemplates}">Email templates</a>` : ''}
  </footer>
</body>
</html>
`.value;
}

export function notice(tone: Tone, ...lines: Array<string | Html>): Html {
  return html`<div class="notice ${tone}" role="${tone === 'ok' ? 'status' : 'alert'}">${lines.map((line) => html`<p>${line}</p>`)}</div>`;
}

export function noticeOf(key?: NoticeKey): Html | '' {
  if (!key) return '';
  const { tone, text, action } = NOTICES[key] as Notice;
  return action ? notice(tone, text, html`<a class="button" href="${action.href}">${action.label}</a>`) : notice(tone, text);
}

export function errorOf(error?: string): Html | '' {
  return error ? notice('bad', error) : '';
}

/** "Open the dev inbox" when emails are caught here, else the spam-folder hint. */
export function inboxHint(ctx: PageContext): Html {
  return ctx.devInbox
    ? notice('ok', html`This app runs without an SMTP server, so emails are caught locally.`, html`<a href="${ctx.devInbox}">Open the dev inbox</a> to read it.`)
    : html`<p class="small">Nothing after a few minutes? Look in your spam folder.</p>`;
}
