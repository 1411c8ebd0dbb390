import { OptionsResolution, resolveUnless } from '../options';
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
  links: LinkOptions;
  /** Your user store, for the verification and reset flows. Or provide `EMAIL_USER_DIRECTORY`. */
  users?: EmailUserDirectory;
}

/** What the service and the account flows need of the options. */
export interface WorkflowSettings {
  links: LinkOptions;
  /** From the options; `EMAIL_USER_DIRECTORY` is the fallback. */
  users?: EmailUserDirectory;
}

/** Injection token of the resolved `WorkflowSettings`. */
export const WORKFLOW_SETTINGS = 'EMAIL_WORKFLOW:WORKFLOW_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./workflow.options-validation') {
  return require('./workflow.options-validation') as typeof import('./workflow.options-validation');
}

/** Checks `links` and `users`. */
export function resolveWorkflowOptions(options: WorkflowOptions): OptionsResolution<WorkflowSettings> {
  return resolveUnless(validation().workflowOptionsProblems(options), () => ({
    links: options.links,
    users: options.users,
  }));
}
