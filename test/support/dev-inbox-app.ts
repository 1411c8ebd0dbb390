import { INestApplication } from '@nestjs/common';
import type { ExpressAdapter } from '@nestjs/platform-express';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { EmailDeliveryLog, EmailWorkflowModule, EmailWorkflowService } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { DevInbox, EmailDevInboxModule } from 'nestjs-email-workflow/dev-inbox';
import { localOptions } from './module-options';

/** An app with the dev inbox and the workflow, listening on a free loopback port. */
export interface DevInboxApp {
  app: INestApplication;
  inbox: DevInbox;
  emails: EmailWorkflowService;
  log: EmailDeliveryLog;
  /** The app's origin, `http://127.0.0.1:<port>`. */
  origin: string;
}

/** The documented wiring (dev inbox injected into forRootAsync, in-process queue), over real HTTP on `adapter`. */
export async function bootDevInboxApp(adapter: ExpressAdapter | FastifyAdapter, overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<DevInboxApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      EmailDevInboxModule.forRoot(),
      EmailWorkflowModule.forRootAsync({
        inject: [DevInbox],
        useFactory: (inbox: DevInbox) => ({ ...localOptions(0), transport: inbox.transport(), queue: false, ...overrides }),
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication(adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  const origin = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { app, inbox: app.get(DevInbox), emails: app.get(EmailWorkflowService), log: app.get(EmailDeliveryLog), origin };
}
