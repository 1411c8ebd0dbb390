import { Logger } from '@nestjs/common';
import { endConnection } from '../redis';
import type { RedisClient } from '../redis';
import { withinTime } from './template.sources';

/** What a reload message may name: a template, or every one. Anything else on the channel is ignored. */
const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]{0,99}$/i;
const EVERY_TEMPLATE = '*';

/**
 * Tells every process sharing the Redis prefix to drop its compiled copies of a template. A message
 * carries only a name, never template text: whoever can publish on the channel (anyone with access to
 * that Redis) can at most make each process ask its store again and recompile.
 */
export class TemplateReloadChannel {
  private readonly logger = new Logger('EmailTemplates');

  private constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    readonly channel: string,
  ) {}

  /**
   * Subscribes `subscriber` (a connection of its own: a subscribed client can send nothing else) and
   * calls `onReload` with the name of each reload heard, undefined for every template. Waits for the
   * subscription at most `timeoutMs`: past that, boot goes on and the client keeps subscribing (ioredis
   * subscribes again after each reconnection); until then `cacheTtl` bounds what this process misses.
   */
  static async open(
    publisher: RedisClient,
    subscriber: RedisClient,
    prefix: string,
    timeoutMs: number,
    onReload: (name: string | undefined) => void,
  ): Promise<TemplateReloadChannel> {
    const channel = `${prefix}:templates:reload`;
    const reloading = new TemplateReloadChannel(publisher, subscriber, channel);
    subscriber.on('message', (heard: string, message: string) => {
      if (heard !== channel) return;
      if (message === EVERY_TEMPLATE) onReload(undefined);
      else if (TEMPLATE_NAME.test(message)) onReload(message);
    });
    try {
      await withinTime(subscriber.subscribe(channel), timeoutMs);
    } catch (error) {
      reloading.logger.warn(
        `Not yet subscribed to ${channel} (${(error as Error).message}): until Redis answers, this process sees other processes' template reloads only after templates.cacheTtl.`,
      );
    }
    return reloading;
  }

  /** Tells every process, this one included, to reload `name` (every template when undefined). */
  async publish(name: string | undefined): Promise<void> {
    await this.publisher.publish(this.channel, name ?? EVERY_TEMPLATE);
  }

  /**
   * Stops listening: the subscriber connection is this channel's alone, so ending it ends the
   * subscription (an UNSUBSCRIBE would wait on a Redis that may be gone).
   */
  async close(): Promise<void> {
    await endConnection(this.subscriber);
  }
}
