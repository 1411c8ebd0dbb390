import { OptionsResolution, resolveUnless } from '../options';

/** The suppression list: addresses that bounced for good get no more email until removed. */
export interface SuppressionOptions {
  /**
   * Permanent failures that put the recipient on the list, beside the built-in 5.1.x (no such
   * address) and 5.2.1 (mailbox disabled): an enhanced status code ('5.7.1'), a class of them
   * ('5.7', any 5.7.x) or a reply code ('554', for servers that send no enhanced code). Only a
   * permanent failure (a 5xx reply) ever counts.
   */
  codes?: string[];
  /**
   * Templates still sent to a suppressed address. Replaces the default, so list the security notices
   * too when you add one of yours; `[]` suppresses every template.
   * @default ['reset-password', 'password-changed', 'new-sign-in', 'email-change-requested'] (see docs/bounces.md, "Suppression list")
   * @example bypassTemplates: ['reset-password', 'password-changed', 'new-sign-in', 'email-change-requested', 'invoice']
   */
  bypassTemplates?: string[];
}

/** The module options the suppression concern owns. */
export interface SuppressionModuleOptions {
  suppression?: SuppressionOptions;
}

export interface SuppressionSettings {
  /** The app's own codes (`suppression.codes`), beside the built-in ones. */
  codes: readonly string[];
  bypassTemplates: ReadonlySet<string>;
}

/**
 * `suppression.bypassTemplates` when unset: the reset and the security notices. A user asking for a
 * reset is there now and wants the email; an old bounce must not lock them out of their account
 * without a word. The notices (password changed, new sign-in, email change with its "this wasn't me"
 * link) are how an account's owner learns it is changing hands: a suppressed address, however it got
 * on the list, must not let that happen silently. Each costs at most one bounce, capped by its flow's limits.
 */
export const DEFAULT_BYPASS_TEMPLATES: readonly string[] = ['reset-password', 'password-changed', 'new-sign-in', 'email-change-requested'];

/** Injection token of the resolved `SuppressionSettings`. */
export const SUPPRESSION_SETTINGS = 'EMAIL_WORKFLOW:SUPPRESSION_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./suppression.options-validation') {
  return require('./suppression.options-validation') as typeof import('./suppression.options-validation');
}

/** Checks `suppression` and applies its defaults. */
export function resolveSuppressionOptions({ suppression }: SuppressionModuleOptions): OptionsResolution<SuppressionSettings> {
  return resolveUnless(validation().suppressionOptionsProblems(suppression), () => ({
    codes: [...(suppression?.codes ?? [])],
    bypassTemplates: new Set(suppression?.bypassTemplates ?? DEFAULT_BYPASS_TEMPLATES),
  }));
}
