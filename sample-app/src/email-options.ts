import { Logger } from '@nestjs/common';
import type { EmailUserDirectory, EmailWorkflowModuleOptions, TokenStore } from 'nestjs-email-workflow';
import type { DevInbox } from 'nestjs-email-workflow/dev-inbox';
import { CODE_MAX_ATTEMPTS } from './code-tries';
import { DEVELOPMENT_SECRET, SampleSettings, StartupProblem } from './settings';

/**
 * The library's options from the sample's settings. Embedded defaults: no SMTP_URL → the dev
 * inbox's catcher is the transport (in development only); no REDIS_URL → the queue in this process and
 * the tokens in `embeddedTokens` (the sample's database) under its secret.
 */
export function emailWorkflowOptions(
  settings: SampleSettings,
  users: EmailUserDirectory,
  inbox?: DevInbox,
  embeddedTokens?: { store: TokenStore; secret: string },
): EmailWorkflowModuleOptions {
  if (!inbox && !settings.smtpUrl) {
    throw new StartupProblem(
      `NODE_ENV is ${process.env.NODE_ENV === undefined ? 'unset' : JSON.stringify(process.env.NODE_ENV)}, so the sample has no dev inbox to catch its emails. ` +
        'Fix: set SMTP_URL=smtp://user:pass@host:587 to send them, or NODE_ENV=development to catch them.',
    );
  }
  const logger = new Logger('Sample');
  let secret = settings.secret ?? embeddedTokens?.secret;
  if (settings.redisUrl && !secret) {
    logger.warn(
      'EMAIL_WORKFLOW_SECRET is not set: using a fixed, public development-only secret. ' +
        'Set EMAIL_WORKFLOW_SECRET to at least 32 random bytes anywhere but your own machine.',
    );
    secret = DEVELOPMENT_SECRET;
  }
  if (!settings.smtpUrl) logger.log('No SMTP_URL set: emails are caught by the dev inbox; nothing is delivered');
  return {
    transport: settings.smtpUrl ?? (inbox as DevInbox).transport(),
    from: settings.from,
    brand: { name: 'Sample App' },
    links: {
      verifyEmail: `${settings.appUrl}/verify-email?token={token}`,
      resetPassword: `${settings.appUrl}/reset-password?token={token}`,
      forgotPassword: `${settings.appUrl}/forgot-password`,
      signIn: `${settings.appUrl}/sign-in/link?token={token}`,
      confirmEmailChange: `${settings.appUrl}/confirm-email-change?token={token}`,
      revertEmailChange: `${settings.appUrl}/revert-email-change?token={token}`,
      secureAccount: `${settings.appUrl}/secure-account`,
    },
    // The sign-in email carries a link and a code: the code is typed on the device that asked for it,
    // the link suits opening the email there.
    flows: { signIn: { delivery: 'both' } },
    // Stated here because the code page counts the tries too, to say when a code is used up.
    tokens: { code: { maxAttempts: CODE_MAX_ATTEMPTS }, ...(embeddedTokens && { store: embeddedTokens.store }) },
    queue: settings.redisUrl ? { redis: settings.redisUrl } : false,
    ...(secret && { secret }),
    // UsersStore also implements updateEmail, which the email change needs (see docs/user-directory.md).
    users,
  };
}
