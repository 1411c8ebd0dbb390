import type { NodemailerError } from 'nodemailer/lib/errors';
import {
  redact,
  HintAudience,
  noGreetingHint,
  SmtpHint,
  smtpHint,
  EffectiveSmtpSecurity,
  isRelayDenial,
  LOGIN_REQUIRED_REPLY,
  parseSmtpReply,
  RELAY_PORT,
  SmtpReply,
  tlsProblemOf,
} from '../transport';
import type { DiagnosisFailure, DiagnosisFailureCode } from './diagnosis.types';

/** Ends a diagnosis at the step that failed; the doctor turns it into the diagnosis' failure. */
export class StepFailure extends Error {
  constructor(
    readonly failure: DiagnosisFailure,
    /** The failed step's detail: the message, and the server's reply when there was one. */
    readonly detail: string,
  ) {
    super(failure.message);
  }
}

/** What the connection the diagnosis checks looks like, for messages and hints. */
export interface DiagnosedServer {
  host: string;
  port: number;
  security: EffectiveSmtpSecurity;
  connectionTimeout: number;
  greetingTimeout: number;
}

/** The server's reply an error carries, parsed. */
function replyOf(error: NodemailerError): SmtpReply | undefined {
  return error.response ? parseSmtpReply(error.response) : undefined;
}

/**
 * What each way a step can fail means, and what to change, worded for whoever asked (module options
 * for the API, flags for the CLI).
 */
export class DiagnosisFailures {
  constructor(
    private readonly server: DiagnosedServer,
    private readonly audience: HintAudience,
    /**
     * Redacts what the server or the network said (replies, error messages), the only text that can
     * echo a credential. The library's own words (messages, hints, the host) are composed around it
     * unredacted, so that a short password never garbles them.
     */
    private readonly quote: (text: string) => string,
  ) {}

  /** The host name did not resolve. */
  dnsFailed(error: NodeJS.ErrnoException): StepFailure {
    const { host } = this.server;
    return this.fail('DNS_FAILED', `The host name ${host} does not resolve (${error.code ?? 'lookup failed'})`, [this.hint('dnsFailed')]);
  }

  /** A tenant's host is not a public address: nothing was connected. Names the host as given, never what it resolved to. */
  hostRefused(): StepFailure {
    const { host } = this.server;
    return this.fail(
      'TENANT_HOST_REFUSED',
      `The host ${host} was refused: tenant SMTP settings may only reach public addresses, and it is not one nor resolves to one`,
      ["Use a public SMTP host in the tenant's settings", "To let tenants use a relay on your own network, list its range in tenantTransports.allowPrivateNetworks (e.g. ['10.0.0.0/8'])"],
    );
  }

  /** Nothing answered the TCP connection within connectionTimeout. */
  connectTimedOut(): StepFailure {
    const { host, port, connectionTimeout } = this.server;
    return this.fail('CONNECTION_TIMEOUT', `Nothing answered on ${host}:${port} within ${connectionTimeout} ms`, this.connectionHint(this.hint('noAnswer')));
  }

  /** The TCP connection was refused or broke. */
  connectFailed(error: NodeJS.ErrnoException): StepFailure {
    const { host, port } = this.server;
    const refused = error.code === 'ECONNREFUSED';
    return this.fail(
      refused ? 'CONNECTION_REFUSED' : 'CONNECTION_CLOSED',
      `The connection to ${host}:${port} failed (${error.code ?? this.quote(error.message)})`,
      this.connectionHint(refused ? smtpHint('nothingListens', this.audience, port) : this.hint('serverDown')),
    );
  }

  /** The TLS handshake failed, of implicit TLS or after STARTTLS (`upgrading`). */
  handshakeFailed(error: NodemailerError, upgrading: boolean): StepFailure {
    if (tlsProblemOf(error) === 'untrusted-certificate') {
      return this.fail('CERTIFICATE_UNTRUSTED', `The server certificate is not trusted (${this.quote(error.message)})`, [this.hint('untrustedCertificate')]);
    }
    if (error.code === 'ETIMEDOUT') {
      return this.fail('GREETING_TIMEOUT', 'The server did not answer the TLS handshake', [this.hint('noTlsAnswer')]);
    }
    return this.fail(
      'TLS_MISMATCH',
      `The TLS handshake failed (${error.originalCode ?? error.code ?? this.quote(error.message)})`,
      [this.hint(upgrading ? 'startTlsBroken' : 'tlsMismatch')],
    );
  }

  /** Opening the session failed after the connection was up and before STARTTLS: at the greeting or EHLO. */
  greetingFailed(error: NodemailerError, greeting: SmtpReply | undefined): StepFailure {
    if (error.code === 'ETIMEDOUT' && !greeting) {
      const { security, port, greetingTimeout } = this.server;
      return this.fail(
        'GREETING_TIMEOUT',
        `The server accepted the connection but sent no greeting within ${greetingTimeout} ms`,
        [noGreetingHint(security, port, this.audience)],
      );
    }
    if (greeting && greeting.code !== 220) {
      return this.fail('GREETING_REJECTED', 'The server refused the connection', [this.hint('greetingRefused')], greeting);
    }
    const refusal = replyOf(error);
    if (refusal) return this.fail('GREETING_REJECTED', 'The server refused EHLO', [this.hint('helloRefused')], refusal);
    return this.conversationLost(error, 'the greeting');
  }

  /** The server answered STARTTLS with a refusal; `offered` says whether its EHLO listed STARTTLS. */
  startTlsRefused(refusal: SmtpReply, offered: boolean): StepFailure {
    return this.fail(
      'STARTTLS_UNAVAILABLE',
      offered
        ? 'The server refused STARTTLS'
        : 'The server does not offer STARTTLS, and security "starttls" requires it; nothing was sent in plaintext',
      [this.hint('startTlsUnavailable')],
      refusal,
    );
  }

  /** A login is configured but the server's EHLO offers no AUTH. */
  authUnavailable(): StepFailure {
    return this.fail('AUTH_UNAVAILABLE', 'The server offers no login (AUTH)', [this.hint(this.server.security === 'none' ? 'authOnlyOverTls' : 'authNotNeeded')]);
  }

  /** The login failed: refused by the server (with its reply), or not even tried (nodemailer says why). */
  authFailed(error: NodemailerError): StepFailure {
    if (error.code !== 'EAUTH') return this.conversationLost(error, 'AUTH');
    const refusal = replyOf(error);
    const message = refusal ? 'The server refused the login' : `The login failed (${redact(error.message, this.quote)})`;
    return this.fail('AUTH_FAILED', message, [this.hint('authFailed')], refusal);
  }

  /** MAIL FROM was refused. */
  senderRejected(refusal: SmtpReply, from: string): StepFailure {
    const hint = refusal.code === LOGIN_REQUIRED_REPLY ? 'loginRequired' : 'senderNotAllowed';
    return this.fail('SENDER_REJECTED', `The server refused the sender ${from}`, [this.hint(hint)], refusal);
  }

  /** RCPT TO was refused: a relay refusal or a bad address. */
  recipientRejected(refusal: SmtpReply, to: string): StepFailure {
    return isRelayDenial(refusal)
      ? this.fail('RELAY_DENIED', 'The server refused to relay to this recipient', [this.hint('relayDenied')], refusal)
      : this.fail('RECIPIENT_REJECTED', `The server refused the recipient ${to}`, [this.hint('recipientRejected')], refusal);
  }

  /** DATA failed: refused as a command (EENVELOPE), or the message itself after it was sent (EMESSAGE). */
  dataFailed(error: NodemailerError): StepFailure {
    const refusal = replyOf(error);
    if (!refusal || error.command !== 'DATA') return this.conversationLost(error, 'DATA');
    return error.code === 'EMESSAGE'
      ? this.fail('DATA_REJECTED', 'The server refused the message', [this.hint('messageRefused')], refusal)
      : this.fail('DATA_REJECTED', 'The server refused to take the message', [this.hint('dataRefused')], refusal);
  }

  /** The server went quiet or hung up `during` a step. */
  conversationLost(error: NodemailerError, during: string): StepFailure {
    return error.code === 'ETIMEDOUT'
      ? this.fail('CONNECTION_TIMEOUT', `The server stopped answering during ${during}`, [this.hint('conversationTimeout')])
      : this.fail('CONNECTION_CLOSED', `The server closed the connection during ${during}`, [this.hint('conversationClosed')]);
  }

  private hint(hint: SmtpHint): string {
    return smtpHint(hint, this.audience);
  }

  /** A connection hint, with the advice for port 25 when that is the port. */
  private connectionHint(hint: string): string[] {
    return this.server.port === RELAY_PORT ? [hint, this.hint('relayPortBlocked')] : [hint];
  }

  /** `hints` are sentences without their period (as the hint table has them). */
  private fail(code: DiagnosisFailureCode, message: string, hints: string[], reply?: SmtpReply): StepFailure {
    const hint = hints.map((text) => `${text}.`).join(' ');
    const failure: DiagnosisFailure = { code, message, hint, responseCode: reply?.code, enhancedCode: reply?.enhancedCode };
    return new StepFailure(failure, reply ? `${message}: "${this.quote(reply.raw)}"` : message);
  }
}
