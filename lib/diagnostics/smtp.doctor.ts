import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import type { NodemailerSmtpOptions } from '../transport/smtp-transport.resolver';
import type { DiagnosisFailure, DiagnosisFailureCode, DiagnosisStep, DiagnosisStepName, TransportDiagnosis } from './diagnosis.types';
import { ClosedByServerError, SilentServerError, SmtpDialogue, SmtpReply } from './smtp-dialogue';

const BLOCKED_PORT = 25;
const IMPLICIT_TLS_PORT = 465;
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|certificate/i;
const ENHANCED_STATUS = /\b([245]\.\d{1,3}\.\d{1,3})\b/;

export interface DiagnosisRequest {
  /** Envelope sender (bare address). */
  from: string;
  /** Recipient; without it the diagnosis stops after MAIL FROM and sends nothing. */
  to?: string;
  /** The whole message (headers and body) to send with DATA. */
  message?: Buffer;
}

type Security = 'tls' | 'starttls' | 'none' | 'opportunistic';

/** Ends a diagnosis at the step that failed. */
class StepFailure extends Error {
  constructor(
    readonly failure: DiagnosisFailure,
    readonly detail: string,
  ) {
    super(failure.message);
  }
}

function fail(code: DiagnosisFailureCode, message: string, hint: string, reply?: SmtpReply): StepFailure {
  const enhancedCode = reply ? ENHANCED_STATUS.exec(reply.raw)?.[1] : undefined;
  return new StepFailure({ code, message, hint, responseCode: reply?.code, enhancedCode }, reply ? `${message}: "${reply.raw}"` : message);
}

function securityOf(options: NodemailerSmtpOptions): Security {
  if (options.secure) return 'tls';
  if (options.requireTLS) return 'starttls';
  if (options.ignoreTLS) return 'none';
  return 'opportunistic';
}

/**
 * Walks an SMTP conversation step by step — DNS, TCP, TLS, greeting, AUTH, MAIL FROM, RCPT, DATA —
 * and stops at the first failure with a plain-words hint. Credentials are sent, never reported.
 */
export async function diagnoseSmtp(options: NodemailerSmtpOptions, description: string, request: DiagnosisRequest): Promise<TransportDiagnosis> {
  const steps: DiagnosisStep[] = [];
  const host = options.host as string;
  const port = options.port as number;
  const security = securityOf(options);
  const tlsSettings = options.tls ?? {};
  const connectionTimeout = options.connectionTimeout ?? 10_000;
  const greetingTimeout = options.greetingTimeout ?? 10_000;
  const commandTimeout = options.socketTimeout ?? 60_000;
  let dialogue: SmtpDialogue | undefined;
  let socket: Socket | TLSSocket = new Socket();

  async function step(name: DiagnosisStepName, run: () => Promise<string>): Promise<void> {
    const started = process.hrtime.bigint();
    const ms = () => Math.round(Number(process.hrtime.bigint() - started) / 1e6);
    try {
      const detail = await run();
      steps.push({ step: name, ok: true, ms: ms(), detail });
    } catch (error) {
      const failure = error instanceof SilentServerError || error instanceof ClosedByServerError ? conversationLost(error, name) : error;
      if (!(failure instanceof StepFailure)) throw failure;
      steps.push({ step: name, ok: false, ms: ms(), detail: failure.detail });
      throw failure;
    }
  }

  function tlsHandshake(socket: Socket): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({
        socket,
        servername: tlsSettings.servername ?? (isIP(host) ? undefined : host),
        ca: tlsSettings.ca as string | string[] | undefined,
        rejectUnauthorized: tlsSettings.rejectUnauthorized ?? true,
      });
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new SilentServerError());
      }, greetingTimeout);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(secure);
      });
      secure.once('error', (error) => {
        clearTimeout(timer);
        secure.destroy();
        reject(error);
      });
    });
  }

  function tlsFailure(error: unknown, upgrading: boolean): StepFailure {
    const text = `${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`;
    if (CERTIFICATE_ERROR.test(text)) {
      return fail(
        'CERTIFICATE_UNTRUSTED',
        `The server certificate is not trusted (${(error as Error).message})`,
        'Set transport.tls.ca to the certificate of the CA that signed it, or transport.tls.servername to the name on it. Do not turn certificate checks off.',
      );
    }
    if (error instanceof SilentServerError) {
      return fail('GREETING_TIMEOUT', 'The server did not answer the TLS handshake', 'Check the port and security: 465 needs security "tls", 587 needs "starttls".');
    }
    return fail(
      'TLS_MISMATCH',
      `The TLS handshake failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      upgrading
        ? 'The server offered STARTTLS but could not complete it; check its TLS setup, or use port 465 with security "tls".'
        : `Port ${port} does not speak TLS from the first byte. Use security "starttls" (port 587), or port 465 for implicit TLS.`,
    );
  }

  async function ehlo(): Promise<SmtpReply> {
    const reply = await (dialogue as SmtpDialogue).command('EHLO nestjs-email-workflow.doctor', commandTimeout);
    if (reply.code !== 250) throw fail('GREETING_REJECTED', 'The server refused EHLO', 'The server does not accept this client; check the host and port.', reply);
    return reply;
  }

  async function expect(name: string, line: string, accepted: number[], onRefusal: (reply: SmtpReply) => StepFailure): Promise<SmtpReply> {
    const reply = await (dialogue as SmtpDialogue).command(line, commandTimeout).catch((error: unknown) => {
      throw conversationLost(error, name);
    });
    if (!accepted.includes(reply.code)) throw onRefusal(reply);
    return reply;
  }

  function conversationLost(error: unknown, during: string): StepFailure {
    if (error instanceof StepFailure) return error;
    return error instanceof SilentServerError
      ? fail('CONNECTION_TIMEOUT', `The server stopped answering during ${during}`, 'Check the server and any firewall between it and you.')
      : fail('CONNECTION_CLOSED', `The server closed the connection during ${during}`, 'Check the server logs; it may be refusing this client.');
  }

  try {
    let address = host;
    await step('dns', async () => {
      if (isIP(host)) return `${host} is an IP address`;
      try {
        address = (await lookup(host)).address;
        return `${host} resolves to ${address}`;
      } catch (error) {
        throw fail(
          'DNS_FAILED',
          `The host name ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`,
          'Check the spelling of transport.host, and that this machine can resolve public names.',
        );
      }
    });

    await step('connect', async () => {
      const tcp = socket as Socket;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new SilentServerError()), connectionTimeout);
        tcp.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        tcp.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        tcp.connect(port, address);
      }).catch((error: unknown) => {
        tcp.destroy();
        const blockedHint =
          port === BLOCKED_PORT ? ' Port 25 is often blocked by networks and cloud providers: try 587 with security "starttls".' : '';
        if (error instanceof SilentServerError) {
          throw fail('CONNECTION_TIMEOUT', `Nothing answered on ${host}:${port} within ${connectionTimeout} ms`, `A firewall may be dropping the traffic, or the port is wrong.${blockedHint}`);
        }
        const code = (error as NodeJS.ErrnoException).code;
        throw fail(
          code === 'ECONNREFUSED' ? 'CONNECTION_REFUSED' : 'CONNECTION_CLOSED',
          `The connection to ${host}:${port} failed (${code ?? (error as Error).message})`,
          code === 'ECONNREFUSED'
            ? `Nothing listens on port ${port} there: check the host and port (465 for implicit TLS, 587 for STARTTLS).${blockedHint}`
            : `Check the host and port, and that the server is up.${blockedHint}`,
        );
      });
      return `connected to ${address}:${port}`;
    });

    if (security === 'tls') {
      await step('tls', async () => {
        socket = await tlsHandshake(socket as Socket).catch((error: unknown) => {
          throw tlsFailure(error, false);
        });
        return `implicit TLS (${(socket as TLSSocket).getProtocol()}), certificate trusted`;
      });
    }
    dialogue = new SmtpDialogue(socket);

    let capabilities: SmtpReply | undefined;
    await step('greeting', async () => {
      const greeting = await (dialogue as SmtpDialogue).reply(greetingTimeout).catch((error: unknown) => {
        if (error instanceof SilentServerError) {
          throw fail(
            'GREETING_TIMEOUT',
            `The server accepted the connection but sent no greeting within ${greetingTimeout} ms`,
            security === 'tls'
              ? 'Check the port; the server may need more time (greetingTimeout).'
              : `The server probably expects TLS from the first byte${port === IMPLICIT_TLS_PORT ? ' — port 465 needs implicit TLS' : ''}: use security "tls".`,
          );
        }
        throw conversationLost(error, 'the greeting');
      });
      if (greeting.code !== 220) throw fail('GREETING_REJECTED', 'The server refused the connection', 'The server does not accept this client now.', greeting);
      capabilities = await ehlo();
      return `"${greeting.raw}"`;
    });

    if (security === 'starttls' || security === 'opportunistic') {
      const offersStartTls = (capabilities as SmtpReply).lines.some((line) => /^STARTTLS\b/i.test(line));
      if (offersStartTls) {
        await step('tls', async () => {
          const reply = await (dialogue as SmtpDialogue).command('STARTTLS', commandTimeout);
          if (reply.code !== 220) throw fail('STARTTLS_UNAVAILABLE', 'The server refused STARTTLS', 'Use port 465 with security "tls".', reply);
          const upgraded = await tlsHandshake(socket as Socket).catch((error: unknown) => {
            throw tlsFailure(error, true);
          });
          (dialogue as SmtpDialogue).upgrade(upgraded);
          socket = upgraded;
          capabilities = await ehlo();
          return `STARTTLS (${upgraded.getProtocol()}), certificate trusted`;
        });
      } else if (security === 'starttls') {
        await step('tls', async () => {
          throw fail(
            'STARTTLS_UNAVAILABLE',
            'The server does not offer STARTTLS, and security "starttls" requires it; nothing was sent in plaintext',
            'Use port 465 with security "tls", or a server that offers STARTTLS. Only a trusted local relay should use security "none".',
          );
        });
      } else {
        steps.push({ step: 'tls', ok: true, ms: 0, detail: 'not offered by the server; continuing in plaintext (opportunistic)' });
      }
    } else if (security === 'none') {
      steps.push({ step: 'tls', ok: true, ms: 0, detail: 'not used (security "none")' });
    }

    const auth = options.auth as { user?: string; pass?: string } | undefined;
    const user = auth?.user;
    const pass = auth?.pass ?? '';
    if (user) {
      await step('auth', async () => {
        const mechanisms = (capabilities as SmtpReply).lines.find((line) => /^AUTH\b/i.test(line));
        if (!mechanisms) {
          throw fail(
            'AUTH_UNAVAILABLE',
            'The server offers no login (AUTH)',
            security === 'none' ? 'Many servers offer AUTH only over TLS: use security "starttls" or "tls".' : 'Remove transport.auth if this server needs no login.',
          );
        }
        const refused = (reply: SmtpReply) =>
          fail(
            'AUTH_FAILED',
            'The server refused the login',
            'Wrong username or password, or the provider requires an app password (Gmail, Outlook with 2-step verification). Check transport.auth.',
            reply,
          );
        if (/\bPLAIN\b/i.test(mechanisms)) {
          const credentials = Buffer.from(`\u0000${user}\u0000${pass}`).toString('base64');
          await expect('AUTH', `AUTH PLAIN ${credentials}`, [235], refused);
        } else {
          await expect('AUTH', 'AUTH LOGIN', [334], refused);
          await expect('AUTH', Buffer.from(user).toString('base64'), [334], refused);
          await expect('AUTH', Buffer.from(pass).toString('base64'), [235], refused);
        }
        return `logged in as ${user}`;
      });
    }

    await step('mail-from', async () => {
      const reply = await expect('MAIL FROM', `MAIL FROM:<${request.from}>`, [250], (refusal) =>
        fail(
          'SENDER_REJECTED',
          `The server refused the sender ${request.from}`,
          refusal.code === 530 ? 'The server requires a login first: set transport.auth.' : 'Use a From address of a domain this server may send for.',
          refusal,
        ),
      );
      return `"${reply.raw}"`;
    });

    if (request.to) {
      await step('rcpt', async () => {
        const reply = await expect('RCPT TO', `RCPT TO:<${request.to}>`, [250, 251], (refusal) =>
          /5\.7\.1/.test(refusal.raw) || (refusal.code === 550 && /relay/i.test(refusal.raw))
            ? fail('RELAY_DENIED', 'The server refused to relay to this recipient', 'Authenticate (transport.auth), or use a sender address the server accepts.', refusal)
            : fail('RECIPIENT_REJECTED', `The server refused the recipient ${request.to}`, 'Check the address; the server says it cannot deliver there.', refusal),
        );
        return `"${reply.raw}"`;
      });
      if (request.message) {
        await step('data', async () => {
          await expect('DATA', 'DATA', [354], (refusal) => fail('DATA_REJECTED', 'The server refused to take the message', 'See the server reply.', refusal));
          const body = request.message!.toString('utf8').replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
          (dialogue as SmtpDialogue).writeRaw(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
          const reply = await (dialogue as SmtpDialogue).reply(commandTimeout).catch((error: unknown) => {
            throw conversationLost(error, 'DATA');
          });
          if (reply.code !== 250) throw fail('DATA_REJECTED', 'The server refused the message', 'See the server reply; it may be filtering content.', reply);
          return `"${reply.raw}"`;
        });
      }
    }
    dialogue.write('QUIT');
    return { ok: true, transport: description, steps };
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    return { ok: false, transport: description, steps, failure: error.failure };
  } finally {
    if (dialogue) dialogue.close();
    else socket.destroy();
  }
}

