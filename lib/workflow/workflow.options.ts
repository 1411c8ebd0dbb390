import { OptionsResolution, resolveUnless } from '../errors/options.resolution';
import type { HtmlEncoding } from '../queue/message.composer';
import { mailboxAddress } from '../transport/email-address';
import type { EmailUserDirectory } from './user-directory';

/** Absolute URL templates of the pages the emails link to. `{token}` is replaced per email. */
export interface LinkOptions {
  /** @example 'https://app.example.com/verify-email?token={token}' */
  verifyEmail: string;
  /** @example 'https://app.example.com/reset-password?token={token}' */
  resetPassword: string;
  /**
   * The page where a user asks for a reset link, without `{token}`: the password-changed email links
   * to it for someone who did not change their password. @default the origin of `resetPassword`
   * @example 'https://app.example.com/forgot-password'
   */
  forgotPassword?: string;
  /** Passwordless sign-in; required when `flows.signIn` is set (unless its delivery is 'code'). @example 'https://app.example.com/sign-in/complete?token={token}' */
  signIn?: string;
  /** Sent to the new address of an email change; required with `flows.changeEmail`. @example 'https://app.example.com/email/confirm?token={token}' */
  confirmEmailChange?: string;
  /** "This wasn't me", sent to the current address of an email change; required with `flows.changeEmail`. @example 'https://app.example.com/email/revert?token={token}' */
  revertEmailChange?: string;
  /**
   * Where the new-sign-in notice sends someone who did not sign in, without `{token}`.
   * @default `forgotPassword`, else the origin of `resetPassword`
   */
  secureAccount?: string;
}

/** The module options the workflow owns. */
export interface WorkflowOptions {
  /** Sender, with an optional display name. @example 'Acme <no-reply@acme.com>' */
  from: string;
  /** Address replies should go to, when not `from`. */
  replyTo?: string;
  /** Content-Transfer-Encoding of the HTML part (the text part is chosen by its content). @default 'base64' */
  htmlEncoding?: HtmlEncoding;
  links: LinkOptions;
  /** Your user store, for the verification and reset flows. Or provide `EMAIL_USER_DIRECTORY`. */
  users?: EmailUserDirectory;
}

/** What the service and the account flows need of the options. */
export interface WorkflowSettings {
  from: string;
  replyTo?: string;
  htmlEncoding: HtmlEncoding;
  /** The bare address of `from`, e.g. for MAIL FROM and Message-IDs. */
  senderAddress: string;
  links: LinkOptions;
  /** From the options; `EMAIL_USER_DIRECTORY` is the fallback. */
  users?: EmailUserDirectory;
}

/** Injection token of the resolved `WorkflowSettings`. */
export const WORKFLOW_SETTINGS = 'EMAIL_WORKFLOW:WORKFLOW_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see errors/options.validator.ts).
function validation(): typeof import('./workflow.options-validation') {
  return require('./workflow.options-validation') as typeof import('./workflow.options-validation');
}

/** Checks `from`, `replyTo`, `htmlEncoding`, `links` and `users`. */
export function resolveWorkflowOptions(options: WorkflowOptions): OptionsResolution<WorkflowSettings> {
  return resolveUnless(validation().workflowOptionsProblems(options), () => ({
    from: options.from,
    replyTo: options.replyTo,
    htmlEncoding: options.htmlEncoding ?? 'base64',
    senderAddress: mailboxAddress(options.from),
    links: options.links,
    users: options.users,
  }));
}
