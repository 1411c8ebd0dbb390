import type { LoggerService } from '@nestjs/common';
import type { RedisClient } from './redis.options';

/** The errno code of a lost or refused connection (ECONNREFUSED, ECONNRESET, ETIMEDOUT…), if that is what the error is. */
function connectionErrorCode(error: Error): string | undefined {
  const { code } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code) ? code : undefined;
}

/** What Bull reports about commands that could not reach Redis: while the outage is logged, these only repeat it. */
function isOutageSymptom(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' || error.message === 'Connection is closed.' || error.message.startsWith("Stream isn't writeable")
  );
}

/**
 * Turns the queue's Redis errors into one line when Redis becomes unreachable and one when it answers
 * again. Bull has up to three ioredis clients and each reports every failed reconnect, which during an
 * outage is a dozen identical errors a second.
 */
export class RedisOutageLog {
  private unreachable = false;
  private readonly watched = new WeakSet<RedisClient>();

  constructor(
    private readonly where: string,
    private readonly clients: () => readonly RedisClient[],
    private readonly logger: LoggerService,
  ) {}

  /** For every error the queue emits: connection errors start (or continue) an outage, any other error is logged as it is. */
  onError(error: Error): void {
    const code = connectionErrorCode(error);
    if (code === undefined) {
      if (!(this.unreachable && isOutageSymptom(error))) this.logger.error(`Email queue on Redis at ${this.where}: ${error.message}`);
      return;
    }
    // Bull opens its subscriber and blocking clients lazily, so the set to wait for is taken at each failure.
    this.watchClients();
    if (this.unreachable) return;
    this.unreachable = true;
    this.logger.error(
      `Redis at ${this.where} is unreachable (${code}): queued emails wait in Redis and new sends fail until it answers. ` +
        'Check that Redis is running and that queue.redis points to it.',
    );
  }

  private watchClients(): void {
    for (const client of this.clients()) {
      if (this.watched.has(client)) continue;
      this.watched.add(client);
      client.on('ready', () => this.onReady());
    }
  }

  /** The outage ends when every client that is meant to be connected is, not at the first one back. */
  private onReady(): void {
    if (!this.unreachable) return;
    const connected = this.clients().every((client) => client.status === 'ready' || client.status === 'end' || client.status === 'wait');
    if (!connected) return;
    this.unreachable = false;
    this.logger.log(`Redis at ${this.where} answers again; delivery resumes.`);
  }
}
