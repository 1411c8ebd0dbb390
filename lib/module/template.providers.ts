import type { Provider } from '@nestjs/common';
import { EmailEvent, EmailEventBus } from '../events';
import { EMAIL_QUEUE, QUEUE_SETTINGS } from '../queue';
import type { EmailQueue, QueueSettings } from '../queue';
import type { RedisConnection } from '../redis';
import { EMAIL_TEMPLATE_STORE, EmailTemplates, TemplateRegistry, TEMPLATE_SETTINGS } from '../templates';
import type { EmailTemplateStore, TemplateSettings } from '../templates';
import { EMAIL_REDIS, storeRedis } from './email-workflow.providers';

/** Injection token of the Redis channel that carries `EmailTemplates.reload()` to every process. */
const TEMPLATE_RELOADS = 'EMAIL_WORKFLOW:TEMPLATE_RELOADS';

/** The templates of every send (templates.store → templates.dir → built-in), and their reloads over Redis. */
export const templateProviders: Provider[] = [
  {
    provide: EmailTemplates,
    // `templates.store` first, `EMAIL_TEMPLATE_STORE` (the app's own provider) otherwise, as the user directory.
    useFactory: (registry: TemplateRegistry, settings: TemplateSettings, events: EmailEventBus, injected?: EmailTemplateStore) => {
      const templates = new EmailTemplates(registry, settings, settings.store.store ?? injected);
      templates.onSkip((skip) => events.emit(EmailEvent.TemplateSkipped, skip));
      return templates;
    },
    inject: [TemplateRegistry, TEMPLATE_SETTINGS, EmailEventBus, { token: EMAIL_TEMPLATE_STORE, optional: true }],
  },
  {
    // Apart from EmailTemplates, which the queue's worker needs before the queue (and its Redis) exists.
    // Only with a store and Redis: reloads are for stored templates, and alone a process needs no channel.
    provide: TEMPLATE_RELOADS,
    useFactory: async (templates: EmailTemplates, queue: EmailQueue, { commandTimeout }: QueueSettings, redis: RedisConnection | null) => {
      const shared = storeRedis(redis, queue);
      if (!templates.hasStore || !shared || !redis) return null;
      await templates.connect(shared.client, redis.open('subscriber'), shared.prefix, commandTimeout);
      return true;
    },
    inject: [EmailTemplates, EMAIL_QUEUE, QUEUE_SETTINGS, EMAIL_REDIS],
  },
];
