import type { OptionsProblem } from '../errors';

/**
 * What a concern's `resolve…Options` returns: its settings with every default applied, or every
 * problem of the options it owns. The module concatenates the problems into one `InvalidOptionsError`.
 */
export type OptionsResolution<T> = { ok: true; value: T } | { ok: false; problems: OptionsProblem[] };

/** `build()` when there are no problems, otherwise the problems; `build` may assume valid options. */
export function resolveUnless<T>(problems: OptionsProblem[], build: () => T): OptionsResolution<T> {
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: build() };
}

/** The problems of a resolution, none when it succeeded. */
export function problemsOf(resolution: OptionsResolution<unknown>): OptionsProblem[] {
  return resolution.ok ? [] : resolution.problems;
}
