import type { InvalidTokenReason } from 'nestjs-email-workflow';
import { html, Html } from './html';
import { layout, notice, PageContext } from './layout';

/** What a link from one of the sample's emails is for (the library's token purposes). */
export type LinkPurpose = 'verify-email' | 'reset-password' | 'sign-in' | 'confirm-email-change' | 'revert-email-change';

/** Why a link cannot be used, as `inspectToken` and `InvalidTokenError` report it for links. */
type LinkProblem = 'unknown' | 'expired' | 'used' | 'wrong-purpose';

const TITLES: Record<LinkProblem, string> = {
  unknown: 'This link is not valid',
  expired: 'This link has expired',
  used: 'This link was already used',
  'wrong-purpose': 'This link is for something else',
};

const INCOMPLETE = 'It may be incomplete: copy the whole link from the email.';

/** Per purpose: what each problem means for that link, in a sentence or two that says what to do. */
const TEXTS: Record<LinkPurpose, Record<LinkProblem, string>> = {
  'verify-email': {
    unknown: `${INCOMPLETE} Or ask for a new one below.`,
    expired: 'Confirmation links work for 24 hours, and a newer email replaces older links. Ask for a new one below.',
    used: 'Each link works once. Your address is probably confirmed already: sign in to check.',
    'wrong-purpose': 'It is not a confirmation link. Use the link from the "Confirm your email" message.',
  },
  'reset-password': {
    unknown: `${INCOMPLETE} Or ask for a new one.`,
    expired: 'Reset links work for 1 hour, and a newer email or a password change replaces older links. Ask for a new one.',
    used: 'Each reset link works once. If you still need to change your password, ask for a new link.',
    'wrong-purpose': 'It is not a password reset link. Use the link from the password reset message.',
  },
  'sign-in': {
    unknown: `${INCOMPLETE} Or ask for a new one.`,
    expired: 'Sign-in links work for 15 minutes, and stop once the code from the same email is used or a newer email is sent. Ask for a new one.',
    used: 'Each sign-in link works once, and so does its code. Ask for a new link to sign in again.',
    'wrong-purpose': 'It is not a sign-in link. Use the link from the "Sign in" message.',
  },
  'confirm-email-change': {
    unknown: `${INCOMPLETE} Or ask for the change again from your account.`,
    expired: 'Confirmation links work for 1 hour. Ask for the change again from your account.',
    used: 'Each link works once: your new address is probably in place already. Sign in to check.',
    'wrong-purpose': 'It is not an email-change link. Use the link from the message sent to your new address.',
  },
  'revert-email-change': {
    unknown: `${INCOMPLETE} If someone else changed your address, choose a new password with your old address.`,
    expired: 'This link works for 7 days after the change. If someone else changed your address, choose a new password with your old address.',
    used: 'Your previous address is back already. If you have not chosen a new password since, do it now.',
    'wrong-purpose': 'It is not the "this wasn\'t me" link. Use the link from the message about the change to your address.',
  },
};

function nextStep(ctx: PageContext, purpose: LinkPurpose): Html {
  switch (purpose) {
    case 'verify-email':
      return html`<form class="stack" method="post" action="/resend-verification">
          <label>Email <input type="email" name="email" autocomplete="email" required value="${ctx.user?.email ?? ''}"></label>
          <div class="actions"><button type="submit">Send a new confirmation link</button> <a href="/sign-in">Sign in</a></div>
        </form>`;
    case 'reset-password':
      return html`<div class="actions"><a class="button" href="/forgot-password">Ask for a new link</a> <a href="/sign-in">Sign in</a></div>`;
    case 'sign-in':
      return html`<div class="actions"><a class="button" href="/sign-in">Ask for a new link</a></div>`;
    case 'confirm-email-change':
      return html`<div class="actions"><a class="button" href="/account">Go to your account</a></div>`;
    case 'revert-email-change':
      return html`<div class="actions"><a class="button" href="/forgot-password">Choose a new password</a> <a href="/sign-in">Sign in</a></div>`;
  }
}

/** A link from an email that cannot be used: what happened and what to do next. */
export function linkProblemPage(ctx: PageContext, purpose: LinkPurpose, reason: InvalidTokenReason): string {
  // A link is never refused for a code's reason; anything else we do not know reads as not valid.
  const problem: LinkProblem = Object.hasOwn(TITLES, reason) ? (reason as LinkProblem) : 'unknown';
  const title = TITLES[problem];
  return layout(
    ctx,
    title,
    html`<h1 data-link-problem="${problem}">${title}</h1>
    ${notice(problem === 'used' ? 'warn' : 'bad', TEXTS[purpose][problem])}
    ${nextStep(ctx, purpose)}`,
  );
}
