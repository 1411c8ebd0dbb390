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
  // Before the end: a failover detector ioredis would start once a pending connection completes does nothing.
  if (usesSentinels(client)) client.options.failoverDetector = false;
  await endClient(client, quit);
  releaseSentinels(client);
}

function usesSentinels(client: RedisClient): client is RedisClient & { options: { sentinels: unknown[]; failoverDetector?: boolean } } {
  return 'sentinels' in client.options && Array.isArray(client.options.sentinels);
}

/**
 * A client found through sentinels also holds one subscribed connection per sentinel (ioredis' failover
 * detector). QUIT leaves them open, reconnecting for ever once the sentinels go, which keeps the process
 * up after the app has closed (ioredis 5; redis/ioredis#2198 fixes it after 5.11). disconnect() on the ended client drops
 * them; and since ioredis starts the detector when a connection completes, which may be after the end,
 * the option is turned off first so that a late start does nothing.
 */
export function releaseSentinels(client: RedisClient): void {
  if (!usesSentinels(client)) return;
  client.options.failoverDetector = false;
  client.disconnect();
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
