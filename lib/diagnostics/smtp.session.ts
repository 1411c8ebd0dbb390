import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { NodemailerSmtpOptions } from '../transport';
import { SmtpTranscript } from './smtp.transcript';

/** nodemailer's SMTP client, loaded with the first diagnosis rather than when the library is imported. */
function loadSmtpConnection(): typeof SMTPConnection {
  return (require('nodemailer/lib/smtp-connection') as typeof import('nodemailer/lib/smtp-connection')).default;
}

/** The error an operation gets when the connection ended without nodemailer reporting one. */
export function connectionEnded(): NodemailerError {
  return Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' });
}

/**
 * One SMTP conversation driven by nodemailer's SMTPConnection, the client every delivery uses, over
 * a socket the doctor has already connected. Its transaction log is kept (see `SmtpTranscript`).
 */
export class SmtpSession {
  readonly transcript: SmtpTranscript;
  private readonly connection: SMTPConnection;
  /** Rejects with the first error the connection raises, or when it ends: every operation races it. */
  private readonly ended: Promise<never>;
  private protocol?: string;

  constructor(socket: Socket, options: NodemailerSmtpOptions) {
    this.transcript = new SmtpTranscript(() => this.noteTlsProtocol());
    const Connection = loadSmtpConnection();
    this.connection = new Connection({ ...options, connection: socket, logger: this.transcript.logger, transactionLog: true });
    this.ended = new Promise<never>((_resolve, reject) => {
      // Stays subscribed: an error after the diagnosis (a reset while closing) must not go unhandled.
      this.connection.on('error', reject);
      this.connection.once('end', () => reject(connectionEnded()));
    });
    this.ended.catch(() => undefined);
  }

  /** TLS (when `secure`), greeting, EHLO and STARTTLS, exactly as nodemailer opens a delivery session. */
  open(): Promise<void> {
    return this.race(new Promise<void>((resolve, reject) => this.connection.connect((error) => (error ? reject(error) : resolve()))));
  }

  /** AUTH with the first mechanism both sides support, as delivery logs in. */
  login(user: string, pass: string): Promise<void> {
    return this.race(new Promise<void>((resolve, reject) => this.connection.login({ user, pass }, (error) => (error ? reject(error) : resolve()))));
  }

  /** MAIL FROM, RCPT TO and DATA (pipelined when the server allows); resolves with the server's final reply. */
  send(from: string, to: string, message: Buffer): Promise<string> {
    return this.race(
      new Promise<string>((resolve, reject) =>
        this.connection.send({ from, to: [to] }, message, (error, info) => (error ? reject(error) : resolve(info.response))),
      ),
    );
  }

  /** Whether the server offered AUTH (nodemailer skips the login otherwise). */
  get offersLogin(): boolean {
    return this.connection.allowsAuth;
  }

  /** Whether the conversation runs over TLS. */
  get secure(): boolean {
    return this.connection.secure;
  }

  /** The TLS version negotiated, e.g. `TLSv1.3`, once the conversation runs over TLS. */
  get tlsProtocol(): string | undefined {
    return this.protocol;
  }

  /**
   * The socket, for a command SMTPConnection cannot send on its own. nodemailer stops reading from it:
   * a reply it did not ask for would make it end the session. Undefined once the socket is closed.
   */
  takeSocket(): Socket | undefined {
    const socket = this.connection._socket;
    if (!socket || socket.destroyed) return undefined;
    socket.removeAllListeners('data');
    return socket;
  }

  /** Says goodbye with QUIT, as delivery does after its last message. */
  quit(): void {
    this.connection.quit();
  }

  /** Closes the connection; safe to call more than once. */
  close(): void {
    this.connection.close();
  }

  private race<T>(operation: Promise<T>): Promise<T> {
    return Promise.race([operation, this.ended]);
  }

  private noteTlsProtocol(): void {
    const socket = this.connection._socket;
    if (socket instanceof TLSSocket && !socket.destroyed) this.protocol = socket.getProtocol() ?? this.protocol;
  }
}
