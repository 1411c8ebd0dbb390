import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { AddressObject, ParsedMail } from 'mailparser';
import type { SMTPServer } from 'smtp-server';
import { DevInboxDependencyMissingError } from '../errors';
import { requireOptional } from '../optional-packages';
import type { CaughtEmail } from './dev-inbox.types';

const logger = new Logger('EmailDevInbox');
// smtp-server and mailparser are optional peers that production apps need not install.
const missingDevDependency = (name: string) => new DevInboxDependencyMissingError(name);

/** `Ada <ada@example.com>, bob@example.com`, without the quotes mailparser's own text adds around names. */
function addressText(header: AddressObject | AddressObject[] | undefined): string {
  return [header ?? []]
    .flat()
    .flatMap((list) => list.value)
    .flatMap((entry) => entry.group ?? [entry])
    .map(({ name, address }) => (name && address ? `${name} <${address}>` : (address ?? name)))
    .join(', ');
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function toCaughtEmail(raw: Buffer, mail: ParsedMail): CaughtEmail {
  return {
    id: randomUUID(),
    receivedAt: new Date(),
    from: addressText(mail.from),
    to: addressText(mail.to),
    messageId: mail.messageId,
    subject: mail.subject ?? '',
    html: mail.html || undefined,
    text: mail.text,
    raw: raw.toString('utf8'),
  };
}

/** An SMTP server on a free loopback port that accepts every message and hands it over parsed. */
export class SmtpCatcher {
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(onEmail: (email: CaughtEmail) => void): Promise<SmtpCatcher> {
    const { SMTPServer } = requireOptional('smtp-server', () => require('smtp-server') as typeof import('smtp-server'), missingDevDependency);
    const { simpleParser } = requireOptional('mailparser', () => require('mailparser') as typeof import('mailparser'), missingDevDependency);
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      // Shutdown should not wait smtp-server's default 30 s for a client that keeps its connection open.
      closeTimeout: 1_000,
      onData: (stream, _session, callback) => {
        readAll(stream)
          .then(async (raw) => {
            const email = toCaughtEmail(raw, await simpleParser(raw));
            onEmail(email);
            // In Postfix's words, so the delivery log keeps a queue id as it does for a real server: this email's id.
            callback(null, `Ok: queued as ${email.id}`);
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // smtp-server emits client errors (a dropped connection) as 'error'; unheard, they would crash the app.
    server.on('error', (error: Error) => logger.warn(`SMTP catcher: ${error.message}`));
    return new SmtpCatcher(server, (server.server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
