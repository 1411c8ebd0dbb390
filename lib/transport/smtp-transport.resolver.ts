import type { NodemailerSmtpOptions } from './mail-message';
import type { EmailTransportOption, SmtpSecurity, SmtpTransportOptions } from './smtp-transport.options';
import { defaultPortFor, EffectiveSmtpSecurity, securityFor, SMTP_TIMEOUT_DEFAULTS, tlsFlagsFor } from './smtp.knowledge';

export type { NodemailerSmtpOptions } from './mail-message';

/**
 * Turns an SMTP URL into the object form. Query parameters map to the same-named options. Throws a
 * URIError for a user name or password that is not percent-encoded.
 */
export function parseSmtpUrl(url: string | URL): SmtpTransportOptions {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  const implicitTls = parsed.protocol === 'smtps:';
  const security = parsed.searchParams.get('security') as SmtpSecurity | null;
  const pool = parsed.searchParams.get('pool');
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : undefined,
    security: security ?? (implicitTls ? 'tls' : undefined),
    auth:
      parsed.username || parsed.password
        ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) }
        : undefined,
    pool: pool === null ? undefined : pool !== 'false',
  };
}

function toTransportObject(transport: EmailTransportOption): SmtpTransportOptions {
  return typeof transport === 'string' ? parseSmtpUrl(transport) : transport;
}

/** Maps our transport settings onto nodemailer's, applying the secure defaults. */
export function toNodemailerOptions(transport: EmailTransportOption): NodemailerSmtpOptions {
  const options = toTransportObject(transport);
  const security = securityFor(options.security, options.port);
  const port = options.port ?? defaultPortFor(security);
  const pool = options.pool ?? true;
  const poolSettings = typeof pool === 'object' ? pool : {};
  return {
    host: options.host,
    port,
    ...tlsFlagsFor(security),
    auth: options.auth ? { user: options.auth.user, pass: options.auth.pass } : undefined,
    tls: {
      rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
      servername: options.tls?.servername,
      ca: options.tls?.ca,
    },
    connectionTimeout: options.connectionTimeout ?? SMTP_TIMEOUT_DEFAULTS.connectionTimeout,
    greetingTimeout: options.greetingTimeout ?? SMTP_TIMEOUT_DEFAULTS.greetingTimeout,
    socketTimeout: options.socketTimeout ?? SMTP_TIMEOUT_DEFAULTS.socketTimeout,
    ...(pool
      ? {
          pool: true as const,
          maxConnections: poolSettings.maxConnections ?? 5,
          maxMessages: poolSettings.maxMessages ?? 100,
          rateLimit: poolSettings.rateLimit,
          rateDelta: poolSettings.rateDelta ?? 1000,
        }
      : {}),
  };
}

/** The transport as a URL with any password replaced, safe to print. */
/** How a description names each security: what it means, not the option's value. */
export const SECURITY_LABELS: Readonly<Record<EffectiveSmtpSecurity, string>> = {
  tls: 'implicit TLS',
  starttls: 'STARTTLS',
  opportunistic: 'STARTTLS if offered',
  none: 'no TLS',
};

export function describeTransport(transport: EmailTransportOption): string {
  const options = toTransportObject(transport);
  const user = options.auth ? `${encodeURIComponent(options.auth.user)}:***@` : '';
  const security = securityFor(options.security, options.port);
  const port = options.port ?? defaultPortFor(security);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return `${security === 'tls' ? 'smtps' : 'smtp'}://${user}${host}:${port} (${SECURITY_LABELS[security]})`;
}
