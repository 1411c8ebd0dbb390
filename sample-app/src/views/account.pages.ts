import { LANGUAGES } from '../languages';
import type { SampleUser } from '../users.store';
import { html } from './html';
import { errorOf, layout, NoticeKey, noticeOf, PageContext } from './layout';
import { inboxPage, languageSelect } from './pages';

export type AccountContext = PageContext & { user: SampleUser };

/** Per form on the page: what was typed and what was wrong with it. */
export interface AccountValues {
  notice?: NoticeKey;
  newEmail?: string;
  emailError?: string;
}

export function accountPage(ctx: AccountContext, values: AccountValues = {}): string {
  const { user } = ctx;
  const language = LANGUAGES.find(({ tag }) => tag === user.locale)?.label ?? user.locale;
  return layout(
    ctx,
    'Your account',
    html`<h1>Hello, ${user.name}</h1>
    ${noticeOf(values.notice)}
    <dl class="details">
      <dt>Name</dt><dd>${user.name}</dd>
      <dt>Email</dt><dd data-testid="account-email">${user.email}</dd>
      <dt>Status</dt>
      <dd data-testid="email-status">${
        user.emailVerified
          ? html`<span class="badge ok">Email verified</span>`
          : html`<span class="badge warn">Email not verified</span>`
      }</dd>
      <dt>Emails in</dt><dd data-testid="account-language">${language}</dd>
      <dt>Member since</dt><dd data-testid="member-since"><time datetime="${user.createdAt.toISOString()}">${memberSince(user.createdAt)}</time></dd>
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
    <h2>Language of your emails</h2>
    <form class="inline" method="post" action="/account/language">
      ${languageSelect(user.locale)}
      <button type="submit" class="secondary">Save language</button>
    </form>
    <h2>Change your email address</h2>
    <p class="small">We send a link to the new address; your current one keeps working until you click it, and gets a note with a link to undo the change.</p>
    ${errorOf(values.emailError)}
    <form class="inline" method="post" action="/account/email">
      <label>New address <input type="email" name="email" autocomplete="email" maxlength="254" required value="${values.newEmail ?? ''}"></label>
      <button type="submit" class="secondary">Send a confirmation link</button>
    </form>
    <div class="actions">
      <form method="post" action="/sign-out"><button type="submit" class="secondary">Sign out</button></form>
    </div>`,
  );
}

/** After asking for the change: the same page whether or not the new address is free. */
export function emailChangeInboxPage(ctx: PageContext, newEmail: string): string {
  return inboxPage(
    ctx,
    'Check your new inbox',
    html`A link to confirm <strong>${newEmail}</strong> is on its way there, unless that address cannot be used. It works for 1 hour; until you click it, sign in with your current address.`,
  );
}

/** The page the new address's link opens. Only its button's POST changes the address. */
export function confirmEmailChangePage(ctx: PageContext, token: string): string {
  return layout(
    ctx,
    'Confirm your new address',
    html`<h1>Confirm your new email address</h1>
    <p>One more click and this address replaces your current one. You will sign in with it from then on.</p>
    <form class="stack" method="post" action="/confirm-email-change">
      <input type="hidden" name="token" value="${token}">
      <button type="submit">Use my new address</button>
    </form>`,
  );
}

/** The page the old address's "this wasn't me" link opens. Only its button's POST reverts. */
export function revertEmailChangePage(ctx: PageContext, token: string): string {
  return layout(
    ctx,
    'Undo the email change',
    html`<h1>Undo the change to your email address</h1>
    <p>This puts your previous address back and signs out every session of your account, so whoever changed it is signed out too.
    Then choose a new password.</p>
    <form class="stack" method="post" action="/revert-email-change">
      <input type="hidden" name="token" value="${token}">
      <button type="submit">Put my old address back</button>
    </form>`,
  );
}

/** "7 December 2026": the day the account was made, in English as the pages are (UTC, as the server knows no zone). */
export function memberSince(date: Date): string {
  return date.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}
