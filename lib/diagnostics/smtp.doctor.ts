import { lookup } from 'node:dns/promises';
import { createConnection, isIP, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { TenantHostRefusedError } from '../errors';
import { CredentialRedactor, credentialRedactor, defaultPortFor, securityOfFlags, SMTP_TIMEOUT_DEFAULTS, SmtpReply } from '../transport';
import type { NodemailerSmtpOptions, TenantNetworkGuard } from '../transport';
import { DiagnosedServer, DiagnosisFailures, StepFailure } from './diagnosis.failures';
import type { DiagnosisRequest, DiagnosisStep, DiagnosisStepName, TransportDiagnosis } from './diagnosis.types';
import { SmtpDialogue } from './smtp-dialogue';
import { connectionEnded, SmtpSession } from './smtp.session';

/** A step that passed: what it found, and what the next step needs. */
interface Passed<T = undefined> {
  detail: string;
  value: T;
  /** When it ended, for a step read from the transcript after nodemailer's call settled; now otherwise. */
  endedAt?: number;
}

/** How one nodemailer call ended, with the time it did. */
type Settled<T> = { ok: true; value: T; at: number } | { ok: false; error: NodemailerError; at: number };

function settle<T>(call: Promise<T>): Promise<Settled<T>> {
  return call.then(
    (value): Settled<T> => ({ ok: true, value, at: performance.now() }),
    (error: NodemailerError): Settled<T> => ({ ok: false, error, at: performance.now() }),
  );
}

const passed = (detail: string, endedAt?: number): Passed => ({ detail, value: undefined, endedAt });

/**
 * Walks an SMTP conversation step by step — DNS, TCP, TLS, greeting, AUTH, MAIL FROM, RCPT, DATA —
 * and stops at the first failure with a plain-words hint. Credentials are sent, never reported.
 *
 * DNS and TCP are checked here; from there nodemailer's own SMTPConnection talks to the server, so the
 * diagnosis exercises what delivery does. It opens the session (TLS, greeting, EHLO, STARTTLS) and sends
 * (MAIL FROM, RCPT, DATA) in one call each; the transaction log splits those calls into steps.
 */
class SmtpDoctor {
  private readonly steps: DiagnosisStep[] = [];
  private readonly server: DiagnosedServer;
  private readonly failures: DiagnosisFailures;
  /** How long a command may wait for its reply. */
  private readonly commandTimeout: number;
  /** What the server or the network said, as reported: without the login this transport sends. */
  private readonly quote: CredentialRedactor;

  constructor(
    private readonly options: NodemailerSmtpOptions,
    private readonly request: DiagnosisRequest,
    /** A tenant's transport: the address connected to is one this guard checked. */
    private readonly guard?: TenantNetworkGuard,
  ) {
    // Fail closed: a transport that connects through a guard is never diagnosed around it.
    if (options.getSocket && !guard) throw new Error('diagnoseSmtp: this transport connects through a guard; pass it');
    const security = securityOfFlags(options);
    this.server = {
      host: options.host ?? 'localhost',
      port: Number(options.port) || defaultPortFor(security),
      security,
      connectionTimeout: options.connectionTimeout ?? SMTP_TIMEOUT_DEFAULTS.connectionTimeout,
      greetingTimeout: options.greetingTimeout ?? SMTP_TIMEOUT_DEFAULTS.greetingTimeout,
    };
    this.commandTimeout = options.socketTimeout ?? SMTP_TIMEOUT_DEFAULTS.socketTimeout;
    this.quote = credentialRedactor(options.auth);
    this.failures = new DiagnosisFailures(this.server, request.hints ?? 'api', this.quote);
  }

  async diagnose(description: string): Promise<TransportDiagnosis> {
    try {
      const address = await this.step('dns', () => this.dns());
      const socket = await this.step('connect', () => this.connect(address));
      const { connectionTimeout, greetingTimeout } = this.server;
      await this.converse(new SmtpSession(socket, { ...this.options, connectionTimeout, greetingTimeout, socketTimeout: this.commandTimeout }));
      return { ok: true, transport: description, steps: this.steps };
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      // A refused tenant host reports no step: no address, no timing, nothing about the port.
      const steps = error.failure.code === 'TENANT_HOST_REFUSED' ? [] : this.steps;
      return { ok: false, transport: description, steps, failure: error.failure };
    }
  }

  /** Everything after TCP, over nodemailer's client; the session is closed however it ends. */
  private async converse(session: SmtpSession): Promise<void> {
    try {
      await this.open(session);
      const { user, pass } = this.options.auth ?? {};
      if (user) await this.step('auth', () => this.auth(session, user, pass ?? ''));
      const { request } = this;
      if (request.to !== undefined) await this.send(session, request.to, request.message);
      else await this.step('mail-from', () => this.mailFromOnly(session));
      session.quit();
    } finally {
      session.close();
    }
  }

  private async dns(): Promise<Passed<string>> {
    const { host } = this.server;
    if (this.guard) return this.checkedAddress(this.guard);
    if (isIP(host)) return { detail: `${host} is an IP address`, value: host };
    const { address } = await lookup(host).catch((error: NodeJS.ErrnoException) => {
      throw this.failures.dnsFailed(error);
    });
    return { detail: `${host} resolves to ${address}`, value: address };
  }

  /** A tenant's host, resolved once and checked: the connect step goes to this very address. */
  private async checkedAddress(guard: TenantNetworkGuard): Promise<Passed<string>> {
    const { host, connectionTimeout } = this.server;
    const [address] = await guard.resolve(host, connectionTimeout).catch((error: Error) => {
      throw error instanceof TenantHostRefusedError ? this.failures.hostRefused() : this.failures.dnsFailed(error as NodeJS.ErrnoException);
    });
    return { detail: isIP(host) ? `${host} is an IP address` : `${host} resolves to ${address}`, value: address };
  }

  private connect(address: string): Promise<Passed<Socket>> {
    const { port, connectionTimeout } = this.server;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: address, port });
      const fail = (failure: StepFailure) => {
        clearTimeout(timer);
        socket.destroy();
        reject(failure);
      };
      const timer = setTimeout(() => fail(this.failures.connectTimedOut()), connectionTimeout);
      socket.once('error', (error: NodeJS.ErrnoException) => fail(this.failures.connectFailed(error)));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve({ detail: `connected to ${address}:${port}`, value: socket });
      });
    });
  }

  /** nodemailer's connect(): implicit TLS, greeting and EHLO, STARTTLS; read back as the tls and greeting steps. */
  private async open(session: SmtpSession): Promise<void> {
    const since = performance.now();
    const opened = await settle(session.open());
    let stepStart = since;
    if (this.server.security === 'tls') stepStart = this.record('tls', stepStart, opened.at, () => this.implicitTls(session, opened));
    stepStart = this.record('greeting', stepStart, opened.at, () => this.greeting(session, opened));
    if (this.server.security !== 'tls') this.record('tls', stepStart, opened.at, () => this.startTls(session, opened));
  }

  private implicitTls(session: SmtpSession, opened: Settled<void>): Passed {
    const connectedAt = session.transcript.connectedAt();
    if (connectedAt === undefined) throw this.failures.handshakeFailed(this.errorOf(opened), false);
    return passed(`implicit TLS (${session.tlsProtocol}), certificate trusted`, connectedAt);
  }

  /** The greeting and the EHLO after it; it ends where STARTTLS begins. */
  private greeting(session: SmtpSession, opened: Settled<void>): Passed {
    const [greeting] = session.transcript.exchangesSince(0);
    const startTlsAt = session.transcript.sentAt('STARTTLS');
    if (!opened.ok && startTlsAt === undefined) throw this.failures.greetingFailed(opened.error, greeting?.reply);
    return passed(`"${this.quote(greeting.reply.raw)}"`, startTlsAt ?? opened.at);
  }

  private startTls(session: SmtpSession, opened: Settled<void>): Passed {
    if (this.server.security === 'none') return passed('not used (security "none")');
    if (session.transcript.sentAt('STARTTLS') === undefined) return passed('not offered by the server; continuing in plaintext (opportunistic)');
    if (!opened.ok) throw this.startTlsFailure(session, opened.error);
    return passed(`STARTTLS (${session.tlsProtocol}), certificate trusted`, opened.at);
  }

  private startTlsFailure(session: SmtpSession, error: NodemailerError): StepFailure {
    const exchanges = session.transcript.exchangesSince(0);
    const startTls = exchanges.findIndex((exchange) => exchange.command === 'STARTTLS');
    const answer = exchanges[startTls]?.reply;
    if (answer && answer.code !== 220) {
      // nodemailer sends STARTTLS under security "starttls" even when EHLO did not list it.
      const offered = exchanges[startTls - 1]?.reply.lines.some((line) => /^STARTTLS\b/i.test(line)) ?? false;
      return this.failures.startTlsRefused(answer, offered);
    }
    // Secured already: the EHLO over TLS is what failed.
    if (session.secure) return this.failures.greetingFailed(error, exchanges[0]?.reply);
    return this.failures.handshakeFailed(error, true);
  }

  private async auth(session: SmtpSession, user: string, pass: string): Promise<Passed> {
    if (!session.offersLogin) throw this.failures.authUnavailable();
    await session.login(user, pass).catch((error: NodemailerError) => {
      throw this.failures.authFailed(error);
    });
    return passed(`logged in as ${user}`);
  }

  /**
   * MAIL FROM alone, to check the sender without sending anything. SMTPConnection cannot do this: its
   * send() always goes on to RCPT TO and DATA. So this one command is hand-written, over the socket
   * nodemailer opened, secured and logged in on.
   */
  private async mailFromOnly(session: SmtpSession): Promise<Passed> {
    const socket = session.takeSocket();
    if (!socket) throw this.failures.conversationLost(connectionEnded(), 'MAIL FROM');
    const reply = await new SmtpDialogue(socket).command(`MAIL FROM:<${this.request.from}>`, this.commandTimeout).catch((error: NodemailerError) => {
      throw this.failures.conversationLost(error, 'MAIL FROM');
    });
    return passed(this.acceptedSender(reply));
  }

  /** nodemailer's send(): MAIL FROM, RCPT TO and DATA, read back as three steps. */
  private async send(session: SmtpSession, to: string, message: Buffer): Promise<void> {
    const since = performance.now();
    const mark = session.transcript.mark();
    const sent = await settle(session.send(this.request.from, to, message));
    const reply = (verb: string) => session.transcript.exchangesSince(mark).find((exchange) => exchange.command?.startsWith(verb));
    const failed = (during: string) => this.failures.conversationLost(this.errorOf(sent), during);
    let stepStart = this.record('mail-from', since, sent.at, () => {
      const answer = reply('MAIL FROM');
      if (!answer) throw failed('MAIL FROM');
      return passed(this.acceptedSender(answer.reply), answer.at);
    });
    stepStart = this.record('rcpt', stepStart, sent.at, () => {
      const answer = reply('RCPT TO');
      if (!answer) throw failed('RCPT TO');
      if (answer.reply.code !== 250 && answer.reply.code !== 251) throw this.failures.recipientRejected(answer.reply, to);
      return passed(`"${this.quote(answer.reply.raw)}"`, answer.at);
    });
    this.record('data', stepStart, sent.at, () => {
      if (!sent.ok) throw this.failures.dataFailed(sent.error);
      return passed(`"${this.quote(sent.value.split(/\r?\n/).pop() ?? '')}"`, sent.at);
    });
  }

  /** The detail of an accepted MAIL FROM; throws when the server refused the sender. */
  private acceptedSender(reply: SmtpReply): string {
    if (reply.code !== 250) throw this.failures.senderRejected(reply, this.request.from);
    return `"${this.quote(reply.raw)}"`;
  }

  /** The error of a call that must have failed, since the step it would have passed is missing. */
  private errorOf(settled: Settled<unknown>): NodemailerError {
    return settled.ok ? connectionEnded() : settled.error;
  }

  /** Runs a step now, timing it. */
  private async step<T>(name: DiagnosisStepName, run: () => Promise<Passed<T>>): Promise<T> {
    const started = performance.now();
    try {
      const { detail, value } = await run();
      this.steps.push({ step: name, ok: true, ms: Math.round(performance.now() - started), detail });
      return value;
    } catch (error) {
      if (error instanceof StepFailure) this.steps.push({ step: name, ok: false, ms: Math.round(performance.now() - started), detail: error.detail });
      throw error;
    }
  }

  /** Records a step read from the transcript of a call that settled at `settledAt`; returns when it ended. */
  private record(name: DiagnosisStepName, since: number, settledAt: number, read: () => Passed): number {
    try {
      const { detail, endedAt = since } = read();
      this.steps.push({ step: name, ok: true, ms: Math.round(endedAt - since), detail });
      return endedAt;
    } catch (error) {
      if (error instanceof StepFailure) this.steps.push({ step: name, ok: false, ms: Math.round(settledAt - since), detail: error.detail });
      throw error;
    }
  }
}

/** Diagnoses the SMTP server of `options` (described, without password, as `description`). */
export async function diagnoseSmtp(
  options: NodemailerSmtpOptions,
  description: string,
  request: DiagnosisRequest,
  /** Given for a tenant's transport (see `ResolvedTransport.guard`): only addresses it permits are connected to. */
  guard?: TenantNetworkGuard,
): Promise<TransportDiagnosis> {
  // Server text is redacted where it is quoted (see SmtpDoctor.quote); the library's own words are not.
  return new SmtpDoctor(options, request, guard).diagnose(description);
}
