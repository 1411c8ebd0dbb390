import type { RedisClient } from './redis.options';

/**
 * Ends a connection for good and resolves once it is closed; `quit` lets a ready one finish what it
 * was sent first. Between two reconnect attempts there is no socket: ioredis then only cancels the
 * next attempt and never emits 'end', so there is nothing to wait for.
 */
export function endConnection(client: RedisClient, quit = false): Promise<void> {
  const { status } = client;
  if (status === 'end') return Promise.resolve();
  if (status === 'reconnecting' || status === 'close' || status === 'wait') {
    client.disconnect();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    client.once('end', () => resolve());
    // QUIT only when connected: otherwise ioredis holds it until Redis is back, which may be never.
    if (quit && status === 'ready') return void client.quit().catch(() => client.disconnect());
    client.disconnect();
    // disconnect() only half-closes: a frozen Redis never answers, so 'end' would never come.
    if ('stream' in client) client.stream?.destroy();
  });
}
