import { OptionsResolution, resolveUnless } from '../options';
import { mailboxAddress } from '../transport';

/**
 * How the HTML part travels. `base64` costs less CPU per email to encode and send than
 * `quoted-printable`, whose raw source stays readable and is smaller (docs/delivery.md, HTML transfer encoding).
 */
export type HtmlEncoding = 'base64' | 'quoted-printable';

/** The module options of who sends and how the message is encoded: only the message composer reads them. */
export interface SenderOptions {
  /** Sender, with an optional display name. @example 'Acme <no-reply@acme.com>' */
  from: string;
  /** Address replies should go to, when not `from`. */
  replyTo?: string;
  /** Content-Transfer-Encoding of the HTML part (the text part is chosen by its content). @default 'base64' */
  htmlEncoding?: HtmlEncoding;
}

/** The sender options with their defaults applied. */
export interface SenderSettings {
  from: string;
  replyTo?: string;
  htmlEncoding: HtmlEncoding;
  /** The bare address of `from`: the envelope sender, and the domain of every Message-ID. */
  senderAddress: string;
}

/** Injection token of the resolved `SenderSettings`. */
export const SENDER_SETTINGS = 'EMAIL_WORKFLOW:SENDER_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./sender.options-validation') {
  return require('./sender.options-validation') as typeof import('./sender.options-validation');
}

/** Checks `from`, `replyTo` and `htmlEncoding`. */
export function resolveSenderOptions({ from, replyTo, htmlEncoding }: SenderOptions): OptionsResolution<SenderSettings> {
  return resolveUnless(validation().senderOptionsProblems({ from, replyTo, htmlEncoding }), () => ({
    from,
    replyTo,
    htmlEncoding: htmlEncoding ?? 'base64',
    senderAddress: mailboxAddress(from),
  }));
}
