import { OptionsResolution, resolveUnless } from '../options';

/** The IMAP mailbox bounces and complaints arrive in: read by one process per deployment. */
export interface BounceImapOptions {
  host: string;
  /** @default 993 when `secure`, else 143 */
  port?: number;
  /**
   * TLS from the first byte (port 993). When false, see `starttls`.
   * @default true when port is 993
   */
  secure?: boolean;
  /**
   * Upgrade a plain connection with STARTTLS, refusing a server that does not offer it.
   * @default true, except on a loopback host (127.0.0.1, ::1, localhost)
   */
  starttls?: boolean;
  auth: { user: string; pass: string };
  /** The CA of a private server, or `rejectUnauthorized: false` for a test server only. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** @default 'INBOX' */
  mailbox?: string;
  /** How often the mailbox is looked at when the server offers no IDLE, in ms. @default 60000 */
  pollInterval?: number;
  /** What happens to a report once it is recorded (never before). @default 'delete' */
  afterProcessing?: 'delete' | 'move';
  /** Where `afterProcessing: 'move'` puts reports. @default 'processed' */
  moveTo?: string;
}

/**
 * Bounces and complaints read back (docs/bounces.md: "Bounces and the delivery log"). With `address`, every email's
 * envelope sender is `<local>+<tag>@<domain>`, the tag naming the email under a MAC, so a report counts
 * only when it is about an email we sent to that recipient.
 */
export interface BounceOptions {
  /** e.g. 'bounces@acme.com': a mailbox on a domain whose MX you control, read by `imap`. */
  address?: string;
  imap?: BounceImapOptions;
}

export interface BounceModuleOptions {
  bounces?: BounceOptions;
}

/** `bounces.imap` with its defaults applied. */
export interface ResolvedBounceImap {
  host: string;
  port: number;
  /** TLS from the first byte (implicit TLS, port 993). */
  secure: boolean;
  /** On a plain connection: `'required'` upgrades with STARTTLS and refuses a server without it. */
  starttls: 'required' | 'never';
  auth: { user: string; pass: string };
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  mailbox: string;
  /** The longest wait between two passes over the mailbox when no IDLE notice comes. */
  pollIntervalMs: number;
  afterProcessing: 'delete' | 'move';
  /** Where `afterProcessing: 'move'` puts a message; created when missing. */
  moveTo: string;
}

export interface BounceSettings {
  /** The bounce address split at its last '@', when set. */
  address?: { local: string; domain: string };
  imap?: ResolvedBounceImap;
}

/** Injection token of the resolved `BounceSettings`. */
export const BOUNCE_SETTINGS = 'EMAIL_WORKFLOW:BOUNCE_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./bounce.options-validation') {
  return require('./bounce.options-validation') as typeof import('./bounce.options-validation');
}

/** Checks `bounces` and applies its defaults. */
export function resolveBounceOptions({ bounces }: BounceModuleOptions): OptionsResolution<BounceSettings> {
  return resolveUnless(validation().bounceOptionsProblems(bounces), () => {
    const settings: BounceSettings = {};
    if (bounces?.address !== undefined) {
      const at = bounces.address.lastIndexOf('@');
      settings.address = { local: bounces.address.slice(0, at), domain: bounces.address.slice(at + 1) };
    }
    const imap = bounces?.imap;
    if (imap !== undefined) {
      const secure = imap.secure ?? (imap.port === undefined || imap.port === 993);
      settings.imap = {
        host: imap.host,
        port: imap.port ?? (secure ? 993 : 143),
        secure,
        starttls: secure || (imap.starttls ?? !isLoopback(imap.host)) ? 'required' : 'never',
        auth: { user: imap.auth.user, pass: imap.auth.pass },
        tls: imap.tls,
        mailbox: imap.mailbox ?? 'INBOX',
        pollIntervalMs: imap.pollInterval ?? 60_000,
        afterProcessing: imap.afterProcessing ?? 'delete',
        moveTo: imap.moveTo ?? 'processed',
      };
    }
    return settings;
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
