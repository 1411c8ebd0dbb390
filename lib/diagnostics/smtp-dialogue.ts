import type { Socket } from 'node:net';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { parseSmtpReply, SmtpReply } from '../transport';

/** Fails a command the way nodemailer fails one, so the doctor reads both the same way. */
function lost(code: 'ETIMEDOUT' | 'ECONNECTION', message: string): NodemailerError {
  return Object.assign(new Error(message), { code });
}

/**
 * One hand-written SMTP command over a socket nodemailer's SMTPConnection has opened (and secured,
 * and logged in on). Only for what SMTPConnection cannot do on its own: MAIL FROM without going on
 * to RCPT TO and DATA, which is how a diagnosis checks the sender without sending anything.
 */
export class SmtpDialogue {
  private received = '';
  private wake?: () => void;
  private failure?: NodemailerError;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString('utf8');
      this.wake?.();
    });
    // nodemailer's idle timer still runs on this socket and closes it; say why before the close arrives.
    socket.once('timeout', () => {
      this.failure ??= lost('ETIMEDOUT', 'Timeout');
      this.wake?.();
    });
    socket.once('close', () => {
      this.failure ??= lost('ECONNECTION', 'Connection closed');
      this.wake?.();
    });
  }

  /** Sends one command and reads its (possibly multi-line) reply; rejects when the server goes quiet or away. */
  async command(line: string, timeoutMs: number): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const complete = /(?:^|\n)\d{3}(?: [^\n]*)?\r?\n/.exec(this.received);
      if (complete) {
        const reply = this.received.slice(0, complete.index + complete[0].length);
        this.received = this.received.slice(reply.length);
        const parsed = parseSmtpReply(reply.trimEnd());
        if (parsed) return parsed;
      }
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw lost('ETIMEDOUT', 'Timeout');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
