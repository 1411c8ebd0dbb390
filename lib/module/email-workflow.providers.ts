import { Logger, Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { getQueueToken } from '@nestjs/bull-shared';
import { BounceMailbox, EmailBounceProcessor } from '../bounce-mailbox';
import { BOUNCE_SETTINGS, BounceSettings } from '../bounces';
import { CRYPTO_SETTINGS, CryptoSettings, MessageRefs, PayloadCipher, deriveKey } from '../crypto';
import { DELIVERABILITY_SETTINGS } from '../deliverability';
import {
  DELIVERY_LOG_SETTINGS,
  DeliveryLogFeed,
  DeliveryLogSettings,
  EmailDeliveryLog,
  MemoryDeliveryLogStore,
  RedisDeliveryLogStore,
} from '../delivery-log';
import { EmailEventBus, EmailEventSubscriptions } from '../events';
import { EmailMetrics, meterProviderFor, METRICS_SETTINGS, MetricsSettings } from '../metrics';
import {
  EMAIL_QUEUE,
  EMAIL_WORKFLOW_QUEUE_NAME,
  EmailQueue,
  FailureRedactor,
  InProcessEmailQueue,
  openRedisQueue,
  RedisEmailQueue,
  inProcessQueueSettings,
  QUEUE_SETTINGS,
  queuePrefix,
  queueRedisTarget,
  QueueSettings,
} from '../queue';
import { EmailDeliveryWorker, MessageComposer, SENDER_SETTINGS } from '../delivery';
import type { SenderSettings } from '../delivery';
import { RedisConnection } from '../redis';
import type { RedisClient } from '../redis';
import {
  BounceFeed,
  EmailSuppressions,
  MemorySuppressionStore,
  RedisSuppressionStore,
  SUPPRESSION_SETTINGS,
  SuppressionSettings,
} from '../suppression';
import { EmailTemplates, TemplateRegistry, TEMPLATE_SETTINGS, TemplateSettings } from '../templates';
import {
  EMAIL_RATE_LIMITER,
  EMAIL_TOKEN_STORE,
  EmailTokens,
  MemoryRateLimiter,
  MemoryTokenStore,
  RateLimiter,
  RedisRateLimiter,
  RedisTokenStore,
  TokenStore,
  TOKEN_SETTINGS,
  TokenSettings,
} from '../tokens';
import { makeDefaultTransport, TRANSPORT_SETTINGS, TransportRegistry, TransportSettings } from '../transport';
import { FLOW_SETTINGS, FlowSettings, longestCodeTtl, WORKFLOW_SETTINGS } from '../workflow';
import { EMAIL_WORKFLOW_MODULE_OPTIONS, EMAIL_WORKFLOW_SETTINGS } from './email-workflow.constants';
import { EmailWorkflowSettings, resolveEmailWorkflowOptions } from './email-workflow.settings';

const logger = new Logger('EmailWorkflowModule');
/** Used and expired token records are kept this long, so an old link says "expired", not "unknown". */
const TOKEN_RETENTION_MS = 7 * 24 * 3_600_000;

function isOnRedis(queue: EmailQueue): queue is RedisEmailQueue {
  return 'redis' in queue;
}

/**
 * Where the stores keep their keys: the module's Redis connection (its commands client, shared with the
 * queue) under the queue's prefix, once the queue has checked Redis at boot; undefined in process.
 */
export function storeRedis(redis: RedisConnection | null, queue: EmailQueue): { client: RedisClient; prefix: string } | undefined {
  return redis !== null && isOnRedis(queue) ? { client: redis.commands(), prefix: queue.keyPrefix } : undefined;
}

/** Injection token of the module's RedisConnection: null with the in-process queue. */
export const EMAIL_REDIS = 'EMAIL_WORKFLOW:REDIS';

/**
 * Injection token of the key every keyed store derives its own keys from: the module secret, or without
 * one (in-process queue, no bounces.address: nothing outlives the process) a key made once per process.
 */
const STORE_KEY = 'EMAIL_WORKFLOW:STORE_KEY';

async function openQueue(queue: QueueSettings, crypto: CryptoSettings, worker: EmailDeliveryWorker, redis: RedisConnection | null): Promise<EmailQueue> {
  if (redis === null) {
    logger.warn('Emails queue in process memory: not durable, lost if the process stops. Set queue.redis for production.');
    return new InProcessEmailQueue(worker, inProcessQueueSettings(queue));
  }
  // Validation guarantees a secret whenever Redis is used.
  const secret = crypto.secret as string;
  const cipher = new PayloadCipher(deriveKey(secret, 'queue-payload'));
  const settings = { ...queue, prefix: queuePrefix(queue, redis.target) };
  const durable = await openRedisQueue(settings, redis, worker, cipher, new FailureRedactor(deriveKey(secret, 'failure-address')));
  logger.log(`Emails queue in Redis at ${redis.where}${queue.worker ? '' : ' (this process only enqueues)'}`);
  return durable;
}

/** Each concern's settings under its own token, taken from the one resolution of the module options. */
const settingsProviders: Provider[] = (
  [
    [TRANSPORT_SETTINGS, 'transport'],
    [SENDER_SETTINGS, 'sender'],
    [WORKFLOW_SETTINGS, 'workflow'],
    [TEMPLATE_SETTINGS, 'templates'],
    [TOKEN_SETTINGS, 'tokens'],
    [FLOW_SETTINGS, 'flows'],
    [SUPPRESSION_SETTINGS, 'suppression'],
    [QUEUE_SETTINGS, 'queue'],
    [CRYPTO_SETTINGS, 'crypto'],
    [METRICS_SETTINGS, 'metrics'],
    [BOUNCE_SETTINGS, 'bounces'],
    [DELIVERY_LOG_SETTINGS, 'deliveryLog'],
    [DELIVERABILITY_SETTINGS, 'deliverability'],
  ] as const
).map(([provide, concern]) => ({
  provide,
  useFactory: (settings: EmailWorkflowSettings) => settings[concern],
  inject: [EMAIL_WORKFLOW_SETTINGS],
}));

export const emailWorkflowProviders: Provider[] = [
  {
    provide: EMAIL_WORKFLOW_SETTINGS,
    useFactory: resolveEmailWorkflowOptions,
    inject: [EMAIL_WORKFLOW_MODULE_OPTIONS],
  },
  ...settingsProviders,
  {
    provide: TemplateRegistry,
    useFactory: ({ registry }: TemplateSettings) => TemplateRegistry.load(registry),
    inject: [TEMPLATE_SETTINGS],
  },
  {
    provide: TransportRegistry,
    useFactory: (settings: TransportSettings, { probeInterval }: QueueSettings) => {
      const resolved = makeDefaultTransport(settings, probeInterval);
      logger.log(`Sending through ${resolved.description}${settings.tenants ? ', and per-tenant transports' : ''}`);
      return new TransportRegistry(resolved, settings.tenants);
    },
    inject: [TRANSPORT_SETTINGS, QUEUE_SETTINGS],
  },
  {
    provide: STORE_KEY,
    useFactory: ({ secret }: CryptoSettings) => secret ?? randomBytes(32).toString('base64url'),
    inject: [CRYPTO_SETTINGS],
  },
  EmailEventBus,
  EmailEventSubscriptions,
  {
    provide: EmailMetrics,
    // null when nothing is recorded: no listener, no cost per email.
    useFactory: (settings: MetricsSettings, events: EmailEventBus) => {
      const provider = meterProviderFor(settings);
      return provider ? new EmailMetrics(events, provider) : null;
    },
    inject: [METRICS_SETTINGS, EmailEventBus],
  },
  {
    provide: MessageRefs,
    useFactory: (key: string) => new MessageRefs(deriveKey(key, 'message-refs')),
    inject: [STORE_KEY],
  },
  {
    provide: MessageComposer,
    useFactory: (templates: TemplateRegistry, sender: SenderSettings, { brand }: TemplateSettings, bounces: BounceSettings, refs: MessageRefs, sources: EmailTemplates) =>
      new MessageComposer(templates, { ...sender, brand, bounceAddress: bounces.address && { ...bounces.address, refs } }, sources),
    inject: [TemplateRegistry, SENDER_SETTINGS, TEMPLATE_SETTINGS, BOUNCE_SETTINGS, MessageRefs, EmailTemplates],
  },
  {
    provide: EmailDeliveryWorker,
    useFactory: (composer: MessageComposer, transports: TransportRegistry, events: EmailEventBus, queue: QueueSettings) =>
      new EmailDeliveryWorker(composer, transports, events, queue),
    inject: [MessageComposer, TransportRegistry, EmailEventBus, QUEUE_SETTINGS],
  },
  {
    // The one place the kind of Redis connection (one server, Sentinel, Cluster, the app's own) is decided.
    provide: EMAIL_REDIS,
    useFactory: (queue: QueueSettings) => {
      const target = queueRedisTarget(queue);
      return target === undefined ? null : new RedisConnection(target);
    },
    inject: [QUEUE_SETTINGS],
  },
  {
    provide: EMAIL_QUEUE,
    useFactory: openQueue,
    inject: [QUEUE_SETTINGS, CRYPTO_SETTINGS, EmailDeliveryWorker, EMAIL_REDIS],
  },
  {
    provide: EMAIL_TOKEN_STORE,
    useFactory: ({ store }: TokenSettings, queue: EmailQueue, { commandTimeout }: QueueSettings, redis: RedisConnection | null): TokenStore => {
      if (store) return store;
      // The workflow's Redis keys (tokens, rate limits) sit beside the queue's, under the same prefix and time bound.
      const shared = storeRedis(redis, queue);
      return shared ? new RedisTokenStore(shared.client, shared.prefix, TOKEN_RETENTION_MS, commandTimeout) : new MemoryTokenStore(TOKEN_RETENTION_MS);
    },
    inject: [TOKEN_SETTINGS, EMAIL_QUEUE, QUEUE_SETTINGS, EMAIL_REDIS],
  },
  {
    provide: EMAIL_RATE_LIMITER,
    useFactory: (queue: EmailQueue, { commandTimeout }: QueueSettings, storeKey: string, redis: RedisConnection | null): RateLimiter => {
      const key = deriveKey(storeKey, 'rate-limit-key');
      const shared = storeRedis(redis, queue);
      return shared ? new RedisRateLimiter(shared.client, shared.prefix, commandTimeout, key) : new MemoryRateLimiter(key);
    },
    inject: [EMAIL_QUEUE, QUEUE_SETTINGS, STORE_KEY, EMAIL_REDIS],
  },
  {
    provide: EmailTokens,
    // Code tries are counted in the token store: in Redis with a Redis queue, so shared by every process.
    useFactory: (key: string, { claimWindowMs, codes }: TokenSettings, flows: FlowSettings, store: TokenStore) => {
      return new EmailTokens(store, deriveKey(key, 'token-hmac'), {
        claimWindowMs,
        recordKey: deriveKey(key, 'token-record'),
        codes,
        attemptWindowSeconds: longestCodeTtl(flows),
      });
    },
    inject: [STORE_KEY, TOKEN_SETTINGS, FLOW_SETTINGS, EMAIL_TOKEN_STORE],
  },
  {
    provide: EmailSuppressions,
    // In the token store's place: Redis beside the queue when there is one (shared by every process),
    // else memory.
    useFactory: (queue: EmailQueue, { commandTimeout }: QueueSettings, key: string, redis: RedisConnection | null) => {
      const shared = storeRedis(redis, queue);
      const store = shared ? new RedisSuppressionStore(shared.client, shared.prefix, commandTimeout) : new MemorySuppressionStore();
      return new EmailSuppressions(store, deriveKey(key, 'suppression-key'), new PayloadCipher(deriveKey(key, 'suppression-address')));
    },
    inject: [EMAIL_QUEUE, QUEUE_SETTINGS, STORE_KEY, EMAIL_REDIS],
  },
  {
    provide: BounceFeed,
    useFactory: (events: EmailEventBus, suppressions: EmailSuppressions, settings: SuppressionSettings) => new BounceFeed(events, suppressions, settings),
    inject: [EmailEventBus, EmailSuppressions, SUPPRESSION_SETTINGS],
  },
  {
    provide: EmailDeliveryLog,
    // Where the tokens are: Redis beside the queue (every process writes one shared log), else memory.
    useFactory: (queue: EmailQueue, { commandTimeout }: QueueSettings, key: string, limits: DeliveryLogSettings, refs: MessageRefs, redis: RedisConnection | null) => {
      const shared = storeRedis(redis, queue);
      const store = shared ? new RedisDeliveryLogStore(shared.client, shared.prefix, limits, commandTimeout) : new MemoryDeliveryLogStore(limits);
      return new EmailDeliveryLog(store, refs, deriveKey(key, 'delivery-log-key'), new PayloadCipher(deriveKey(key, 'delivery-log')));
    },
    inject: [EMAIL_QUEUE, QUEUE_SETTINGS, STORE_KEY, DELIVERY_LOG_SETTINGS, MessageRefs, EMAIL_REDIS],
  },
  {
    provide: DeliveryLogFeed,
    useFactory: (events: EmailEventBus, log: EmailDeliveryLog) => new DeliveryLogFeed(events, log),
    inject: [EmailEventBus, EmailDeliveryLog],
  },
  {
    provide: EmailBounceProcessor,
    useFactory: (log: EmailDeliveryLog, refs: MessageRefs, suppressions: EmailSuppressions, events: EmailEventBus, { codes }: SuppressionSettings) =>
      new EmailBounceProcessor(log, refs, suppressions, events, codes),
    inject: [EmailDeliveryLog, MessageRefs, EmailSuppressions, EmailEventBus, SUPPRESSION_SETTINGS],
  },
  {
    provide: BounceMailbox,
    // Read where emails are sent: an API-only process (queue.worker: false) leaves the mailbox to the workers.
    useFactory: ({ imap }: BounceSettings, processor: EmailBounceProcessor, queue: EmailQueue, settings: QueueSettings, redis: RedisConnection | null) => {
      const shared = storeRedis(redis, queue);
      const place = shared ? { redis: { client: shared.client, prefix: shared.prefix, commandTimeoutMs: settings.commandTimeout } } : {};
      return new BounceMailbox(settings.worker === false ? undefined : imap, processor, place);
    },
    inject: [BOUNCE_SETTINGS, EmailBounceProcessor, EMAIL_QUEUE, QUEUE_SETTINGS, EMAIL_REDIS],
  },
  {
    // The driver's queue object (Bull or BullMQ) under the token @nestjs/bull and @nestjs/bullmq share, for
    // @InjectQueue('email-workflow') (dashboards, metrics); null in process.
    provide: getQueueToken(EMAIL_WORKFLOW_QUEUE_NAME),
    useFactory: (queue: EmailQueue) => (isOnRedis(queue) ? queue.driverQueue : null),
    inject: [EMAIL_QUEUE],
  },
];
