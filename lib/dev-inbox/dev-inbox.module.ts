import { DynamicModule, Logger, Module } from '@nestjs/common';
import { DevInboxInProductionError } from '../errors';
import { createDeliveryLogController } from './delivery-log.controller';
import { createInboxController, createTemplatesController } from './dev-inbox.controllers';
import { EmailDevInboxOptions, resolveDevInboxOptions, ResolvedDevInboxOptions } from './dev-inbox.options';
import { DevInbox } from './dev-inbox.service';

const logger = new Logger('EmailDevInbox');
/** The only NODE_ENV values the inbox starts under: anything else, unset included, may be a server real users reach. */
const DEVELOPMENT_ENVIRONMENTS = new Set(['development', 'test']);

function isDevelopment(nodeEnv: string | undefined): boolean {
  return DEVELOPMENT_ENVIRONMENTS.has((nodeEnv ?? '').trim().toLowerCase());
}

async function startDevInbox(options: ResolvedDevInboxOptions): Promise<DevInbox> {
  // Checked at boot, not at import: NODE_ENV is often set by config loaded after the modules are declared.
  const nodeEnv = process.env.NODE_ENV;
  if (!isDevelopment(nodeEnv)) throw new DevInboxInProductionError(nodeEnv);
  const inbox = await DevInbox.start(options.maxMessages);
  logger.log(`Catching email on smtp://127.0.0.1:${inbox.transport().port}. Inbox at ${options.inboxPath}, template previews at ${options.templatesPath}, delivery log at ${options.deliveryLogPath}`);
  return inbox;
}

/**
 * Development aid: an SMTP server inside the app that catches every email, with pages to read them
 * (`/dev/inbox`), to preview every template on desktop and mobile widths (`/dev/templates`) and to see
 * what the workflow did with each email, from queued to the server's reply (`/dev/delivery-log`). The
 * pages have no authentication, so the module starts only when `NODE_ENV` (trimmed, lower-cased) is
 * `development` or `test`, and otherwise (unset included) refuses with DevInboxInProductionError.
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
  /**
   * Whether the inbox would start under this NODE_ENV (trimmed, lower-cased: `development` or
   * `test`), so an app can import it only then: `...(EmailDevInboxModule.isAllowed() ? [EmailDevInboxModule.forRoot()] : [])`.
   */
  static isAllowed(nodeEnv: string | undefined = process.env.NODE_ENV): boolean {
    return isDevelopment(nodeEnv);
  }

  static forRoot(options: EmailDevInboxOptions = {}): DynamicModule {
    const resolved = resolveDevInboxOptions(options);
    return {
      module: EmailDevInboxModule,
      global: true,
      controllers: [createInboxController(resolved), createTemplatesController(resolved), createDeliveryLogController(resolved)],
      providers: [{ provide: DevInbox, useFactory: () => startDevInbox(resolved) }],
      exports: [DevInbox],
    };
  }
}
