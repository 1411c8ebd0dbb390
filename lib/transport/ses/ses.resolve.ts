import type { OptionsResolution } from '../../options';
import { resolveSesOptions, SesTransportContext } from './ses.options';
import { SesTransport } from './ses.transport';

/** A `{ ses }` entry, checked: how to make its transport (this loads `@aws-sdk/client-sesv2`) and how to print it. */
export interface ResolvedSesTransport {
  /** Throws `DependencyMissingError` when `@aws-sdk/client-sesv2` is not installed. */
  make: () => SesTransport;
  /** Without any key, e.g. `ses (eu-west-1)`. */
  description: string;
}

/**
 * One `transport` entry that is `{ ses: { region, credentials?, endpoint? } }`: its problems (paths under
 * `path`), or a factory for its `SesTransport`. The module's `dkim` and `credentialKeys` come in `context`.
 */
export function resolveSesTransport(option: { ses: unknown }, path: string, context: SesTransportContext = {}): OptionsResolution<ResolvedSesTransport> {
  const resolved = resolveSesOptions(option, path, context);
  if (!resolved.ok) return resolved;
  const options = resolved.value;
  const description = `ses (${options.region}${options.endpoint ? `, ${new URL(options.endpoint).origin}` : ''})`;
  return { ok: true, value: { make: () => new SesTransport(options), description } };
}
