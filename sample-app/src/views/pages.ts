import { LANGUAGES } from '../languages';
import { Html, html } from './html';
import { errorOf, inboxHint, layout, notice, PageContext, Tone } from './layout';

export function homePage(ctx: PageContext): string {
  const actions = ctx.user
    ? html`<a class="button" href="/account">Go to your account</a>`
    : html`<a class="button" href="/sign-up">Create an account</a> <a class="button secondary" href="/sign-in">Sign in</a>`;
  return layout(
    ctx,
    'Welcome',
    html`<h1>Sign-up emails, end to end</h1>
    <p class="lead">A small app over <strong>nestjs-email-workflow</strong>: sign up, confirm your address from the email,
    sign in with a password or with a link or code by email, change your address (and undo it from the old inbox),
    reset a forgotten password, and get your emails in one of five languages.</p>
    ${ctx.devInbox ? html`<p>No email leaves this machine: every message lands in the <a href="${ctx.devInbox}">dev inbox</a>.</p>` : ''}
    <div class="actions">${actions}</div>`,
  );
}

export interface SignUpValues {
  name?: string;
  email?: string;
  locale?: string;
}

/** The language picker: it sets the language of the user's emails (these pages stay in English). */
export function languageSelect(selected: string | undefined): Html {
  return html`<label>Language <span class="hint">Of the messages we send you. These pages stay in English.</span>
        <select name="locale">${LANGUAGES.map(({ tag, label }) => html`<option value="${tag}" lang="${tag}"${tag === selected ? html` selected` : ''}>${label}</option>`)}</select></label>`;
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
      ${languageSelect(values.locale)}
      <button type="submit">Sign up</button>
    </form>
    <p class="small">Already have an account? <a href="/sign-in">Sign in</a>.</p>`,
  );
}

export type CheckInboxFor = 'verify-email' | 'reset-password';

/** After sign-up, a re-sent confirmation or a reset request: the same page whatever the address. */
export function checkInboxPage(ctx: PageContext, purpose: CheckInboxFor, email: string): string {
  return inboxPage(
    ctx,
    'Check your inbox',
    purpose === 'verify-email'
      ? html`If <strong>${email}</strong> needs confirming, a link to confirm it is on its way. It works for 24 hours.`
      : html`If an account uses <strong>${email}</strong>, a link to choose a new password is on its way. It works for 1 hour.`,
  );
}

/** "An email is on its way": what it holds, where to read it, and anything to do meanwhile (`then`). */
export function inboxPage(ctx: PageContext, title: string, what: Html, then?: Html): string {
  return layout(
    ctx,
    title,
    html`<h1>${title}</h1>
    <p>${what}</p>
    ${inboxHint(ctx)}
    ${then ?? ''}
    <div class="actions">
      ${ctx.devInbox ? html`<a class="button" href="${ctx.devInbox}">Open the dev inbox</a>` : ''}
      <a class="button secondary" href="${ctx.user ? '/account' : '/sign-in'}">${ctx.user ? 'Your account' : 'Sign in'}</a>
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

/** The page for a request the app could not answer (404, 413, 400): what happened and a way home. */
export function errorPage(ctx: PageContext, title: string, text: string): string {
  return layout(
    ctx,
    title,
    html`<h1>${title}</h1>
    <p>${text}</p>
    <div class="actions"><a class="button" href="/">Go to the home page</a></div>`,
  );
}
