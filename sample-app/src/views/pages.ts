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

type Tone = 'ok' | 'warn' | 'bad';

/** Why a link from an email cannot be used, as `inspectToken` and `InvalidTokenError` report it. */
export type LinkProblem = 'unknown' | 'expired' | 'used' | 'wrong-purpose';

export type LinkPurpose = 'verify-email' | 'reset-password';

/** Fixed messages shown after a redirect (`?notice=`): nothing a visitor types is echoed. */
export const NOTICES = {
  'email-verified': { tone: 'ok', text: 'Your email address is confirmed.' },
  'email-verified-sign-in': { tone: 'ok', text: 'Your email address is confirmed. Sign in to continue.' },
  'password-changed': { tone: 'ok', text: 'Your password was changed and other sessions were signed out. Sign in with the new password.' },
  'signed-out': { tone: 'ok', text: 'You are signed out.' },
  'verification-sent': { tone: 'ok', text: 'A new confirmation link is on its way. Links in older emails no longer work.' },
  'sign-in-required': { tone: 'warn', text: 'Sign in to see your account.' },
} as const satisfies Record<string, { tone: Tone; text: string }>;

export type NoticeKey = keyof typeof NOTICES;

export function noticeFrom(value: unknown): NoticeKey | undefined {
  return typeof value === 'string' && Object.hasOwn(NOTICES, value) ? (value as NoticeKey) : undefined;
}

function layout(ctx: PageContext, title: string, body: Html): string {
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

function notice(tone: Tone, ...lines: Array<string | Html>): Html {
  return html`<div class="notice ${tone}" role="${tone === 'ok' ? 'status' : 'alert'}">${lines.map((line) => html`<p>${line}</p>`)}</div>`;
}

function noticeOf(key?: NoticeKey): Html | '' {
  return key ? notice(NOTICES[key].tone, NOTICES[key].text) : '';
}

function errorOf(error?: string): Html | '' {
  return error ? notice('bad', error) : '';
}

export function homePage(ctx: PageContext): string {
  const actions = ctx.user
    ? html`<a class="button" href="/account">Go to your account</a>`
    : html`<a class="button" href="/sign-up">Create an account</a> <a class="button secondary" href="/sign-in">Sign in</a>`;
  return layout(
    ctx,
    'Welcome',
    html`<h1>Sign-up emails, end to end</h1>
    <p class="lead">A small app over <strong>nestjs-email-workflow</strong>: sign up, confirm your address from the email,
    sign in, and reset a forgotten password.</p>
    ${ctx.devInbox ? html`<p>No email leaves this machine: every message lands in the <a href="${ctx.devInbox}">dev inbox</a>.</p>` : ''}
    <div class="actions">${actions}</div>`,
  );
}

export interface SignUpValues {
  name?: string;
  email?: string;
}

export function signUpPage(ctx: PageContext, values: SignUpValues = {}, error?: string): string {
  return layout(
    ctx,
    'Sign up',
    html`<h1>Create your account</h1>
    <p class="lead">We will send you a link to confirm your email address.</p>
    ${errorOf(error)}
    <form class="stack" method="post" action="/sign-up">
      <label>Name <input type="text" name="name" autocomplete="name" maxlength="100" required value="${values.name ?? ''}"></label>
      <label>Email <input type="email" name="email" autocomplete="email" maxlength="254" required value="${values.email ?? ''}"></label>
      <label>Password <span class="hint">At least 8 characters.</span>
        <input type="password" name="password" autocomplete="new-password" minlength="8" maxlength="256" required></label>
      <button type="submit">Sign up</button>
    </form>
    <p class="small">Already have an account? <a href="/sign-in">Sign in</a>.</p>`,
  );
}

/** After sign-up, a re-sent confirmation or a reset request: the same page whatever the address. */
export function checkInboxPage(ctx: PageContext, purpose: LinkPurpose, email: string): string {
  const what =
    purpose === 'verify-email'
      ? html`If <strong>${email}</strong> needs confirming, a link to confirm it is on its way. It works for 24 hours.`
      : html`If an account uses <strong>${email}</strong>, a link to choose a new password is on its way. It works for 1 hour.`;
  return layout(
    ctx,
    'Check your inbox',
    html`<h1>Check your inbox</h1>
    <p>${what}</p>
    ${
      ctx.devInbox
        ? notice('ok', html`This app runs without an SMTP server, so emails are caught locally.`, html`<a href="${ctx.devInbox}">Open the dev inbox</a> to read it.`)
        : html`<p class="small">Nothing after a few minutes? Look in your spam folder.</p>`
    }
    <div class="actions">
      ${ctx.devInbox ? html`<a class="button" href="${ctx.devInbox}">Open the dev inbox</a>` : ''}
      <a class="button secondary" href="/sign-in">Sign in</a>
    </div>`,
  );
}

/** The page a verification link opens. It uses nothing up: only the button's POST does. */
export function confirmEmailPage(ctx: PageContext, token: string): string {
  return layout(
    ctx,
    'Confirm your email',
    html`<h1>Confirm your email address</h1>
    <p>One more click and your address is confirmed.</p>
    <form class="stack" method="post" action="/verify-email">
      <input type="hidden" name="token" value="${token}">
      <button type="submit">Confirm my email</button>
    </form>`,
  );
}

const PROBLEMS: Record<LinkProblem, { title: string; text: Record<LinkPurpose, string> }> = {
  unknown: {
    title: 'This link is not valid',
    text: {
      'verify-email': 'It may be incomplete: copy the whole link from the email. Or ask for a new one below.',
      'reset-password': 'It may be incomplete: copy the whole link from the email. Or ask for a new one.',
    },
  },
  expired: {
    title: 'This link has expired',
    text: {
      'verify-email': 'Confirmation links work for 24 hours, and a newer email replaces older links. Ask for a new one below.',
      'reset-password': 'Reset links work for 1 hour, and a newer email or a password change replaces older links. Ask for a new one.',
    },
  },
  used: {
    title: 'This link was already used',
    text: {
      'verify-email': 'Each link works once. Your address is probably confirmed already: sign in to check.',
      'reset-password': 'Each reset link works once. If you still need to change your password, ask for a new link.',
    },
  },
  'wrong-purpose': {
    title: 'This link is for something else',
    text: {
      'verify-email': 'It is not a confirmation link. Use the link from the "Confirm your email" message.',
      'reset-password': 'It is not a password reset link. Use the link from the password reset message.',
    },
  },
};

/** A link from an email that cannot be used: what happened and what to do next. */
export function linkProblemPage(ctx: PageContext, purpose: LinkPurpose, problem: LinkProblem): string {
  const { title, text } = PROBLEMS[problem];
  const next =
    purpose === 'verify-email'
      ? html`<form class="stack" method="post" action="/resend-verification">
          <label>Email <input type="email" name="email" autocomplete="email" required value="${ctx.user?.email ?? ''}"></label>
          <div class="actions"><button type="submit">Send a new confirmation link</button> <a href="/sign-in">Sign in</a></div>
        </form>`
      : html`<div class="actions"><a class="button" href="/forgot-password">Ask for a new link</a> <a href="/sign-in">Sign in</a></div>`;
  return layout(
    ctx,
    title,
    html`<h1 data-link-problem="${problem}">${title}</h1>
    ${notice(problem === 'used' ? 'warn' : 'bad', text[purpose])}
    ${next}`,
  );
}

export function signInPage(ctx: PageContext, options: { notice?: NoticeKey; error?: string; email?: string } = {}): string {
  return layout(
    ctx,
    'Sign in',
    html`<h1>Sign in</h1>
    ${noticeOf(options.notice)}
    ${errorOf(options.error)}
    <form class="stack" method="post" action="/sign-in">
      <label>Email <input type="email" name="email" autocomplete="username" required value="${options.email ?? ''}"></label>
      <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
    </form>
    <p class="small"><a href="/forgot-password">Forgot your password?</a> · New here? <a href="/sign-up">Create an account</a>.</p>`,
  );
}

export function accountPage(ctx: PageContext & { user: SampleUser }, key?: NoticeKey): string {
  const { user } = ctx;
  return layout(
    ctx,
    'Your account',
    html`<h1>Hello, ${user.name}</h1>
    ${noticeOf(key)}
    <dl class="details">
      <dt>Name</dt><dd>${user.name}</dd>
      <dt>Email</dt><dd>${user.email}</dd>
      <dt>Status</dt>
      <dd data-testid="email-status">${
        user.emailVerified
          ? html`<span class="badge ok">Email verified</span>`
          : html`<span class="badge warn">Email not verified</span>`
      }</dd>
      <dt>Member since</dt><dd>${user.createdAt.toUTCString()}</dd>
    </dl>
    ${
      user.emailVerified
        ? ''
        : html`<div class="notice warn">
          <p>Confirm your address with the link we emailed you. No email, or the link expired?</p>
          <form method="post" action="/resend-verification">
            <input type="hidden" name="email" value="${user.email}">
            <button type="submit" class="secondary">Send a new confirmation link</button>
          </form>
        </div>`
    }
    <div class="actions">
      <form method="post" action="/sign-out"><button type="submit" class="secondary">Sign out</button></form>
    </div>`,
  );
}

export function forgotPasswordPage(ctx: PageContext, options: { email?: string; error?: string } = {}): string {
  return layout(
    ctx,
    'Forgot your password?',
    html`<h1>Forgot your password?</h1>
    <p class="lead">Enter your email address and we will send you a link to choose a new password.</p>
    ${errorOf(options.error)}
    <form class="stack" method="post" action="/forgot-password">
      <label>Email <input type="email" name="email" autocomplete="email" required value="${options.email ?? ''}"></label>
      <button type="submit">Send me a reset link</button>
    </form>
    <p class="small">Remembered it? <a href="/sign-in">Sign in</a>.</p>`,
  );
}

export function resetPasswordPage(ctx: PageContext, token: string, error?: string): string {
  return layout(
    ctx,
    'Choose a new password',
    html`<h1>Choose a new password</h1>
    ${errorOf(error)}
    <form class="stack" method="post" action="/reset-password">
      <input type="hidden" name="token" value="${token}">
      <label>New password <span class="hint">At least 8 characters.</span>
        <input type="password" name="password" autocomplete="new-password" minlength="8" maxlength="256" required></label>
      <button type="submit">Change my password</button>
    </form>`,
  );
}

/** Any other outcome worth a page of its own (too many requests, an email that could not be queued). */
export function messagePage(ctx: PageContext, title: string, text: string, tone: Tone = 'bad'): string {
  return layout(
    ctx,
    title,
    html`<h1>${title}</h1>
    ${notice(tone, text)}
    <div class="actions"><a class="button secondary" href="/">Back to the start</a></div>`,
  );
}
