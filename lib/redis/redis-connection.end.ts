import type { RedisClient } from './redis.options';

/** How long an end waits for the client's own 'end' before it stops waiting: ending must never hang a shutdown. */
const END_WAIT_MS = 2_000;

/**
 * Ends a connection for good and resolves once it is closed; `quit` lets a ready one finish what it
 * was sent first. Between two reconnect attempts there is no socket: ioredis then only cancels the
 * next attempt and never emits 'end', so there is nothing to wait for; a cluster client still looking
 * for its nodes may never emit it either, so the wait is bounded.
 */
export async function endConnection(client: RedisClient, quit = false): Promise<void> {
  await endClient(client, quit);
  releaseSentinels(client);
}

/**
 * A client found through sentinels also holds one subscribed connection per sentinel (ioredis' failover
 * detector); QUIT and a close by the server leave them reconnecting for ever, which keeps the process up
 * after the app has closed. disconnect() on the ended client is what makes ioredis drop them.
 */
function releaseSentinels(client: RedisClient): void {
  if (client.status === 'end' && 'sentinels' in client.options && client.options.sentinels) client.disconnect();
}

function endClient(client: RedisClient, quit: boolean): Promise<void> {
  const { status } = client;
  if (status === 'end') return Promise.resolve();
  if (status === 'reconnecting' || status === 'close' || status === 'wait') {
    client.disconnect();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, END_WAIT_MS);
    timer.unref();
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    // QUIT only when connected: otherwise ioredis holds it until Redis is back, which may be never.
    if (quit && status === 'ready') return void client.quit().catch(() => client.disconnect());
    client.disconnect();
    // disconnect() only half-closes: a frozen Redis never answers, so 'end' would never come.
    if ('stream' in client) client.stream?.destroy();
  });
}
