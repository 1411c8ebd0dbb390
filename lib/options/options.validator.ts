import { plainToInstance, Type } from 'class-transformer';
import { IsInt, IsOptional, Min, ValidateNested, validateSync, ValidationError, ValidationOptions } from 'class-validator';
import type { OptionsProblem } from '../errors';

// class-validator and its tables take about 80 ms to load. This file, and every `*.options-validation.ts`
// that uses it, is required lazily by a concern's `resolve…Options`: paid once at boot, when options are
// checked, not by every process that merely requires the library. Never re-export it from an index.

/** A rule's message and the fix we print beside it. Messages never include the value: it may be a secret. */
export function rule(problem: string, fix: string): ValidationOptions {
  return { message: problem, context: { fix } };
}

/** Applies several property decorators as one. */
function all(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, property) => decorators.forEach((decorate) => decorate(target, property));
}

/** A whole number of at least `min` (a count, milliseconds, seconds), with one message for both rules; optional unless `required`. */
export function WholeNumber(min: number, problem: string, fix: string, required = false): PropertyDecorator {
  const options = rule(problem, fix);
  return all(...(required ? [] : [IsOptional()]), IsInt(options), Min(min, options));
}

/** An optional nested options object, checked against `dto` (unknown fields included) when given. */
export function NestedOptions(dto: () => new () => object): PropertyDecorator {
  return all(IsOptional(), ValidateNested(), Type(dto));
}

function flatten(errors: ValidationError[], parentPath = ''): OptionsProblem[] {
  return errors.flatMap((error) => {
    const path = parentPath ? `${parentPath}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([name, message]) => ({
      path,
      problem: name === 'whitelistValidation' ? 'is not a known option' : message,
      fix:
        (error.contexts?.[name]?.fix as string | undefined) ??
        (name === 'whitelistValidation' ? 'remove it or check its spelling' : 'see the options table in docs/options.md'),
    }));
    // Two rules failing on one field say the same thing; print it once.
    const unique = own.filter((p, i) => own.findIndex((q) => q.problem === p.problem) === i);
    return [...unique, ...flatten(error.children ?? [], path)];
  });
}

/** Problems of `value` against a DTO class; unknown fields are problems too. `path` prefixes each one. */
export function dtoProblems<T extends object>(dto: new () => T, value: unknown, path = ''): OptionsProblem[] {
  const instance = plainToInstance(dto, value);
  return flatten(validateSync(instance, { whitelist: true, forbidNonWhitelisted: true }), path);
}

/** Plugged-in objects are checked as given: class-transformer would copy them and lose their methods. */
export function missingMethods(path: string, value: unknown, methods: string[]): OptionsProblem[] {
  if (value === undefined) return [];
  const missing = methods.filter(
    (method) => typeof value !== 'object' || value === null || typeof (value as Record<string, unknown>)[method] !== 'function',
  );
  return missing.length === 0
    ? []
    : [{ path, problem: `has no method ${missing.join(', ')}`, fix: `implement every method: ${methods.join(', ')}` }];
}
