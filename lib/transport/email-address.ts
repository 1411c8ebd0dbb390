import addressparser from 'nodemailer/lib/addressparser';
import { InvalidRecipientError } from '../errors';

const MAX_ADDRESS_LENGTH = 254;
const LINE_BREAK = /[\r\n]/;

// class-validator's address check, loaded on first use: the library's require stays cheap (see
// options/options.validator.ts), and by then options validation has loaded it anyway.
function isEmail(address: string): boolean {
  const { isEmail: check } = require('class-validator') as typeof import('class-validator');
  return check(address, { allow_display_name: false, require_tld: false, allow_ip_domain: false });
}

/** A strict email address check: no display name, no line breaks, at most 254 characters. */
function isValidAddress(address: string): boolean {
  return address.length > 0 && address.length <= MAX_ADDRESS_LENGTH && !LINE_BREAK.test(address) && isEmail(address);
}

/** One mailbox, optionally with a display name: `Acme <no-reply@acme.com>`. */
export function isValidMailbox(value: string): boolean {
  if (LINE_BREAK.test(value)) return false;
  const parsed = addressparser(value, { flatten: true });
  return parsed.length === 1 && isValidAddress(parsed[0].address);
}

/** The address of a mailbox that passed `isValidMailbox`: `no-reply@acme.com` for `Acme <no-reply@acme.com>`. */
export function mailboxAddress(mailbox: string): string {
  return addressparser(mailbox, { flatten: true })[0].address;
}

/** Display names come from user data; a line break in one must never start a new header. */
export function toSafeDisplayName(name: string): string {
  return name.replace(/[\r\n\t\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** The one recipient of an email, checked before anything is queued; the display name made header-safe. */
export function normaliseRecipient(recipient: string | { address: string; name?: string }): { address: string; name: string } {
  // Run-time shapes too: the recipient often comes from a request body, whatever its declared type.
  if (typeof recipient !== 'string' && (typeof recipient !== 'object' || recipient === null || Array.isArray(recipient))) {
    throw new InvalidRecipientError('the recipient must be an address string or { address, name? }');
  }
  const { address, name } = typeof recipient === 'string' ? { address: recipient, name: '' } : recipient;
  if (address !== undefined && typeof address !== 'string') throw new InvalidRecipientError('the address must be a string');
  if (name !== undefined && name !== null && typeof name !== 'string') throw new InvalidRecipientError('the display name must be a string');
  if (typeof address !== 'string' || address.length === 0) throw new InvalidRecipientError('the address is empty');
  if (LINE_BREAK.test(address)) throw new InvalidRecipientError('the address contains a line break');
  if (address.length > MAX_ADDRESS_LENGTH) {
    throw new InvalidRecipientError(`the address is ${address.length} characters long; the limit is ${MAX_ADDRESS_LENGTH}`);
  }
  if (/[,;]/.test(address)) throw new InvalidRecipientError('the address lists more than one recipient');
  if (!isValidAddress(address)) throw new InvalidRecipientError(`"${address}" is not a valid email address`);
  return { address, name: toSafeDisplayName(name ?? '') };
}
