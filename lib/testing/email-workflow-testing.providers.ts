import type { FactoryProvider, InjectionToken, Provider } from '@nestjs/common';
import { EMAIL_QUEUE, InProcessEmailQueue, inProcessQueueSettings, QUEUE_SETTINGS } from '../queue';
import { EmailDeliveryWorker } from '../delivery';
import type { EmailQueue, QueueSettings } from '../queue';
import { TRANSPORT_SETTINGS, TransportRegistry } from '../transport';
import type { TransportSettings } from '../transport';
import { outboxTransportRegistry } from './outbox.delivery';
import { TestOutbox } from './test-outbox';

/** The module's transports, every send captured by `outbox` (the production worker delivers to it as to any transport). */
function outboxRegistry(outbox: () => TestOutbox | undefined): FactoryProvider<TransportRegistry> {
  return {
    provide: TransportRegistry,
    useFactory: (transport: TransportSettings, queue: QueueSettings, injected?: TestOutbox) =>
      outboxTransportRegistry(outbox() ?? (injected as TestOutbox), transport, queue.probeInterval),
    inject: [TRANSPORT_SETTINGS, QUEUE_SETTINGS, ...(outbox() ? [] : [TestOutbox])],
  };
}

/**
 * In process whatever `queue` says, so a test needs no Redis even when the app's options name one; and
 * without the boot warning that such a queue is not durable, which is beside the point in a test.
 */
const inProcessQueue: FactoryProvider<EmailQueue> = {
  provide: EMAIL_QUEUE,
  useFactory: (queue: QueueSettings, worker: EmailDeliveryWorker) => new InProcessEmailQueue(worker, inProcessQueueSettings(queue)),
  inject: [QUEUE_SETTINGS, EmailDeliveryWorker],
};

/**
 * What `EmailWorkflowTestingModule` adds to `EmailWorkflowModule`'s providers, replacing the transport
 * registry and the queue of the same tokens: a fresh `TestOutbox` per compiled module.
 */
export const testingProviders: Provider[] = [
  { provide: TestOutbox, useFactory: () => new TestOutbox() },
  outboxRegistry(() => undefined),
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
  const overrides: FactoryProvider[] = [outboxRegistry(() => outbox), inProcessQueue];
  for (const { provide, useFactory, inject } of overrides) builder.overrideProvider(provide).useFactory({ factory: useFactory, inject });
  return builder;
}
