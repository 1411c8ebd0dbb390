import { OptionsResolution, problemsOf } from '../options';
import { CREDENTIAL_KEY_ENV, decryptCredential, isEncryptedCredential } from '../crypto';
import type { MailTransport } from './mail-transport';
import type { DkimOptions, EmailTransportOption, SmtpTransportOptions, TenantTransportOptions, TransportModuleOptions } from './smtp-transport.options';
import { describeTransport, NodemailerSmtpOptions, toNodemailerOptions } from './smtp-transport.resolver';
import { TenantNetworkGuard } from './tenant-network.guard';
import { TenantNetworkPolicy } from './tenant-network.policy';
import { isSesOption, resolveSesTransport } from './ses';

/** One transport, checked and ready: its settings with the password decrypted, nodemailer's options, and how to print it. */
interface ResolvedSmtpTransport {
  /** As given or parsed from the URL, with an `enc:v1:` password decrypted. */
  settings: SmtpTransportOptions;
  /** Secure defaults applied, DKIM attached. */
  options: NodemailerSmtpOptions;
  /** Without any password, for logs. */
  description: string;
  /** A tenant's transport: what limits where it may connect (its `options.getSocket` is this guard's). */
  guard?: TenantNetworkGuard;
}

export interface TenantTransportSettings {
  /** Resolves a tenant's transport; rejects only when the app's resolver does. */
  resolve: (tenantId: string) => Promise<OptionsResolution<ResolvedSmtpTransport>>;
  /** Most tenant pools kept open; the least recently used is closed beyond it. */
  maxCached: number;
  /** A tenant pool unused this long (ms) is closed. */
  idleTimeout: number;
}

/** An app's own transport (`transport: { use }`), checked: it has every method of MailTransport. */
export interface ResolvedCustomTransport {
  custom: MailTransport;
  options?: undefined;
}

/** One transport of the module's list. */
export type ResolvedTransportEntry = ResolvedSmtpTransport | ResolvedCustomTransport;

/** What the transport concern resolves to: the default transport(s) and, with a resolver, the tenants'. */
export interface TransportSettings {
  /** The default transport, or the failover list in order of preference (one entry or more). */
  default: ResolvedTransportEntry[];
  /** The module's DKIM signing, whichever transport sends. */
  dkim?: DkimOptions;
  tenants?: TenantTransportSettings;
}

/** Injection token of the resolved `TransportSettings`. */
export const TRANSPORT_SETTINGS = 'EMAIL_WORKFLOW:TRANSPORT_SETTINGS';

/** What resolving any transport needs besides the transport itself. */
interface TransportContext {
  /** Keys for `enc:v1:` passwords, current first. */
  credentialKeys: string[];
  dkim?: DkimOptions;
}

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./transport.options-validation') {
  return require('./transport.options-validation') as typeof import('./transport.options-validation');
}

/** The plain password of an `enc:v1:` one, decrypted once here; other passwords as they are. */
function decryptPassword(
  settings: SmtpTransportOptions,
  keys: string[],
  passwordPath: string,
): OptionsResolution<SmtpTransportOptions> {
  const sealed = settings.auth?.pass;
  if (!isEncryptedCredential(sealed)) return { ok: true, value: settings };
  const problem = (problem: string, fix: string): OptionsResolution<never> => ({ ok: false, problems: [{ path: passwordPath, problem, fix }] });
  if (keys.length === 0) return problem('is encrypted (enc:v1:) but no key is configured', `set credentialKeys or the ${CREDENTIAL_KEY_ENV} environment variable`);
  const pass = decryptCredential(sealed, keys);
  if (pass === undefined) {
    return problem(
      'cannot be decrypted with the configured keys (wrong key, or the value was altered)',
      `check ${CREDENTIAL_KEY_ENV}; after a key rotation list the old key too (credentialKeys: [newKey, oldKey])`,
    );
  }
  return { ok: true, value: { ...settings, auth: { user: settings.auth!.user, pass } } };
}

/**
 * One transport option, URL or object, resolved: checked, the URL parsed once, an `enc:v1:` password
 * decrypted once, defaults applied. Problems name `path` (`transport`, `transportResolver("a")`, `--url`).
 */
export function resolveSmtpTransport(transport: unknown, context: TransportContext, path = 'transport'): OptionsResolution<ResolvedSmtpTransport> {
  const checked = validation().checkTransportOption(transport, path);
  if (!checked.ok) return checked;
  const decrypted = decryptPassword(checked.value, context.credentialKeys, typeof transport === 'string' ? `${path} (URL password)` : `${path}.auth.pass`);
  if (!decrypted.ok) return decrypted;
  const options = toNodemailerOptions(decrypted.value);
  return {
    ok: true,
    value: {
      settings: decrypted.value,
      options: context.dkim ? { ...options, dkim: { ...context.dkim } } : options,
      description: describeTransport(decrypted.value),
    },
  };
}

/** The longest a tenant transport may wait, by default: a tenant's own lower value is kept. */
export const TENANT_TIMEOUT_DEFAULTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 } as const;

/** What every tenant transport shares: where it may connect and how long it may wait. */
interface TenantLimits {
  guard: TenantNetworkGuard;
  timeouts: Record<keyof typeof TENANT_TIMEOUT_DEFAULTS, number>;
}

function tenantLimits(options: TenantTransportOptions | undefined): TenantLimits {
  return {
    guard: new TenantNetworkGuard(new TenantNetworkPolicy(options?.allowPrivateNetworks)),
    timeouts: {
      connectionTimeout: options?.connectionTimeout ?? TENANT_TIMEOUT_DEFAULTS.connectionTimeout,
      greetingTimeout: options?.greetingTimeout ?? TENANT_TIMEOUT_DEFAULTS.greetingTimeout,
      socketTimeout: options?.socketTimeout ?? TENANT_TIMEOUT_DEFAULTS.socketTimeout,
    },
  };
}

/**
 * The transport a tenant resolver returns, resolved like the default one at boot: a bad one is that
 * tenant's problem only. Rejects only when the resolver itself does (its database is down, say).
 * Tenant settings are untrusted input: the transport connects through the guard (public addresses
 * only), and its timeouts are capped by `tenantTransports`. The guard is one object for every tenant,
 * so settings resolved twice compare equal (see `TransportRegistry.forProbe`).
 */
async function resolveTenantTransport(
  resolver: (tenantId: string) => Promise<EmailTransportOption>,
  tenantId: string,
  context: TransportContext,
  { guard, timeouts }: TenantLimits,
): Promise<OptionsResolution<ResolvedSmtpTransport>> {
  const resolved = resolveSmtpTransport(await resolver(tenantId), context, `transportResolver("${tenantId}")`);
  if (!resolved.ok) return resolved;
  const { settings, options } = resolved.value;
  const capped = (name: keyof typeof timeouts) => Math.min(settings[name] ?? timeouts[name], timeouts[name]);
  const limited = { connectionTimeout: capped('connectionTimeout'), greetingTimeout: capped('greetingTimeout'), socketTimeout: capped('socketTimeout') };
  return { ok: true, value: { ...resolved.value, options: { ...options, ...limited, getSocket: guard.getSocket }, guard } };
}

/** One entry of `transport`: an app's own transport (`{ use }`) or SMTP. */
function resolveTransportEntry(transport: unknown, context: TransportContext, path: string): OptionsResolution<ResolvedTransportEntry> {
  if (isSesOption(transport)) {
    const ses = resolveSesTransport(transport, path, context);
    return ses.ok ? { ok: true, value: { custom: ses.value.make() } } : ses;
  }
  if (typeof transport !== 'object' || transport === null || !('use' in transport)) return resolveSmtpTransport(transport, context, path);
  const problems = validation().customTransportProblems((transport as { use: unknown }).use, `${path}.use`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { custom: (transport as { use: MailTransport }).use } };
}

/** `transport`: one entry or a non-empty list of them, problems naming `transport[i]`. */
function resolveDefaultTransports(transport: unknown, context: TransportContext): OptionsResolution<ResolvedTransportEntry[]> {
  if (!Array.isArray(transport)) {
    const one = resolveTransportEntry(transport, context, 'transport');
    return one.ok ? { ok: true, value: [one.value] } : one;
  }
  if (transport.length === 0) {
    return { ok: false, problems: [{ path: 'transport', problem: 'is an empty list', fix: 'list one transport or more, the preferred first' }] };
  }
  const entries = transport.map((entry, index) => resolveTransportEntry(entry, context, `transport[${index}]`));
  const problems = entries.flatMap(problemsOf);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: entries.map((entry) => (entry as { value: ResolvedTransportEntry }).value) };
}

/** Checks `transport`, `transportResolver`, `dkim` and `tenantTransports`, and resolves the default transport(s). */
export function resolveTransportOptions(options: TransportModuleOptions, credentialKeys: string[]): OptionsResolution<TransportSettings> {
  const context: TransportContext = { credentialKeys, dkim: options.dkim };
  const resolved = resolveDefaultTransports(options.transport, context);
  const extras = validation().transportExtrasProblems(options.transportResolver, options.dkim, options.tenantTransports);
  if (!resolved.ok || extras.length > 0) return { ok: false, problems: [...problemsOf(resolved), ...extras] };
  const resolver = options.transportResolver;
  return { ok: true, value: { default: resolved.value, dkim: options.dkim, tenants: resolver && tenantSettings(resolver, context, options.tenantTransports) } };
}

function tenantSettings(
  resolver: (tenantId: string) => Promise<EmailTransportOption>,
  context: TransportContext,
  options: TenantTransportOptions | undefined,
): TenantTransportSettings {
  const limits = tenantLimits(options);
  return {
    resolve: (tenantId: string) => resolveTenantTransport(resolver, tenantId, context, limits),
    maxCached: options?.maxCached ?? 100,
    idleTimeout: options?.idleTimeout ?? 300_000,
  };
}
