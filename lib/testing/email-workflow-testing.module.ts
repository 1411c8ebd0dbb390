import { DynamicModule, Module } from '@nestjs/common';
import { EmailWorkflowModule } from '../module';
import { EmailWorkflowTestingAsyncOptions, EmailWorkflowTestingOptions, withTestDefaults } from './email-workflow-testing.options';
import { testingProviders } from './email-workflow-testing.providers';
import { TestOutbox } from './test-outbox';

/**
 * `EmailWorkflowModule` for an app's tests: the same service, templates, hooks, events and worker,
 * with every email captured in an injectable `TestOutbox` instead of sent. No SMTP server and no Redis;
 * `transport`, `from`, `brand` and `links` may be left out.
 *
 * @example
 * const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowTestingModule.forRoot({ users })] }).compile();
 * await moduleRef.init(); // starts the queue: without it nothing is delivered
 * const outbox = moduleRef.get(TestOutbox);
 */
@Module({})
export class EmailWorkflowTestingModule {
  static forRoot(options: EmailWorkflowTestingOptions = {}): DynamicModule {
    return EmailWorkflowTestingModule.around(EmailWorkflowModule.forRoot(withTestDefaults(options)));
  }

  /** Options from a factory, e.g. to inject the app's user directory. */
  static forRootAsync({ useFactory, ...rest }: EmailWorkflowTestingAsyncOptions): DynamicModule {
    return EmailWorkflowTestingModule.around(
      EmailWorkflowModule.forRootAsync({ ...rest, useFactory: async (...injected: unknown[]) => withTestDefaults(await useFactory(...injected)) }),
    );
  }

  /** The workflow module with the capturing providers in place of the SMTP ones, imported and re-exported. */
  private static around(workflow: DynamicModule): DynamicModule {
    const capturing: DynamicModule = {
      ...workflow,
      // Providers of a dynamic module are registered after the @Module ones, so these take the tokens over.
      providers: [...(workflow.providers ?? []), ...testingProviders],
      exports: [...(workflow.exports ?? []), TestOutbox],
    };
    return { module: EmailWorkflowTestingModule, imports: [capturing], exports: [capturing] };
  }
}
