import { Logger, Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { getQueueToken } from '@nestjs/bull-shared';
import { PayloadCipher } from '../crypto/payload.cipher';
import { deriveKey } from '../crypto/secret-keys';
import { EmailEvents } from '../events';
import {
  describeRedis,
  EMAIL_QUEUE,
  EMAIL_WORKFLOW_QUEUE_NAME,
  EmailDeliveryWorker,
  EmailQueue,
  InProcessEmailQueue,
  openRedisQueue,
  RedisEmailQueue,
} from '../queue';
import { TemplateRegistry } from '../templates';
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
} from '../tokens';
import { SmtpTransport, TransportRegistry } from '../transport';
import { EMAIL_WORKFLOW_MODULE_OPTIONS, EMAIL_WORKFLOW_RESOLVED_OPTIONS } from './email-workflow.constants';
import { resolveEmailWorkflowOptions, ResolvedEmailWorkflowOptions, resolveTenantTransport, templateSettings } from './resolved-options';

const logger = new Logger('EmailWorkflowModule');
/** Used and expired token records are kept this long, so an old link says "expired", not "unknown". */
const TOKEN_RETENTION_MS = 7 * 24 * 3_600_000;

function isOnRedis(queue: EmailQueue): queue is RedisEmailQueue {
  return 'redis' in queue;
}

async function openQueue(options: ResolvedEmailWorkflowOptions, worker: EmailDeliveryWorker): Promise<EmailQueue> {
  const { queue } = options;
  if (queue.redis === false) {
    logger.warn('Emails queue in process memory: not durable, lost if the process stops. Set queue.redis for production.');
    const retained = typeof queue.removeOnComplete === 'number' ? queue.removeOnComplete : queue.removeOnComplete ? 0 : 10_000;
    return new InProcessEmailQueue(worker, { ...queue, retained });
  }
  // Validation guarantees a secret whenever Redis is used.
  const cipher = new PayloadCipher(deriveKey(options.secret as string, 'queue-payload'));
  const durable = await openRedisQueue({ ...queue, redis: queue.redis }, worker, cipher);
  logger.log(`Emails queue in Redis at ${describeRedis(queue.redis)}${queue.worker ? '' : ' (this process only enqueues)'}`);
  return durable;
}

export const emailWorkflowProviders: Provider[] = [
  {
    provide: EMAIL_WORKFLOW_RESOLVED_OPTIONS,
    useFactory: resolveEmailWorkflowOptions,
    inject: [EMAIL_WORKFLOW_MODULE_OPTIONS],
  },
  {
    provide: TemplateRegistry,
    useFactory: (options: ResolvedEmailWorkflowOptions) => TemplateRegistry.load(templateSettings(options)),
    inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS],
  },
  {
    provide: TransportRegistry,
    useFactory: (options: ResolvedEmailWorkflowOptions) => {
      logger.log(`Sending through ${options.transportDescription}${options.tenants ? ', and per-tenant transports' : ''}`);
      return new TransportRegistry(
        { transport: new SmtpTransport(options.transport), options: options.transport, description: options.transportDescription },
        options.tenants && {
          resolve: (tenantId) => resolveTenantTransport(options, tenantId),
          maxCached: options.tenants.maxCached,
          idleTimeout: options.tenants.idleTimeout,
        },
      );
    },
    inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS],
  },
  EmailEvents,
  {
    provide: EmailDeliveryWorker,
    useFactory: (options: ResolvedEmailWorkflowOptions, templates: TemplateRegistry, transports: TransportRegistry, events: EmailEvents) =>
      new EmailDeliveryWorker(templates, transports, events, {
        from: options.from,
        replyTo: options.replyTo,
        brand: options.brand,
        backoff: options.queue.backoff,
        probeInterval: options.queue.probeInterval,
      }),
    inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS, TemplateRegistry, TransportRegistry, EmailEvents],
  },
  {
    provide: EMAIL_QUEUE,
    useFactory: openQueue,
    inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS, EmailDeliveryWorker],
  },
  {
    provide: EMAIL_TOKEN_STORE,
    useFactory: (options: ResolvedEmailWorkflowOptions, queue: EmailQueue): TokenStore =>
      options.tokens.store ??
      // The workflow's Redis keys (tokens, rate limits) sit beside the queue's, under the same prefix.
      (isOnRedis(queue) ? new RedisTokenStore(queue.redis, queue.keyPrefix, TOKEN_RETENTION_MS) : new MemoryTokenStore(TOKEN_RETENTION_MS)),
    inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS, EMAIL_QUEUE],
  },
  {
    provide: EMAIL_RATE_LIMITER,
    useFactory: (queue: EmailQueue): RateLimiter =>
      isOnRedis(queue) ? new RedisRateLimiter(queue.redis, queue.keyPrefix) : new MemoryRateLimiter(),
    inject: [EMAIL_QUEUE],
  },
  {
    provide: EmailTokens,
    // Without a secret (in-process queue only) tokens live in memory, so a per-process key is enough.
    useFactory: (options: ResolvedEmailWorkflowOptions, store: TokenStore) =>
      new EmailTokens(store, deriveKey(options.secret ?? randomBytes(32).toString('base64url'), 'token-hmac'), {
        'verify-email': options.tokens.verifyEmailTtl,
        'reset-password': options.tokens.resetPasswordTtl,
      }),
    inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS, EMAIL_TOKEN_STORE],
  },
  {
    // The Bull queue under @nestjs/bull's token, for @InjectQueue('email-workflow') (dashboards, metrics); null in process.
    provide: getQueueToken(EMAIL_WORKFLOW_QUEUE_NAME),
    useFactory: (queue: EmailQueue) => (isOnRedis(queue) ? queue.driverQueue : null),
    inject: [EMAIL_QUEUE],
  },
];
