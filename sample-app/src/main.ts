import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { AppModule } from './app.module';
import { readSettings } from './settings';
import { DEV_INBOX_PATH, DEV_TEMPLATES_PATH } from './site';

/** A start-up failure the person starting the sample can fix: one line says how, a stack trace would bury it. */
class StartupProblem extends Error {}

async function bootstrap(): Promise<void> {
  // The sample runs in development: its dev inbox starts only there. Set before the module is built,
  // since the inbox checks NODE_ENV at boot; one set in the shell (production, say) is kept, and then
  // the inbox refuses with DevInboxInProductionError, whose message says how to enable it.
  process.env.NODE_ENV ??= 'development';
  // Nest's default body parsers (express.json and express.urlencoded) read the forms.
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.disable('x-powered-by');
  // SIGINT/SIGTERM run the shutdown hooks: the library closes its queue, then the catcher stops.
  app.enableShutdownHooks();
  const { port, appUrl, smtpUrl } = readSettings(app.get(ConfigService));
  await app.init();
  // Loopback only: a demo with in-memory users and a page that shows every email. The HTTP server is
  // started here rather than by app.listen(), which would first log a busy port as an ERROR of its own,
  // without the fix the one line below gives.
  const server = app.getHttpServer() as Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new StartupProblem(`Port ${port} is in use: set PORT=… to use another one.`) : error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const logger = new Logger('Sample');
  logger.log(`Sample app:  ${appUrl}`);
  logger.log(`Dev inbox:   ${appUrl}${DEV_INBOX_PATH}${smtpUrl ? ' (empty: emails go to SMTP_URL)' : ''}`);
  logger.log(`Templates:   ${appUrl}${DEV_TEMPLATES_PATH}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof StartupProblem ? error.message : error);
  process.exit(1);
});
