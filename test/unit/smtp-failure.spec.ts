import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { createTransport } from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SMTPServer } from 'smtp-server';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type { SmtpFailure } from '../../lib/errors';
import { classifySmtpFailure } from '../../lib/transport/smtp.failure';
import { TEST_TLS } from '../support/smtp-sink';

/**
 * Errors are built by nodemailer's own `SMTPConnection#_formatError` (the function every SMTP and
 * socket failure goes through), so `code`, `originalCode`, `response`, `responseCode`, `command`
 * and the message suffix are exactly what a real failure carries.
 */
type FormatError = (message: string | Error, type: string, response: string | false, command: string) => NodemailerError;
const formatError = (SMTPConnection.prototype as unknown as { _formatError: FormatError })._formatError;

/** A reply the server sent to a command (as in `_actionRCPT`, `_actionMAIL`, `_actionAUTHComplete`…). */
function reply(message: string, type: string, response: string, command: string): NodemailerError {
  return formatError.call({}, message, type, response, command);
}

/** A Node system or TLS error as the socket raises it, passed through `_onError(err, type, false, 'CONN')`. */
function socketError(message: string, originalCode: string, type = 'ESOCKET', extra: Record<string, unknown> = {}): NodemailerError {
  return formatError.call({}, Object.assign(new Error(message), { code: originalCode, ...extra }), type, false, 'CONN');
}

/** A nodemailer failure with no underlying system error (timeouts, closed connections, TLS upgrade). */
function bare(message: string, type: string, command = 'CONN', extra: Record<string, unknown> = {}): NodemailerError {
  return formatError.call({}, Object.assign(new Error(message), extra), type, false, command);
}

interface Expected {
  kind: SmtpFailure['kind'];
  responseCode?: number;
  enhancedCode?: string;
  /** Something the reason must say. */
  says?: RegExp | string;
}

type Row = [label: string, error: NodemailerError, expected: Expected];

const ALL_REJECTED = "Can't send mail - all recipients were rejected";

const rows: Row[] = [
  // ---- transient: 4xx replies ----
  ['452 4.2.2 at RCPT', reply(ALL_REJECTED, 'EENVELOPE', '452 4.2.2 Mailbox full', 'RCPT TO'), { kind: 'transient', responseCode: 452, enhancedCode: '4.2.2', says: '452 4.2.2 Mailbox full' }],
  ['450 4.2.1 at RCPT', reply(ALL_REJECTED, 'EENVELOPE', '450 4.2.1 Mailbox temporarily disabled', 'RCPT TO'), { kind: 'transient', responseCode: 450, enhancedCode: '4.2.1' }],
  ['451 4.7.1 greylisting at MAIL FROM', reply('Mail command failed', 'EENVELOPE', '451 4.7.1 Greylisted, please try again later', 'MAIL FROM'), { kind: 'transient', responseCode: 451, enhancedCode: '4.7.1', says: 'MAIL FROM' }],
  ['451 4.3.0 at end of DATA', reply('Message failed', 'EMESSAGE', '451 4.3.0 Temporary server error', 'DATA'), { kind: 'transient', responseCode: 451, enhancedCode: '4.3.0' }],
  ['452 4.3.1 at DATA', reply('Data command failed', 'EENVELOPE', '452 4.3.1 Insufficient system storage', 'DATA'), { kind: 'transient', responseCode: 452, enhancedCode: '4.3.1' }],
  ['452 5.2.2 (reply code decides: transient)', reply(ALL_REJECTED, 'EENVELOPE', '452 5.2.2 Mailbox full', 'RCPT TO'), { kind: 'transient', responseCode: 452, enhancedCode: '5.2.2' }],
  ['4xx without an enhanced code', reply(ALL_REJECTED, 'EENVELOPE', '450 Try again later', 'RCPT TO'), { kind: 'transient', responseCode: 450, enhancedCode: undefined }],
  // ---- transient: 421 once a session is under way ----
  ['421 at RCPT', reply(ALL_REJECTED, 'EENVELOPE', '421 4.7.0 Too many connections, closing channel', 'RCPT TO'), { kind: 'transient', responseCode: 421, enhancedCode: '4.7.0' }],
  ['421 on close (idle timeout reply)', reply('Connection closed unexpectedly', 'ECONNECTION', '421 4.4.2 Timeout waiting for data', 'CONN'), { kind: 'transient', responseCode: 421, enhancedCode: '4.4.2' }],
  ['421 at EHLO', reply('Server terminates connection. response=421 Closing', 'ECONNECTION', '421 Closing', 'EHLO'), { kind: 'transient', responseCode: 421 }],
  // ---- transient: a connection lost once a session is under way ----
  ['connection reset', socketError('read ECONNRESET', 'ECONNRESET', 'ESOCKET', { errno: -104, syscall: 'read' }), { kind: 'transient', says: /ECONNRESET/ }],
  ['broken pipe', socketError('write EPIPE', 'EPIPE', 'ESOCKET', { errno: -32, syscall: 'write' }), { kind: 'transient' }],
  ['connection closed unexpectedly', bare('Connection closed unexpectedly', 'ECONNECTION'), { kind: 'transient' }],
  ['server closed the connection mid-send', bare('Server closed the connection', 'ECONNECTION'), { kind: 'transient' }],
  ['socket timeout', bare('Timeout', 'ETIMEDOUT', 'CONN', { timeoutType: 'SOCKET_TIMEOUT' }), { kind: 'transient' }],
  ['TLS handshake timeout', bare('TLS handshake timed out', 'ETIMEDOUT', 'CONN', { timeoutType: 'UPGRADE_TIMEOUT' }), { kind: 'transient' }],
  // ---- unavailable: the server cannot be reached, which says nothing about the message ----
  ['421 as greeting', reply('Invalid greeting. response=421 4.3.2 Service not available', 'EPROTOCOL', '421 4.3.2 Service not available', 'CONN'), { kind: 'unavailable', responseCode: 421, enhancedCode: '4.3.2', says: /busy.*421 4\.3\.2 Service not available/ }],
  ['connection refused', socketError('connect ECONNREFUSED 127.0.0.1:25', 'ECONNREFUSED', 'ESOCKET', { errno: -111, syscall: 'connect' }), { kind: 'unavailable', responseCode: undefined, says: /unreachable: it refused the connection \(ECONNREFUSED/ }],
  ['host unreachable', socketError('connect EHOSTUNREACH 10.0.0.1:587', 'EHOSTUNREACH', 'ESOCKET', { syscall: 'connect' }), { kind: 'unavailable', says: /unreachable: there is no route/ }],
  ['network unreachable', socketError('connect ENETUNREACH 10.0.0.1:587', 'ENETUNREACH', 'ESOCKET', { syscall: 'connect' }), { kind: 'unavailable', says: /no route/ }],
  ['connection timeout', bare('Connection timeout', 'ETIMEDOUT', 'CONN', { timeoutType: 'CONNECT_TIMEOUT' }), { kind: 'unavailable', says: /did not answer in time \(no connection\)/ }],
  ['greeting never received', bare('Greeting never received', 'ETIMEDOUT', 'CONN', { timeoutType: 'GREETING_TIMEOUT' }), { kind: 'unavailable', says: /did not answer in time \(no greeting\)/ }],
  ['DNS lookup failed (ENOTFOUND)', socketError('getaddrinfo ENOTFOUND smtp.example.test', 'ENOTFOUND', 'EDNS', { syscall: 'getaddrinfo' }), { kind: 'unavailable', says: /host name did not resolve \(ENOTFOUND/ }],
  ['DNS lookup failed (EAI_AGAIN)', socketError('getaddrinfo EAI_AGAIN smtp.example.test', 'EAI_AGAIN', 'EDNS', { syscall: 'getaddrinfo' }), { kind: 'unavailable', says: /host name did not resolve \(EAI_AGAIN/ }],
  // ---- permanent: 5xx at MAIL / RCPT / DATA ----
  ['550 5.1.1 at RCPT', reply(ALL_REJECTED, 'EENVELOPE', '550 5.1.1 No such user', 'RCPT TO'), { kind: 'permanent', responseCode: 550, enhancedCode: '5.1.1', says: /RCPT TO.*550 5\.1\.1 No such user/ }],
  ['553 5.1.3 at RCPT', reply(ALL_REJECTED, 'EENVELOPE', '553 5.1.3 Bad recipient address syntax', 'RCPT TO'), { kind: 'permanent', responseCode: 553, enhancedCode: '5.1.3' }],
  ['553 5.7.1 at MAIL FROM', reply('Mail command failed', 'EENVELOPE', '553 5.7.1 Sender address rejected', 'MAIL FROM'), { kind: 'permanent', responseCode: 553, enhancedCode: '5.7.1', says: /MAIL FROM/ }],
  ['552 5.3.4 at MAIL FROM (size)', reply('Mail command failed', 'EENVELOPE', '552 5.3.4 Message size exceeds fixed limit', 'MAIL FROM'), { kind: 'permanent', responseCode: 552, enhancedCode: '5.3.4' }],
  ['554 5.7.1 at DATA command', reply('Data command failed', 'EENVELOPE', '554 5.7.1 Transaction failed', 'DATA'), { kind: 'permanent', responseCode: 554, enhancedCode: '5.7.1', says: /DATA/ }],
  ['554 5.6.0 at end of DATA', reply('Message failed', 'EMESSAGE', '554 5.6.0 Message content rejected', 'DATA'), { kind: 'permanent', responseCode: 554, enhancedCode: '5.6.0' }],
  ['550 without an enhanced code', reply(ALL_REJECTED, 'EENVELOPE', '550 Requested action not taken: mailbox unavailable', 'RCPT TO'), { kind: 'permanent', responseCode: 550, enhancedCode: undefined }],
  ['550 4.2.2 (reply code decides: permanent)', reply(ALL_REJECTED, 'EENVELOPE', '550 4.2.2 Mailbox full', 'RCPT TO'), { kind: 'permanent', responseCode: 550, enhancedCode: '4.2.2' }],
  ['multi-line 550-5.7.26 (Gmail style)', reply(ALL_REJECTED, 'EENVELOPE', '550-5.7.26 This mail is unauthenticated\n550 5.7.26 see https://support.google.com/mail', 'RCPT TO'), { kind: 'permanent', responseCode: 550, enhancedCode: '5.7.26' }],
  // ---- configuration: authentication ----
  ['535 5.7.8 at AUTH PLAIN', reply('Invalid login', 'EAUTH', '535 5.7.8 Error: authentication failed', 'AUTH PLAIN'), { kind: 'configuration', responseCode: 535, enhancedCode: '5.7.8', says: /refused the login.*transport\.auth/ }],
  ['535 at AUTH LOGIN, no enhanced code', reply('Invalid login', 'EAUTH', '535 Authentication failed', 'AUTH LOGIN'), { kind: 'configuration', responseCode: 535, enhancedCode: undefined, says: /refused the login/ }],
  ['534 5.7.9 application-specific password required', reply('Invalid login', 'EAUTH', '534-5.7.9 Application-specific password required', 'AUTH PLAIN'), { kind: 'configuration', responseCode: 534, enhancedCode: '5.7.9', says: /app password/ }],
  ['530 5.7.0 authentication required at MAIL FROM', reply('Mail command failed', 'EENVELOPE', '530 5.7.0 Authentication required', 'MAIL FROM'), { kind: 'configuration', responseCode: 530, enhancedCode: '5.7.0' }],
  ['EAUTH without a reply (missing credentials)', bare('Missing credentials for "PLAIN"', 'EAUTH', 'API'), { kind: 'configuration', responseCode: undefined, says: /refused the login/ }],
  // ---- configuration: TLS ----
  ['STARTTLS refused (ETLS with a 5xx reply)', reply('Error upgrading connection with STARTTLS', 'ETLS', '500 Error: command not recognized', 'STARTTLS'), { kind: 'configuration', says: /STARTTLS/ }],
  ['STARTTLS failed to initiate (ETLS)', bare('Error initiating TLS - socket hang up', 'ETLS', 'STARTTLS'), { kind: 'configuration', says: /STARTTLS/ }],
  ['connection closed during the TLS upgrade (ETLS)', bare('Connection closed unexpectedly', 'ETLS'), { kind: 'configuration', says: /STARTTLS/ }],
  ['self-signed certificate', socketError('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), { kind: 'configuration', says: /tls\.ca/ }],
  ['self-signed certificate in chain', socketError('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), { kind: 'configuration', says: /not trusted/ }],
  ['unknown CA (leaf not verifiable)', socketError('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { kind: 'configuration', says: /not trusted/ }],
  ['unknown issuer', socketError('unable to get local issuer certificate', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), { kind: 'configuration', says: /not trusted/ }],
  ['expired certificate', socketError('certificate has expired', 'CERT_HAS_EXPIRED'), { kind: 'configuration', says: /not trusted/ }],
  ['host name not on the certificate', socketError("Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: ", 'ERR_TLS_CERT_ALTNAME_INVALID'), { kind: 'configuration', says: /servername/ }],
  ['STARTTLS upgrade with an untrusted certificate (ETLS wrapping)', bare('Error initiating TLS - unable to verify the first certificate', 'ETLS', 'STARTTLS'), { kind: 'configuration' }],
  ['TLS spoken to a plaintext port (wrong version number)', socketError('808C10C5967F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n', 'ERR_SSL_WRONG_VERSION_NUMBER'), { kind: 'configuration', says: /TLS mismatch.*465/ }],
  ['TLS record too long (packet length too long)', socketError('error:0A0000C6:SSL routines:tls_get_more_records:packet length too long', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'), { kind: 'configuration', says: /TLS mismatch/ }],
];

describe('classifySmtpFailure', () => {
  it('builds errors exactly as nodemailer does (sanity check of the fixture)', () => {
    const error = reply(ALL_REJECTED, 'EENVELOPE', '550 5.1.1 No such user', 'RCPT TO');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(`${ALL_REJECTED}: 550 5.1.1 No such user`);
    expect({ ...error }).toEqual({ code: 'EENVELOPE', response: '550 5.1.1 No such user', responseCode: 550, permanent: true, command: 'RCPT TO' });
    const refused = socketError('connect ECONNREFUSED 127.0.0.1:25', 'ECONNREFUSED');
    expect(refused).toMatchObject({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' });
    expect(refused.responseCode).toBeUndefined();
  });

  it.each(rows)('%s', (_label, error, expected) => {
    const failure = classifySmtpFailure(error);

    expect(failure.kind).toBe(expected.kind);
    expect(failure.responseCode).toBe(expected.responseCode ?? error.responseCode);
    if ('enhancedCode' in expected) expect(failure.enhancedCode).toBe(expected.enhancedCode);
    if (expected.says instanceof RegExp) expect(failure.reason).toMatch(expected.says);
    else if (expected.says) expect(failure.reason).toContain(expected.says);
    expect(failure.reason).not.toMatch(/undefined|\[object Object\]/);
    expect(failure.reason.length).toBeGreaterThan(20);
  });

  it('words an outage as one: the server is unreachable, busy or silent, never a login or TLS problem', () => {
    const outages = rows.filter(([, , expected]) => expected.kind === 'unavailable');
    expect(outages.length).toBeGreaterThanOrEqual(8);
    for (const [label, error] of outages) {
      const { reason } = classifySmtpFailure(error);
      expect({ label, reason }).toEqual({ label, reason: expect.stringMatching(/^The SMTP server (is unreachable|is busy|did not answer in time)/) });
      expect({ label, reason }).not.toEqual({ label, reason: expect.stringMatching(/password|login|transport\.auth|certificate|TLS/i) });
    }
  });

  it('reply codes alone: every 4xx is transient and every 5xx at MAIL/RCPT/DATA is permanent', () => {
    for (let code = 400; code < 600; code++) {
      if ([530, 534, 535, 538].includes(code)) continue;
      for (const [message, type, command] of [
        ['Mail command failed', 'EENVELOPE', 'MAIL FROM'],
        [ALL_REJECTED, 'EENVELOPE', 'RCPT TO'],
        ['Message failed', 'EMESSAGE', 'DATA'],
      ]) {
        const failure = classifySmtpFailure(reply(message, type, `${code} Rejected`, command));
        expect({ code, command, kind: failure.kind }).toEqual({ code, command, kind: code < 500 ? 'transient' : 'permanent' });
      }
    }
  });

  it('takes the enhanced code from the reply only, never from the message text before it', () => {
    const failure = classifySmtpFailure(reply('Message failed 5.9.9', 'EMESSAGE', '451 Try later', 'DATA'));
    expect(failure).toMatchObject({ kind: 'transient', responseCode: 451, enhancedCode: undefined });
  });

  /**
   * Regression guard: the certificate and TLS-mismatch regexes are matched against the whole
   * message, which ends with the server's reply. A message-level 4xx/5xx whose text mentions a
   * certificate or "unable to verify" becomes `configuration`: the gate closes for every email, the
   * probe (EHLO/login) succeeds, the gate reopens, the same job fails again — forever, never failing.
   * The reply code must decide for replies to MAIL/RCPT/DATA.
   */
  it.each<Row>([
    ['554 at DATA mentioning a certificate', reply('Message failed', 'EMESSAGE', '554 5.7.1 Message rejected: S/MIME certificate not trusted', 'DATA'), { kind: 'permanent', responseCode: 554 }],
    ['550 at RCPT saying "unable to verify"', reply(ALL_REJECTED, 'EENVELOPE', '550 5.1.1 <ada@example.test>: Recipient address rejected: unable to verify address', 'RCPT TO'), { kind: 'permanent', responseCode: 550 }],
    ['450 at RCPT saying "unable to verify"', reply(ALL_REJECTED, 'EENVELOPE', '450 4.1.1 Recipient address rejected: unable to verify address, try later', 'RCPT TO'), { kind: 'transient', responseCode: 450 }],
  ])('reply text decides over the reply code: %s', (_label, error, expected) => {
    expect(classifySmtpFailure(error)).toMatchObject(expected);
  });

  /**
   * Regression guard: the enhanced code is searched anywhere in the reply, so a reply
   * without one (a server with ENHANCEDSTATUSCODES off) yields the first three octets of an IP address
   * or a version number. It should only be read right after the reply code: /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.
   */
  it.each<Row>([
    ['554 naming a blocklisted IP', reply(ALL_REJECTED, 'EENVELOPE', '554 Service unavailable; Client host 5.188.10.4 blocked using zen.spamhaus.org', 'RCPT TO'), { kind: 'permanent', responseCode: 554, enhancedCode: undefined }],
    ['421 naming the client IP', reply('Invalid greeting. response=421 Too many connections from 4.12.33.10', 'EPROTOCOL', '421 Too many connections from 4.12.33.10', 'CONN'), { kind: 'unavailable', responseCode: 421, enhancedCode: undefined }],
  ])('no enhanced code is invented from the reply text: %s', (_label, error, expected) => {
    expect(classifySmtpFailure(error)).toMatchObject(expected);
  });

  it('reads the enhanced code right after the reply code even when the text has an IP address', () => {
    const failure = classifySmtpFailure(reply(ALL_REJECTED, 'EENVELOPE', '550 5.7.1 Client host 10.1.2.3 rejected', 'RCPT TO'));
    expect(failure.enhancedCode).toBe('5.7.1');
  });

  describe('never puts a credential in the reason', () => {
    const USER = 'ada@acme.test';
    const PASSWORD = 'hunter2-S3cret!';
    const PLAIN_B64 = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');
    const LOGIN_B64 = Buffer.from(PASSWORD).toString('base64');
    const forms = [PASSWORD, PLAIN_B64, LOGIN_B64, encodeURIComponent(PASSWORD)];

    function expectNoCredential(failure: SmtpFailure): void {
      for (const form of forms) expect(failure.reason).not.toContain(form);
    }

    it('EAUTH whose message carries the AUTH line and the password (the reply does not)', () => {
      const error = reply(`Invalid login after AUTH PLAIN ${PLAIN_B64} (pass ${PASSWORD})`, 'EAUTH', '535 5.7.8 Authentication failed', 'AUTH PLAIN');
      expect(error.message).toContain(PLAIN_B64);
      const failure = classifySmtpFailure(error);
      expect(failure.kind).toBe('configuration');
      expectNoCredential(failure);
    });

    it('EAUTH at AUTH LOGIN whose message carries the base64 password line', () => {
      const error = reply(`Invalid login while sending ${LOGIN_B64}`, 'EAUTH', '535 5.7.8 Authentication failed', 'AUTH LOGIN');
      expectNoCredential(classifySmtpFailure(error));
    });

    it('a connection URL with the password in an error message does not reach the reason of a TLS or timeout failure', () => {
      const url = `smtps://${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@smtp.example.test:465`;
      expectNoCredential(classifySmtpFailure(socketError(`self-signed certificate (${url})`, 'DEPTH_ZERO_SELF_SIGNED_CERT')));
      expectNoCredential(classifySmtpFailure(socketError(`wrong version number talking to ${url}`, 'ERR_SSL_WRONG_VERSION_NUMBER')));
      expectNoCredential(classifySmtpFailure(bare(`Connection timeout to ${url}`, 'ETIMEDOUT')));
    });

    /** Regression guard: the fallback reason is made from `error.message`, which here carries the AUTH line. */
    it('a connection failure whose message carries the AUTH line does not leak it through the fallback reason', () => {
      const error = bare(`Connection closed unexpectedly after AUTH PLAIN ${PLAIN_B64}`, 'ECONNECTION');
      expectNoCredential(classifySmtpFailure(error));
    });

    /** Regression guard: the EAUTH reason is made from `error.response`, which here echoes the AUTH line. */
    it('a server that echoes the AUTH line in its 535 reply does not leak it through the login reason', () => {
      const error = reply('Invalid login', 'EAUTH', `535 5.7.8 Authentication failed for AUTH PLAIN ${PLAIN_B64}`, 'AUTH PLAIN');
      expectNoCredential(classifySmtpFailure(error));
    });
  });
});

/** The same classification for errors raised by a real nodemailer against real local servers. */
describe('classifySmtpFailure on errors from real connections', () => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  async function smtpServer(options: ConstructorParameters<typeof SMTPServer>[0]): Promise<number> {
    const server = new SMTPServer({ logger: false, ...options });
    server.on('error', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return (server.server.address() as AddressInfo).port;
  }

  async function tcpServer(onConnection: (socket: Socket) => void): Promise<number> {
    const server: Server = createServer(onConnection);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return (server.address() as AddressInfo).port;
  }

  async function failureOf(options: Record<string, unknown>, to = 'ada@example.test'): Promise<{ error: NodemailerError; failure: SmtpFailure }> {
    const transport = createTransport({ host: '127.0.0.1', connectionTimeout: 2_000, greetingTimeout: 1_000, ...options });
    try {
      await transport.sendMail({ from: 'no-reply@acme.test', to, subject: 's', text: 't' });
    } catch (error) {
      return { error: error as NodemailerError, failure: classifySmtpFailure(error as NodemailerError) };
    } finally {
      transport.close();
    }
    throw new Error('expected the send to fail');
  }

  const rcptReplies: Record<string, [number, string]> = {
    full: [452, '4.2.2 Mailbox full'],
    ghost: [550, '5.1.1 No such user'],
    quota: [452, '5.2.2 Mailbox full'],
    gone: [550, '4.2.2 Mailbox full'],
  };

  it('RCPT replies, 535 at AUTH, refused, wrong TLS version, untrusted certificate, greeting timeout, reset', async () => {
    const plain = await smtpServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      hideENHANCEDSTATUSCODES: true,
      onRcptTo: (address, _session, callback) => {
        const found = rcptReplies[address.address.split('@')[0]];
        callback(found ? Object.assign(new Error(found[1]), { responseCode: found[0] }) : null);
      },
    });
    const auth = await smtpServer({
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      onAuth: (_auth, _session, callback) => callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 })),
    });
    const implicitTls = await smtpServer({ secure: true, authOptional: true, disabledCommands: ['AUTH'], ...TEST_TLS });
    const silent = await tcpServer(() => undefined);
    const resetter = await tcpServer((socket) => {
      socket.write('220 hi\r\n');
      socket.once('data', () => socket.resetAndDestroy());
    });

    const full = await failureOf({ port: plain }, 'full@example.test');
    expect(full.error).toMatchObject({ code: 'EENVELOPE', responseCode: 452, command: 'RCPT TO' });
    expect(full.failure).toMatchObject({ kind: 'transient', responseCode: 452, enhancedCode: '4.2.2' });

    expect((await failureOf({ port: plain }, 'ghost@example.test')).failure).toMatchObject({ kind: 'permanent', responseCode: 550, enhancedCode: '5.1.1' });
    expect((await failureOf({ port: plain }, 'quota@example.test')).failure).toMatchObject({ kind: 'transient', responseCode: 452, enhancedCode: '5.2.2' });
    expect((await failureOf({ port: plain }, 'gone@example.test')).failure).toMatchObject({ kind: 'permanent', responseCode: 550, enhancedCode: '4.2.2' });

    const login = await failureOf({ port: auth, auth: { user: 'ada', pass: 'hunter2-S3cret!' } });
    expect(login.error).toMatchObject({ code: 'EAUTH', responseCode: 535 });
    expect(login.failure).toMatchObject({ kind: 'configuration', responseCode: 535 });
    expect(login.failure.reason).not.toContain('hunter2');

    const refusedPort = await (async () => {
      const port = await tcpServer(() => undefined);
      await closers.pop()!();
      return port;
    })();
    const refused = await failureOf({ port: refusedPort });
    expect(refused.error).toMatchObject({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' });
    expect(refused.failure.kind).toBe('unavailable');

    const wrongVersion = await failureOf({ port: plain, secure: true });
    expect(wrongVersion.error).toMatchObject({ code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    expect(wrongVersion.failure.kind).toBe('configuration');

    const untrusted = await failureOf({ port: implicitTls, secure: true });
    expect(untrusted.error.code).toBe('ESOCKET');
    expect(untrusted.error.originalCode).toMatch(/CERT|SIGNATURE/);
    expect(untrusted.failure).toMatchObject({ kind: 'configuration', reason: expect.stringContaining('not trusted') });

    const timeout = await failureOf({ port: silent, greetingTimeout: 200 });
    expect(timeout.error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(timeout.failure.kind).toBe('unavailable');

    const reset = await failureOf({ port: resetter });
    expect(reset.error).toMatchObject({ code: 'ESOCKET', originalCode: 'ECONNRESET' });
    expect(reset.failure.kind).toBe('transient');
  });

  it('a server that greets with 421 is busy (unavailable); one that drops the connection mid-DATA fails that message (transient)', async () => {
    const busy = await tcpServer((socket) => socket.end('421 4.3.2 Too busy, try later\r\n'));
    // Speaks just enough SMTP to take the envelope, then hangs up once the message starts to arrive.
    const dropper = await tcpServer((socket) => {
      let inData = false;
      socket.write('220 drop.test ESMTP\r\n');
      socket.on('data', (chunk: Buffer) => {
        if (inData) return void socket.destroy();
        for (const line of chunk.toString().split('\r\n').filter(Boolean)) {
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === 'DATA') {
            inData = true;
            socket.write('354 go ahead\r\n');
          } else socket.write(verb === 'EHLO' ? '250 drop.test\r\n' : '250 OK\r\n');
        }
      });
    });

    const greeting = await failureOf({ port: busy });
    expect(greeting.error).toMatchObject({ code: 'EPROTOCOL', responseCode: 421, command: 'CONN' });
    expect(greeting.failure).toMatchObject({ kind: 'unavailable', responseCode: 421, enhancedCode: '4.3.2' });

    const dropped = await failureOf({ port: dropper });
    expect(dropped.error.code).toBe('ECONNECTION');
    expect(dropped.failure.kind).toBe('transient');
  });
});
