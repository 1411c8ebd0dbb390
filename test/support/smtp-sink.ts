import type { SmtpTransportOptions } from 'nestjs-email-workflow';
import { readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { until } from './wait';

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
export const TEST_CA = readFileSync(join(TLS_DIR, 'ca.pem'), 'utf8');
export const TEST_TLS = {
  key: readFileSync(join(TLS_DIR, 'server.key')),
  cert: readFileSync(join(TLS_DIR, 'server.pem')),
};

/** The library's transport to a sink on localhost over required STARTTLS, trusting the test CA, one connection per email. */
export function trustedStartTls(port: number, auth?: { user: string; pass: string }): SmtpTransportOptions {
  return { host: 'localhost', port, security: 'starttls', auth, tls: { ca: TEST_CA }, pool: false };
}

/** An SMTP error reply for a sink's handler to refuse with: `callback(smtpReply(550, '5.1.1 No such user'))`. */
export function smtpReply(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export interface SmtpSinkOptions extends Partial<SMTPServerOptions> {
  /** Accept only this username/password; any other login is answered 535. */
  credentials?: { user: string; pass: string };
  /** Listen on this port instead of a free one. */
  port?: number;
  /** Wait this long before accepting each message (a slow server). */
  delayMs?: number;
}

/** A real SMTP server (smtp-server) on a free loopback port that parses every message it receives. */
export class SmtpSink {
  readonly messages: ParsedMail[] = [];
  readonly authAttempts: string[] = [];
  /** Every login tried, with the password it gave and when: to tell an old password from a new one. */
  readonly logins: Array<{ user: string; pass: string; at: number }> = [];
  private server!: SMTPServer;
  private waiters: Array<() => void> = [];
  private receiving = 0;
  port = 0;
  private delayMs = 0;

  /** Accepted login; change it to "fix" the server while it runs. */
  credentials?: { user: string; pass: string };

  /** The text of the 250 reply to each message's DATA (e.g. SES's `Ok <id>`); smtp-server's default when it gives none. */
  reply?: (mail: ParsedMail) => string | undefined;

  private constructor(private readonly options: SmtpSinkOptions) {
    this.credentials = options.credentials;
  }

  static async start(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(options);
    await sink.listen();
    return sink;
  }

  private async listen(): Promise<void> {
    const { credentials, port = 0, delayMs = 0, ...serverOptions } = this.options;
    this.delayMs = delayMs;
    this.server = new SMTPServer({
      authOptional: !credentials,
      disabledCommands: credentials ? [] : ['AUTH'],
      allowInsecureAuth: true,
      logger: false,
      ...TEST_TLS,
      ...serverOptions,
      onAuth: (auth, _session, callback) => {
        this.authAttempts.push(auth.username ?? '');
        this.logins.push({ user: auth.username ?? '', pass: auth.password ?? '', at: Date.now() });
        if (this.credentials && auth.username === this.credentials.user && auth.password === this.credentials.pass) {
          return callback(null, { user: auth.username });
        }
        const error = Object.assign(new Error('Authentication failed'), { responseCode: 535 });
        return callback(error);
      },
      onData: (stream, session, callback) => this.receive(stream, session, callback),
    });
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  private receive(stream: NodeJS.ReadableStream, _session: SMTPServerSession, callback: (error?: Error | null, message?: string) => void): void {
    this.receiving++;
    simpleParser(stream as never)
      .then(async (mail) => {
        if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
        this.messages.push(mail);
        this.waiters.splice(0).forEach((wake) => wake());
        callback(null, this.reply?.(mail));
      })
      .catch(callback)
      .finally(() => this.receiving--);
  }

  /** Resolves once `count` messages have arrived; rejects after `timeoutMs`. */
  async waitForMessages(count: number, timeoutMs = 10_000): Promise<ParsedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} messages, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages;
  }

  /** The message with that Message-ID, once it has arrived. */
  async mailWithId(messageId: string, timeoutMs = 10_000): Promise<ParsedMail> {
    await until(() => this.messages.some((mail) => mail.messageId === messageId), `the email ${messageId}`, timeoutMs);
    return this.messages.find((mail) => mail.messageId === messageId) as ParsedMail;
  }

  /** The first message to `address` whose subject matches, once it has arrived. */
  async mailTo(address: string, subject: RegExp, timeoutMs = 10_000): Promise<ParsedMail> {
    const find = () =>
      this.messages.find((mail) => mail.to && !Array.isArray(mail.to) && mail.to.value[0]?.address === address && subject.test(mail.subject ?? ''));
    await until(() => find() !== undefined, `an email to ${address} matching ${subject}`, timeoutMs);
    return find() as ParsedMail;
  }

  /** Messages whose data has started to arrive and that are not stored (or refused) yet. */
  get arriving(): number {
    return this.receiving;
  }

  /** Resolves once no message is on its way in: every one whose data has arrived is stored (or refused). */
  async untilNothingArriving(timeoutMs = 10_000): Promise<void> {
    await until(() => this.receiving === 0, () => `${this.receiving} message(s) still arriving`, timeoutMs);
  }

  /** Messages per Message-ID, to find duplicates. */
  countByMessageId(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const mail of this.messages) counts.set(mail.messageId ?? '', (counts.get(mail.messageId ?? '') ?? 0) + 1);
    return counts;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** First href in the HTML part that starts with `prefix`, entities decoded. */
export function linkIn(html: string, prefix: string): string | undefined {
  const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((match) => decodeEntities(match[1]));
  return hrefs.find((href) => href.startsWith(prefix));
}

export function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
