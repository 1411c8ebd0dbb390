import { html } from './html';
import { errorOf, layout, NoticeKey, noticeOf, PageContext } from './layout';
import { inboxPage } from './pages';

export interface SignInValues {
  notice?: NoticeKey;
  error?: string;
  email?: string;
}

/** Password, or (the second button, which needs no password) a link and code by email. */
export function signInPage(ctx: PageContext, options: SignInValues = {}): string {
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
      <p class="or">No password at hand?</p>
      <button type="submit" class="secondary" formaction="/sign-in/email" formnovalidate>Email me a sign-in link or code</button>
    </form>
    <p class="small"><a href="/forgot-password">Forgot your password?</a> · New here? <a href="/sign-up">Create an account</a>.</p>`,
  );
}

/** The code page's state: a refused code's message, whether that code is used up, whether a new one was just sent. */
export interface CodePageState {
  error?: string;
  usedUp?: boolean;
  resent?: boolean;
}

/**
 * After "Email me a sign-in link or code": the same page whatever the address, with the code form and
 * a "Send me a new code" button (the way out once a code is used up after its wrong tries).
 */
export function signInInboxPage(ctx: PageContext, email: string, state: CodePageState = {}): string {
  const who = html`<strong>${email || 'your address'}</strong>`;
  return inboxPage(
    ctx,
    'Check your inbox',
    state.usedUp
      ? html`The code sent to ${who} can no longer be used. Send yourself a new code: it arrives in a new email, with a new sign-in link.`
      : state.resent
        ? html`If an account uses ${who}, a new email with a sign-in link and a 6-digit code is on its way. Codes in older emails no longer work.`
        : html`If an account uses ${who}, a sign-in link and a 6-digit code are on their way. Either works once, for 15 minutes.`,
    html`<h2>Got the code?</h2>
    ${errorOf(state.error)}
    <form class="stack" method="post" action="/sign-in/code">
      <label>Email <input type="email" name="email" autocomplete="username" required value="${email}"></label>
      <label>Code <span class="hint">The 6 digits we sent you.</span>
        <input type="text" name="code" class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6,10}" maxlength="10" required></label>
      <button type="submit">Sign in with this code</button>
      <p class="or">No code, or it stopped working?</p>
      <input type="hidden" name="again" value="1">
      <button type="submit" class="secondary" formaction="/sign-in/email" formnovalidate>Send me a new code</button>
    </form>`,
  );
}

/** The page a sign-in link opens. It uses nothing up, so a mail scanner fetching it signs nobody in. */
export function signInLinkPage(ctx: PageContext, token: string): string {
  return layout(
    ctx,
    'Sign in',
    html`<h1>Sign in to Sample App</h1>
    <p>One click and you are in. The link then stops working.</p>
    <form class="stack" method="post" action="/sign-in/link">
      <input type="hidden" name="token" value="${token}">
      <button type="submit">Sign me in</button>
    </form>`,
  );
}

/** Where the new-sign-in email's "this wasn't me" button leads (links.secureAccount). */
export function secureAccountPage(ctx: PageContext): string {
  return layout(
    ctx,
    'Secure your account',
    html`<h1>Secure your account</h1>
    <p>If you did not sign in just now, someone else may know your password or read your email.</p>
    <ol>
      <li>Choose a new password: this signs out every session, theirs included.</li>
      <li>Change the password of your email account too, if it could be theirs.</li>
    </ol>
    <div class="actions"><a class="button" href="/forgot-password">Choose a new password</a></div>`,
  );
}
