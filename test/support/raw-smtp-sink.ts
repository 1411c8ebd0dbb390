import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { until } from './wait';

/** One message exactly as it came over DATA: headers and body bytes untouched (for DKIM checks). */
export interface RawMessage {
  from: string;
  to: string[];
  raw: Buffer;
}

/**
 * A real SMTP server (smtp-server) on a free loopback port that keeps each message's raw bytes
 * instead of parsing them. No TLS, no AUTH: for tests that look at the message itself.
 */
export class RawSmtpSink {
  readonly messages: RawMessage[] = [];
  private server!: SMTPServer;
  port = 0;

  static async start(): Promise<RawSmtpSink> {
    const sink = new RawSmtpSink();
    sink.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', callback);
        stream.on('end', () => {
          const envelope = session.envelope;
          sink.messages.push({
            from: envelope.mailFrom ? envelope.mailFrom.address : '',
            to: envelope.rcptTo.map((rcpt) => rcpt.address),
            raw: Buffer.concat(chunks),
          });
          callback();
        });
      },
    });
    sink.server.on('error', () => undefined);
    await new Promise<void>((resolve) => sink.server.listen(0, '127.0.0.1', resolve));
    sink.port = (sink.server.server.address() as AddressInfo).port;
    return sink;
  }

  /** Resolves once `count` messages have arrived; rejects after `timeoutMs`. */
  async waitForMessages(count: number, timeoutMs = 10_000): Promise<RawMessage[]> {
    await until(() => this.messages.length >= count, () => `${count} messages, got ${this.messages.length}`, timeoutMs);
    return this.messages;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
