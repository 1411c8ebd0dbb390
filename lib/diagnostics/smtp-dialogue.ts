import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface SmtpReply {
  code: number;
  /** The reply's text lines without the code. */
  lines: string[];
  /** The last line as the server sent it, e.g. `535 5.7.8 Authentication failed`. */
  raw: string;
}

/** Raised when the server sends nothing within the time allowed. */
export class SilentServerError extends Error {
  constructor() {
    super('the server sent nothing');
  }
}

/** Raised when the server closes the connection mid-conversation. */
export class ClosedByServerError extends Error {
  constructor() {
    super('the server closed the connection');
  }
}

/**
 * Line-level SMTP over one socket, for diagnosis only (sending goes through nodemailer). Each
 * step of a diagnosis is one call here, which is what lets it time and name every step.
 */
export class SmtpDialogue {
  private buffer = '';
  private lines: string[] = [];
  private waiter?: () => void;
  private failure?: Error;

  constructor(private socket: Socket | TLSSocket) {
    this.listen(socket);
  }

  /** Continues the conversation over an upgraded (STARTTLS) socket. */
  upgrade(socket: TLSSocket): void {
    this.socket.removeAllListeners('data');
    this.socket = socket;
    this.buffer = '';
    this.lines = [];
    this.listen(socket);
  }

  write(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  writeRaw(data: Buffer | string): void {
    this.socket.write(data);
  }

  async command(line: string, timeoutMs: number): Promise<SmtpReply> {
    this.write(line);
    return this.reply(timeoutMs);
  }

  /** Reads one (possibly multi-line) reply. */
  async reply(timeoutMs: number): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    const collected: string[] = [];
    for (;;) {
      while (this.lines.length > 0) {
        const line = this.lines.shift() as string;
        collected.push(line.slice(4));
        if (/^\d{3}(?: |$)/.test(line)) return { code: Number(line.slice(0, 3)), lines: collected, raw: line };
      }
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new SilentServerError();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.removeAllListeners('data');
    this.socket.end();
    this.socket.destroy();
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      const parts = this.buffer.split(/\r?\n/);
      this.buffer = parts.pop() ?? '';
      this.lines.push(...parts);
      this.wake();
    });
    socket.on('error', (error) => {
      this.failure = error;
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new ClosedByServerError();
      this.wake();
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
