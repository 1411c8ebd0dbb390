import addressparser from 'nodemailer/lib/addressparser';
import { isEmail } from 'class-validator';

const MAX_ADDRESS_LENGTH = 254;
const LINE_BREAK = /[\r\n]/;

/** A strict email address check: no display name, no line breaks, at most 254 characters. */
export function isValidAddress(address: string): boolean {
  return (
    address.length > 0 &&
    address.length <= MAX_ADDRESS_LENGTH &&
    !LINE_BREAK.test(address) &&
    isEmail(address, { allow_display_name: false, require_tld: false, allow_ip_domain: false })
  );
}

/** One mailbox, optionally with a display name: `Acme <no-reply@acme.com>`. */
export function isValidMailbox(value: string): boolean {
  if (LINE_BREAK.test(value)) return false;
  const parsed = addressparser(value, { flatten: true });
  return parsed.length === 1 && isValidAddress(parsed[0].address);
}

/** Display names come from user data; a line break in one must never start a new header. */
export function toSafeDisplayName(name: string): string {
  return name.replace(/[\r\n\t\u0000-\u001f\u007f]+/g, ' ').trim();
}
