import { InvalidContextError } from '../errors';

/**
 * The send pipeline's check that a template context survives the queue: the pipeline owns it, since
 * every email it queues (the flows' and `send()`'s) passes it, whichever method started the send.
 */

/** What a wrong value is, in the error: `undefined`, `a number (42)`, `an array`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  return `a value of type ${typeof value}`;
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
    throw new InvalidContextError(path, `is ${describeValue(context)}, not an object of template variables`);
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
