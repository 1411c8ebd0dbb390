import { toSafeDisplayName } from '../workflow/address';
import { describeTransport, NodemailerSmtpOptions, toNodemailerOptions, toTransportObject } from '../transport/smtp-transport.resolver';
import type { EmailTransportOption } from '../transport/smtp-transport.options';
import { credentialKeysFrom, decryptCredential, isEncryptedCredential } from '../crypto/credential.cipher';
import { InvalidOptionsError } from '../errors';
import { DEFAULT_LOCALE, DEFAULT_PRIMARY_COLOR } from './email-workflow.constants';
import type { BrandOptions, DkimOptions, EmailWorkflowModuleOptions, LinkOptions } from './email-workflow.options';
import type { RateLimitRule, TokenStore } from '../tokens';
import type { EmailUserDirectory } from '../workflow/user-directory';
import type { TemplateRegistrySettings } from '../templates/template.registry';
import { toLongHexColour } from '../templates';

// class-validator and its tables take about 80 ms to load: paid once at boot, when options are checked,
// not by every process that merely imports the library.
function optionsValidation(): typeof import('./options.validation') {
  return require('./options.validation') as typeof import('./options.validation');
}
import type { EmailQueueOptions, EmailRetryBackoff } from '../queue/queue.options';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF } from '../queue/retry.policy';

/** Queue settings with defaults applied; `redis: false` is the in-process queue. */
export interface ResolvedQueueOptions extends Omit<EmailQueueOptions, 'backoff'> {
  concurrency: number;
  attempts: number;
  backoff: Required<EmailRetryBackoff>;
  removeOnComplete: boolean | number;
  worker: boolean;
  shutdownTimeout: number;
  probeInterval: number;
}

/** Options after validation, with every default applied. */
export interface ResolvedEmailWorkflowOptions {
  transport: NodemailerSmtpOptions;
  /** The transport without its password, for logs. */
  transportDescription: string;
  from: string;
  replyTo?: string;
  brand: BrandOptions & { primaryColor: string };
  links: LinkOptions;
  templates: { dir?: string; defaultLocale: string };
  queue: ResolvedQueueOptions;
  /** Validated module secret; undefined only with the in-process queue. */
  secret?: string;
  users?: EmailUserDirectory;
  tokens: { verifyEmailTtl: number; resetPasswordTtl: number; store?: TokenStore };
  rateLimits: { passwordResetPerAddress: RateLimitRule; passwordResetPerIp: RateLimitRule; verificationPerAddress: RateLimitRule };
  credentialKeys: string[];
  dkim?: DkimOptions;
  tenants?: {
    resolve: (tenantId: string) => Promise<EmailTransportOption>;
    maxCached: number;
    idleTimeout: number;
  };
}

/**
 * A transport option as nodemailer takes it: secure defaults applied, an `enc:v1:` password
 * decrypted, DKIM attached. Call only on a transport that passed `transportProblems`.
 */
export function resolveTransport(
  transport: EmailTransportOption,
  credentialKeys: string[],
  dkim?: DkimOptions,
): { options: NodemailerSmtpOptions; description: string } {
  const object = toTransportObject(transport);
  const password = object.auth?.pass;
  const decrypted = isEncryptedCredential(password)
    ? { ...object, auth: { user: object.auth!.user, pass: decryptCredential(password, credentialKeys) as string } }
    : object;
  const options = toNodemailerOptions(decrypted);
  return { options: dkim ? { ...options, dkim: { ...dkim } } : options, description: describeTransport(decrypted) };
}

/** Validates and resolves the transport a tenant resolver returned; a bad one fails only that tenant's mail. */
export async function resolveTenantTransport(
  options: ResolvedEmailWorkflowOptions,
  tenantId: string,
): Promise<{ options: NodemailerSmtpOptions; description: string }> {
  const transport = await options.tenants!.resolve(tenantId);
  const problems = optionsValidation().transportProblems(transport, options.credentialKeys, `transportResolver("${tenantId}")`);
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  return resolveTransport(transport, options.credentialKeys, options.dkim);
}

function resolveQueue(queue: EmailWorkflowModuleOptions['queue']): ResolvedQueueOptions {
  const given: Partial<EmailQueueOptions> = queue || {};
  return {
    ...given,
    redis: given.redis ?? false,
    concurrency: given.concurrency ?? 5,
    attempts: given.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { ...DEFAULT_BACKOFF, ...given.backoff },
    removeOnComplete: given.removeOnComplete ?? 10_000,
    worker: given.worker ?? true,
    shutdownTimeout: given.shutdownTimeout ?? 10_000,
    probeInterval: given.probeInterval ?? 30_000,
  };
}

export function resolveEmailWorkflowOptions(options: EmailWorkflowModuleOptions): ResolvedEmailWorkflowOptions {
  optionsValidation().validateEmailWorkflowOptions(options);
  const credentialKeys = credentialKeysFrom(options.credentialKeys);
  const transport = resolveTransport(options.transport, credentialKeys, options.dkim);
  return {
    transport: transport.options,
    transportDescription: transport.description,
    from: options.from,
    replyTo: options.replyTo,
    brand: {
      ...options.brand,
      name: toSafeDisplayName(options.brand.name),
      primaryColor: toLongHexColour(options.brand.primaryColor ?? DEFAULT_PRIMARY_COLOR),
    },
    links: options.links,
    templates: {
      dir: options.templates?.dir,
      defaultLocale: options.templates?.defaultLocale ?? DEFAULT_LOCALE,
    },
    queue: resolveQueue(options.queue),
    secret: options.secret,
    users: options.users,
    tokens: {
      verifyEmailTtl: options.tokens?.verifyEmailTtl ?? 86_400,
      resetPasswordTtl: options.tokens?.resetPasswordTtl ?? 3_600,
      store: options.tokens?.store,
    },
    rateLimits: {
      passwordResetPerAddress: options.rateLimits?.passwordResetPerAddress ?? { limit: 5, windowSeconds: 3_600 },
      passwordResetPerIp: options.rateLimits?.passwordResetPerIp ?? { limit: 20, windowSeconds: 3_600 },
      verificationPerAddress: options.rateLimits?.verificationPerAddress ?? { limit: 5, windowSeconds: 3_600 },
    },
    credentialKeys,
    dkim: options.dkim,
    tenants: options.transportResolver && {
      resolve: options.transportResolver,
      maxCached: options.tenantTransports?.maxCached ?? 100,
      idleTimeout: options.tenantTransports?.idleTimeout ?? 300_000,
    },
  };
}

/** Where templates come from and how the layout looks, for the boot-time registry and for previews. */
export function templateSettings(options: ResolvedEmailWorkflowOptions): TemplateRegistrySettings {
  return {
    customDir: options.templates.dir,
    defaultLocale: options.templates.defaultLocale,
    layout: { primaryColor: options.brand.primaryColor, hasLogo: Boolean(options.brand.logoUrl) },
  };
}
