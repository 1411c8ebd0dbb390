import { InvalidArgumentError } from '../errors';
import { describeValue as describe } from './json-safe-context';
import type { EmailUser } from './user-directory';

/**
 * Type checks for the arguments of EmailWorkflowService's public methods. TypeScript's types are
 * gone at run time and these values often come straight from a request body: a wrong type must
 * end in the library's typed error that names the argument, never in a TypeError from deep inside.
 */

/** A string, or for `optional` arguments also undefined (and null where `nullable`: database rows have null for absent). */
export function checkString(method: string, argument: string, value: unknown, presence: 'required' | 'optional' | 'nullable' = 'required'): void {
  if (typeof value === 'string') return;
  if (value === undefined && presence !== 'required') return;
  if (value === null && presence === 'nullable') return;
  throw new InvalidArgumentError(method, argument, presence === 'required' ? 'a string' : 'a string or undefined', describe(value));
}

/** A plain object (not null, not an array), or undefined when `optional`. */
export function checkObject(method: string, argument: string, value: unknown, optional = false): asserts value is Record<string, unknown> {
  if (value === undefined && optional) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(method, argument, optional ? 'an object or undefined' : 'an object', describe(value));
  }
}

export function checkFunction(method: string, argument: string, value: unknown): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(method, argument, 'a function', describe(value));
}

export function checkOneOf(method: string, argument: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new InvalidArgumentError(method, argument, `one of ${allowed.map((v) => `"${v}"`).join(', ')}`, describe(value));
  }
}

/** A Date that holds a time (not `new Date('garbage')`), or undefined when `optional`. */
export function checkDate(method: string, argument: string, value: unknown, optional = false): void {
  if (value === undefined && optional) return;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return;
  const expected = optional ? 'a valid Date or undefined' : 'a valid Date';
  throw new InvalidArgumentError(method, argument, expected, value instanceof Date ? 'an invalid Date' : describe(value));
}

/**
 * An EmailUser as a directory returns it: `id` and `email` strings, the rest optional. Each field is
 * read once, into the plain EmailUser it returns: use that, never `value` again, so a getter or a
 * proxy that answers differently on a second read cannot slip a checked field past the checks.
 */
export function checkUser(method: string, argument: string, value: unknown): EmailUser {
  checkObject(method, argument, value);
  const { id, email, name, locale, emailVerified } = value;
  checkString(method, `${argument}.id`, id);
  checkString(method, `${argument}.email`, email);
  checkString(method, `${argument}.name`, name, 'nullable');
  checkString(method, `${argument}.locale`, locale, 'nullable');
  if (emailVerified !== undefined && emailVerified !== null && typeof emailVerified !== 'boolean') {
    throw new InvalidArgumentError(method, `${argument}.emailVerified`, 'a boolean or undefined', describe(emailVerified));
  }
  const user: EmailUser = { id: id as string, email: email as string };
  // null (a database row's "absent") is kept as it came: the flows read it as absent.
  if (name !== undefined) user.name = name as string;
  if (locale !== undefined) user.locale = locale as string;
  if (emailVerified !== undefined) user.emailVerified = emailVerified as boolean;
  return user;
}
