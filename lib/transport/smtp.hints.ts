import type { EffectiveSmtpSecurity } from './smtp.knowledge';

/**
 * Who reads a hint: `api` hints name the module options (`transport.tls.ca`), `cli` hints name the
 * doctor's flags (`--ca`), since that is what each reader can change.
 */
export type HintAudience = 'api' | 'cli';

type Wording = Readonly<Record<HintAudience, string>>;

const both = (text: string): Wording => ({ api: text, cli: text });

/** Where the doctor CLI reads the SMTP password from; its hints name it. */
export const DOCTOR_PASSWORD_ENV = 'SMTP_PASSWORD';

/**
 * Every piece of advice the failure classifier and the doctor give, in both wordings. Texts are
 * sentences without the final period, so they can be joined or quoted after "Fix:".
 */
const HINTS = {
  dnsFailed: {
    api: 'Check the spelling of transport.host, and that this machine can resolve public names',
    cli: 'Check the spelling of the host in --url, and that this machine can resolve public names',
  },
  noAnswer: {
    api: 'A firewall may be dropping the traffic, or transport.port is wrong',
    cli: 'A firewall may be dropping the traffic, or the port in --url is wrong',
  },
  nothingListens: (port: number): Wording => ({
    api: `Nothing listens on port ${port} there: check transport.host and transport.port (465 for implicit TLS, 587 for STARTTLS)`,
    cli: `Nothing listens on port ${port} there: check the host and port in --url (465 for implicit TLS, 587 for STARTTLS)`,
  }),
  serverDown: {
    api: 'Check transport.host and transport.port, and that the server is up',
    cli: 'Check the host and port in --url, and that the server is up',
  },
  relayPortBlocked: {
    api: 'Port 25 is often blocked by networks and cloud providers: try 587 with security "starttls"',
    cli: 'Port 25 is often blocked by networks and cloud providers: try port 587 with ?security=starttls in --url',
  },
  untrustedCertificate: {
    api: 'Set transport.tls.ca to the certificate of the CA that signed it, or transport.tls.servername to the name on it. Do not turn certificate checks off',
    cli:
      'Pass the certificate of the CA that signed it with --ca (transport.tls.ca in the app), or the name on it with --servername ' +
      '(transport.tls.servername). Do not turn certificate checks off',
  },
  noTlsAnswer: {
    api: 'Check the port and security: 465 needs security "tls", 587 needs "starttls"',
    cli: 'Check the port and security in --url: 465 needs smtps:// (or ?security=tls), 587 needs ?security=starttls',
  },
  tlsMismatch: {
    api: 'This port does not speak TLS from the first byte: use security "starttls" (port 587), or port 465 with security "tls"',
    cli: 'This port does not speak TLS from the first byte: use ?security=starttls (port 587) in --url, or smtps:// on port 465',
  },
  startTlsBroken: {
    api: 'The server offered STARTTLS but could not complete it; check its TLS setup, or use port 465 with security "tls"',
    cli: 'The server offered STARTTLS but could not complete it; check its TLS setup, or use smtps:// on port 465 in --url',
  },
  startTlsUnavailable: {
    api: 'Use port 465 with security "tls", or a server that offers STARTTLS. Only a trusted local relay should use security "none"',
    cli: 'Use smtps:// on port 465 in --url, or a server that offers STARTTLS. Only a trusted local relay should use ?security=none',
  },
  greetingSlow: {
    api: 'Check the port; the server may need more time (transport.greetingTimeout)',
    cli: 'Check the port in --url; the server may need more time (--timeout)',
  },
  expectsImplicitTls: (port: number): Wording => {
    const implicitPort = port === 465 ? ' (port 465 needs implicit TLS)' : '';
    return {
      api: `The server probably expects TLS from the first byte${implicitPort}: use security "tls"`,
      cli: `The server probably expects TLS from the first byte${implicitPort}: use smtps:// (or ?security=tls) in --url`,
    };
  },
  greetingRefused: both('The server does not accept connections from this client now'),
  helloRefused: {
    api: 'The server does not accept this client; check transport.host and transport.port',
    cli: 'The server does not accept this client; check the host and port in --url',
  },
  authOnlyOverTls: {
    api: 'Many servers offer AUTH only over TLS: use security "starttls" or "tls"',
    cli: 'Many servers offer AUTH only over TLS: use ?security=starttls or smtps:// in --url',
  },
  authNotNeeded: {
    api: 'Remove transport.auth if this server needs no login',
    cli: 'Remove the user from --url if this server needs no login',
  },
  authFailed: {
    api: 'Check the user and password in transport.auth; some providers (Gmail, Outlook with 2-step verification) require an app password',
    cli: `Check the user in --url and the password in ${DOCTOR_PASSWORD_ENV}; some providers (Gmail, Outlook with 2-step verification) require an app password`,
  },
  loginRequired: {
    api: 'The server requires a login first: set transport.auth',
    cli: `The server requires a login first: put the user in --url (smtp://user@host) and the password in ${DOCTOR_PASSWORD_ENV}`,
  },
  senderNotAllowed: {
    api: 'Set from to an address of a domain this server may send for',
    cli: 'Pass --from with an address of a domain this server may send for',
  },
  relayDenied: {
    api: 'Authenticate (transport.auth), or use a sender address the server accepts',
    cli: 'Log in (a user in --url), or pass --from with a sender address the server accepts',
  },
  recipientRejected: {
    api: 'Check the address; the server says it cannot deliver there',
    cli: 'Check the --to address; the server says it cannot deliver there',
  },
  dataRefused: both('See the server reply'),
  messageRefused: both('See the server reply; it may be filtering content'),
  conversationTimeout: both('Check the server and any firewall between it and you'),
  conversationClosed: both('Check the server logs; it may be refusing this client'),
} satisfies Record<string, Wording | ((port: number) => Wording)>;

/** The hints whose text names the port. */
type SmtpPortHint = { [Hint in keyof typeof HINTS]: (typeof HINTS)[Hint] extends (port: number) => Wording ? Hint : never }[keyof typeof HINTS];
/** The name of one piece of advice that does not depend on the port. */
export type SmtpHint = Exclude<keyof typeof HINTS, SmtpPortHint>;

/** A hint in the reader's wording; the hints that name the port need it. */
export function smtpHint(hint: SmtpHint, audience: HintAudience): string;
export function smtpHint(hint: SmtpPortHint, audience: HintAudience, port: number): string;
export function smtpHint(hint: SmtpHint | SmtpPortHint, audience: HintAudience, port = 0): string {
  const entry: Wording | ((port: number) => Wording) = HINTS[hint];
  return (typeof entry === 'function' ? entry(port) : entry)[audience];
}

/**
 * The advice for a server that took the connection but sent no greeting: with implicit TLS it may be
 * slow; otherwise it probably waits for a TLS handshake first. The one source for the diagnosis and the
 * failure classifier (the pause reason), so both say the same.
 */
export function noGreetingHint(security: EffectiveSmtpSecurity, port: number, audience: HintAudience): string {
  return security === 'tls' ? smtpHint('greetingSlow', audience) : smtpHint('expectsImplicitTls', audience, port);
}
