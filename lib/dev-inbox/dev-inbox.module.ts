import { DynamicModule, Logger, Module } from '@nestjs/common';
import { DevInboxInProductionError } from '../errors';
import { createInboxController, createTemplatesController } from './dev-inbox.controllers';
import { EmailDevInboxOptions, resolveDevInboxOptions, ResolvedDevInboxOptions } from './dev-inbox.options';
import { DevInbox } from './dev-inbox.service';

const logger = new Logger('EmailDevInbox');

async function startDevInbox(options: ResolvedDevInboxOptions): Promise<DevInbox> {
  // Checked at boot, not at import: NODE_ENV is often set by config loaded after the modules are declared.
  if (process.env.NODE_ENV === 'production') throw new DevInboxInProductionError();
  const inbox = await DevInbox.start(options.maxMessages);
  logger.log(`Catching email on smtp://127.0.0.1:${inbox.transport().port}. Inbox at ${options.inboxPath}, template previews at ${options.templatesPath}`);
  return inbox;
}

/**
 * Development aid: an SMTP server inside the app that catches every email, with pages to read them
 * (`/dev/inbox`) and to preview every template on desktop and mobile widths (`/dev/templates`). The
 * pages have no authentication, so the module refuses to start with `NODE_ENV=production`.
 * Needs the dev dependencies `smtp-server` and `mailparser`.
 *
 * The module is global, so `DevInbox` can be injected into `EmailWorkflowModule`'s options factory:
 *
 * @example
 * imports: [
 *   EmailDevInboxModule.forRoot(),
 *   EmailWorkflowModule.forRootAsync({
 *     inject: [DevInbox],
 *     useFactory: (inbox: DevInbox) => ({
 *       transport: inbox.transport(),
 *       from: 'Acme <no-reply@acme.test>',
 *       brand: { name: 'Acme' },
 *       links: { verifyEmail: 'http://localhost:3000/verify?token={token}', resetPassword: 'http://localhost:3000/reset?token={token}' },
 *     }),
 *   }),
 * ]
 */
@Module({})
export class EmailDevInboxModule {
  static forRoot(options: EmailDevInboxOptions = {}): DynamicModule {
    const resolved = resolveDevInboxOptions(options);
    return {
      module: EmailDevInboxModule,
      global: true,
      controllers: [createInboxController(resolved.inboxPath), createTemplatesController(resolved.templatesPath)],
      providers: [{ provide: DevInbox, useFactory: () => startDevInbox(resolved) }],
      exports: [DevInbox],
    };
  }
}
