import { InvalidArgumentError, InvalidContextError } from '../errors';
import type { EmailUser } from './user-directory';

/**
 * Type checks for the arguments of EmailWorkflowService's public methods. TypeScript's types are
 * gone at run time and these values often come straight from a request body: a wrong type must
 * end in the library's typed error that names the argument, never in a TypeError from deep inside.
 */

/** What a wrong value is, in the error: `undefined`, `a number (42)`, `an array`. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  return `a value of type ${typeof value}`;
}

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

/** Deeper than any real template needs, shallow enough that checking it cannot overflow the stack. */
const MAX_CONTEXT_DEPTH = 64;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Refuses a context that JSON would not carry unchanged, since the Redis queue stores it as JSON
 * and the in-process queue must accept exactly what the Redis one does. Undefined object
 * properties are allowed: JSON drops them, and the template sees the same missing value.
 */
export function checkJsonSafeContext(context: unknown, path = 'context'): void {
  if (context === undefined) return;
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new InvalidContextError(path, `is ${describe(context)}, not an object of template variables`);
  }
  checkValue(context, path, [], 0);
}

function checkValue(value: unknown, path: string, ancestors: object[], depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidContextError(path, `is ${String(value)}, which JSON turns into null`);
      return;
    case 'bigint':
      throw new InvalidContextError(path, 'is a BigInt, which JSON cannot store');
    case 'function':
    case 'symbol':
      throw new InvalidContextError(path, `is a ${typeof value}, which JSON drops`);
    case 'undefined':
      throw new InvalidContextError(path, 'is undefined inside an array, which JSON turns into null');
  }
  if (value === null) return;
  const object = value as object;
  if (ancestors.includes(object)) throw new InvalidContextError(path, 'refers back to an object that contains it (a cycle)');
  if (depth >= MAX_CONTEXT_DEPTH) throw new InvalidContextError(path, `nests more than ${MAX_CONTEXT_DEPTH} levels deep`);
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
    throw new InvalidContextError(path, `has a toJSON method (${object.constructor?.name ?? 'object'}), so the queue would store what it returns instead`);
  }
  const prototype = Object.getPrototypeOf(object);
  const isArray = Array.isArray(object);
  if (!isArray && prototype !== Object.prototype && prototype !== null) {
    throw new InvalidContextError(path, `is a ${prototype?.constructor?.name ?? 'non-plain object'}, which JSON turns into a plain object or drops`);
  }
  if (Object.getOwnPropertySymbols(object).length > 0) throw new InvalidContextError(path, 'has symbol keys, which JSON drops');
  const inner = [...ancestors, object];
  if (isArray) {
    const array = object as unknown[];
    for (let index = 0; index < array.length; index++) checkValue(array[index], childPath(path, index), inner, depth + 1);
    return;
  }
  for (const [key, child] of Object.entries(object)) {
    if (child !== undefined) checkValue(child, childPath(path, key), inner, depth + 1);
  }
}
