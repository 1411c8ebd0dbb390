import type { FactoryProvider, InjectionToken, Provider } from '@nestjs/common';
import { EmailEvents } from '../events';
import { EMAIL_WORKFLOW_RESOLVED_OPTIONS } from '../module/email-workflow.constants';
import type { ResolvedEmailWorkflowOptions } from '../module/resolved-options';
import { EMAIL_QUEUE, EmailDeliveryWorker, InProcessEmailQueue } from '../queue';
import type { EmailQueue } from '../queue';
import { TemplateRegistry } from '../templates';
import { TransportRegistry } from '../transport';
import { OutboxDeliveryWorker, OutboxTransportRegistry } from './outbox.delivery';
import { TestOutbox } from './test-outbox';

const outboxWorker: FactoryProvider<EmailDeliveryWorker> = {
  provide: EmailDeliveryWorker,
  useFactory: (options: ResolvedEmailWorkflowOptions, templates: TemplateRegistry, transports: TransportRegistry, events: EmailEvents) =>
    new OutboxDeliveryWorker(templates, transports, events, {
      from: options.from,
      replyTo: options.replyTo,
      brand: options.brand,
      backoff: options.queue.backoff,
      probeInterval: options.queue.probeInterval,
    }),
  inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS, TemplateRegistry, TransportRegistry, EmailEvents],
};

/**
 * In process whatever `queue` says, so a test needs no Redis even when the app's options name one; and
 * without the boot warning that such a queue is not durable, which is beside the point in a test.
 */
const inProcessQueue: FactoryProvider<EmailQueue> = {
  provide: EMAIL_QUEUE,
  useFactory: ({ queue }: ResolvedEmailWorkflowOptions, worker: EmailDeliveryWorker) =>
    new InProcessEmailQueue(worker, {
      concurrency: queue.concurrency,
      attempts: queue.attempts,
      shutdownTimeout: queue.shutdownTimeout,
      // Idempotency keys remembered, counted as production's in-process queue counts them.
      retained: typeof queue.removeOnComplete === 'number' ? queue.removeOnComplete : queue.removeOnComplete ? 0 : 10_000,
    }),
  inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS, EmailDeliveryWorker],
};

/**
 * What `EmailWorkflowTestingModule` adds to `EmailWorkflowModule`'s providers, replacing the SMTP
 * transports, the worker and the queue of the same tokens: a fresh `TestOutbox` per compiled module.
 */
export const testingProviders: Provider[] = [
  { provide: TestOutbox, useFactory: () => new TestOutbox() },
  {
    provide: TransportRegistry,
    useFactory: (outbox: TestOutbox, options: ResolvedEmailWorkflowOptions) => new OutboxTransportRegistry(outbox, options),
    inject: [TestOutbox, EMAIL_WORKFLOW_RESOLVED_OPTIONS],
  },
  outboxWorker,
  inProcessQueue,
];

/**
 * The one method of Nest's `TestingModuleBuilder` that `captureEmails` calls, spelled out so this
 * library does not depend on `@nestjs/testing`.
 */
export interface ProviderOverriding {
  overrideProvider(token: InjectionToken): {
    useFactory(options: { factory: (...injected: never[]) => unknown; inject?: FactoryProvider['inject'] }): unknown;
  };
}

/**
 * For an app whose own module imports `EmailWorkflowModule.forRoot()` / `forRootAsync()`: overrides
 * its delivery so every email lands in `outbox` instead of going over SMTP, through the in-process
 * queue (no Redis either). The app's options, hooks and templates stay as they are. Returns `builder`.
 *
 * @example
 * const outbox = new TestOutbox();
 * const moduleRef = await captureEmails(Test.createTestingModule({ imports: [AppModule] }), outbox).compile();
 */
export function captureEmails<Builder extends ProviderOverriding>(builder: Builder, outbox: TestOutbox): Builder {
  const overrides: FactoryProvider[] = [
    {
      provide: TransportRegistry,
      useFactory: (options: ResolvedEmailWorkflowOptions) => new OutboxTransportRegistry(outbox, options),
      inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS],
    },
    outboxWorker,
    inProcessQueue,
  ];
  for (const { provide, useFactory, inject } of overrides) builder.overrideProvider(provide).useFactory({ factory: useFactory, inject });
  return builder;
}
