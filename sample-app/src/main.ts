import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { EmailDevInboxModule } from 'nestjs-email-workflow/dev-inbox';
import { AppModule } from './app.module';
import { readSettings, StartupProblem } from './settings';
import { DEV_DELIVERY_LOG_PATH, DEV_INBOX_PATH, DEV_TEMPLATES_PATH } from './site';


async function bootstrap(): Promise<void> {
  // `npm start` runs the sample in development, the only place its dev inbox is imported. One set in
  // the shell (production, say) is kept: the sample then runs without the inbox and needs SMTP_URL.
  process.env.NODE_ENV ??= 'development';
  // Nest's default body parsers (express.json and express.urlencoded) read the forms.
  // The boot logs wait until the port is ours: on a busy port, "Nest application successfully
  // started" would otherwise be printed before the one line that says why the sample stops.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forEnvironment(), { abortOnError: false, bufferLogs: true });
  app.disable('x-powered-by');
  // SIGINT/SIGTERM run the shutdown hooks: the library closes its queue, then the catcher stops.
  app.enableShutdownHooks();
  const { port, appUrl, smtpUrl } = readSettings(app.get(ConfigService));
  await app.init();
  // Loopback only: a demo with a page that shows every email. The HTTP server is
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
  app.flushLogs();
  const logger = new Logger('Sample');
  logger.log(`Sample app:  ${appUrl}`);
  if (!EmailDevInboxModule.isAllowed()) return;
  logger.log(`Dev inbox:   ${appUrl}${DEV_INBOX_PATH}${smtpUrl ? ' (empty: emails go to SMTP_URL)' : ''}`);
  logger.log(`Templates:   ${appUrl}${DEV_TEMPLATES_PATH}`);
  logger.log(`Delivery log: ${appUrl}${DEV_DELIVERY_LOG_PATH}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof StartupProblem ? error.message : error);
  process.exit(1);
});
