import { performance } from 'node:perf_hooks';
import { parseSmtpReply, SmtpReply } from '../transport';

/** What nodemailer's transaction log says happened. */
type LineKind = 'connected' | 'command' | 'message' | 'reply';

interface TranscriptLine {
  kind: LineKind;
  /** `performance.now()` when nodemailer logged it. */
  at: number;
  text: string;
}

/** One reply with the command it answers (none for the greeting). */
interface SmtpExchange {
  /** The command as nodemailer logged it (credentials masked), `MESSAGE` for the message body, none for the greeting. */
  command?: string;
  reply: SmtpReply;
  /** `performance.now()` when the reply came. */
  at: number;
}

/** The fields of nodemailer's log entries that tell a transaction log line (`tnx`) apart. */
interface LogEntry {
  tnx?: string;
  remoteAddress?: string;
}

function kindOf(entry: LogEntry): LineKind | undefined {
  if (entry.tnx === 'client') return 'command';
  if (entry.tnx === 'server') return 'reply';
  // The message body has gone out (nodemailer logs its size once the stream ends).
  if (entry.tnx === 'message') return 'message';
  // Logged once the socket is up, after the handshake of implicit TLS; only this line carries the peer address.
  if (entry.tnx === 'network' && entry.remoteAddress !== undefined) return 'connected';
  return undefined;
}

/**
 * nodemailer's SMTP transaction log (`transactionLog: true`), timed. SMTPConnection runs several
 * SMTP steps in one call (connect: TLS, greeting, EHLO, STARTTLS; send: MAIL FROM, RCPT, DATA); its
 * log is what tells the doctor how far each call got and when each step ended.
 */
export class SmtpTranscript {
  private readonly lines: TranscriptLine[] = [];

  /**
   * `onProgress` runs when the connection is up and whenever a command goes out: moments when
   * nodemailer's socket is known to be healthy (reading TLS details off a failed one can crash Node).
   */
  constructor(private readonly onProgress: () => void) {}

  /** A bunyan-style logger for SMTPConnection's `logger` option; all levels land here. */
  readonly logger = Object.fromEntries(
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((level) => [level, (entry: LogEntry, message?: unknown) => this.record(entry, message)]),
  );

  /** A position in the log, to read what came after it. */
  mark(): number {
    return this.lines.length;
  }

  /** When the connection was up (with implicit TLS: after the handshake), if it got that far. */
  connectedAt(): number | undefined {
    return this.lines.find((line) => line.kind === 'connected')?.at;
  }

  /** When a command starting with `verb` was sent after `since`, if it was. */
  sentAt(verb: string, since = 0): number | undefined {
    return this.lines.slice(since).find((line) => line.kind === 'command' && line.text.toUpperCase().startsWith(verb))?.at;
  }

  /**
   * The replies after `since`, each paired with the command it answers. SMTP answers in order, so the
   * n-th reply answers the n-th command; a reply with no command waiting is the greeting.
   */
  exchangesSince(since: number): SmtpExchange[] {
    const waiting: string[] = [];
    const exchanges: SmtpExchange[] = [];
    for (const line of this.lines.slice(since)) {
      if (line.kind === 'command') waiting.push(line.text);
      if (line.kind === 'message') waiting.push('MESSAGE');
      const reply = line.kind === 'reply' ? parseSmtpReply(line.text) : undefined;
      if (reply) exchanges.push({ command: waiting.shift(), reply, at: line.at });
    }
    return exchanges;
  }

  private record(entry: LogEntry, message: unknown): void {
    const kind = kindOf(entry);
    if (!kind || typeof message !== 'string') return;
    this.lines.push({ kind, at: performance.now(), text: message });
    if (kind === 'connected' || kind === 'command') this.onProgress();
  }
}
