import type { OnApplicationShutdown } from '@nestjs/common';
import type { SmtpTransportOptions } from '../transport';
import type { CaughtEmail } from './dev-inbox.types';
import { SmtpCatcher } from './smtp.catcher';

/**
 * The dev inbox: an SMTP server inside the app that keeps every email sent to it, newest first, in
 * memory. Provided by `EmailDevInboxModule`; inject it to point `EmailWorkflowModule` at it, or to read
 * the caught emails in tests.
 */
export class DevInbox implements OnApplicationShutdown {
  private caught: CaughtEmail[] = [];
  private changes = 0;
  private catcher!: SmtpCatcher;

  private constructor(private readonly maxMessages: number) {}

  /** Starts the catcher on a free loopback port. `EmailDevInboxModule` calls it; apps inject the result. */
  static async start(maxMessages: number): Promise<DevInbox> {
    const inbox = new DevInbox(maxMessages);
    inbox.catcher = await SmtpCatcher.start((email) => inbox.keep(email));
    return inbox;
  }

  /**
   * SMTP settings of the catcher, for `EmailWorkflowModule`'s `transport`. Plaintext is safe on
   * loopback; one connection per message, so no pooled connection outlives the catcher at shutdown.
   */
  transport(): SmtpTransportOptions {
    return { host: '127.0.0.1', port: this.catcher.port, security: 'none', pool: false };
  }

  /** Caught emails, newest first. */
  messages(): CaughtEmail[] {
    return [...this.caught];
  }

  clear(): void {
    this.caught = [];
    this.changes++;
  }

  /** Changes whenever an email is caught or the inbox cleared: the inbox page polls with it to update live. */
  get version(): number {
    return this.changes;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.catcher.close();
  }

  private keep(email: CaughtEmail): void {
    this.caught = [email, ...this.caught].slice(0, this.maxMessages);
    this.changes++;
  }
}
