import { Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A local SMTP server that accepts every email and logs its recipient, subject and links instead
 * of delivering it. Started only when no SMTP_URL is set.
 */
@Injectable()
export class MailCatcher implements OnApplicationShutdown {
  private readonly logger = new Logger('MailCatcher');
  private server?: SMTPServer;

  /** Listens on a free port of 127.0.0.1 and resolves to that port. */
  async start(): Promise<number> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      // Shutdown waits this long at most for a client still connected.
      closeTimeout: 2_000,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            const to = session.envelope.rcptTo.map((recipient) => recipient.address).join(', ');
            const links = linksIn(typeof mail.html === 'string' ? mail.html : '');
            this.logger.log(`Caught email to ${to}: "${mail.subject ?? ''}"; links: ${links.join(' ') || '(none)'}`);
            callback();
          })
          .catch(callback);
      },
    });
    server.on('error', (error) => this.logger.warn(`SMTP catcher error: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { port } = server.server.address() as AddressInfo;
    this.logger.log(`No SMTP_URL set: catching emails on smtp://127.0.0.1:${port}; nothing is delivered`);
    return port;
  }

  // Nest runs this after EmailWorkflowModule's own shutdown (it imports this module), so the
  // library's pooled connections are already closing when the catcher stops.
  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.logger.log('SMTP catcher closed');
  }
}

@Module({ providers: [MailCatcher], exports: [MailCatcher] })
export class MailCatcherModule {}

/** Every distinct href of the HTML part except mailto:, entities decoded. */
function linksIn(html: string): string[] {
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => decodeEntities(match[1]));
  return [...new Set(hrefs.filter((href) => !href.startsWith('mailto:')))];
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
