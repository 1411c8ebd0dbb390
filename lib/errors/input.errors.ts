import { EmailWorkflowErrorCode } from './error-codes';
import { EmailWorkflowError } from './email-workflow.errors';

/**
 * A public method was called with an argument of the wrong type: `inspectToken(undefined)`,
 * `send({ locale: 42 })`. `argument` names it as the caller wrote it (`request.locale`).
 */
export class InvalidArgumentError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.InvalidArgument;

  constructor(
    readonly method: string,
    readonly argument: string,
    readonly expected: string,
    received: string,
  ) {
    super(`${method}() was called with ${argument} ${received}, but it must be ${expected}. Fix: pass ${argument} as ${expected}.`);
  }
}

/**
 * A template context holds a value that would not survive the queue unchanged (queued emails are
 * stored as JSON): `NaN`, `Infinity`, a function, a symbol, a BigInt, a cycle, a Date or another
 * object whose `toJSON` or class would change it. `path` names it: `context.user.age`.
 */
export class InvalidContextError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.InvalidContext;

  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(
      `The template context cannot be queued: ${path} ${problem}. Queued emails are stored as JSON, so the context may hold only ` +
        'strings, finite numbers, booleans, null, plain objects and arrays. Fix: convert the value first (a Date to date.toISOString() or a formatted string, a BigInt to a string).',
    );
  }
}
