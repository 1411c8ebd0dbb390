import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { readSettings } from './settings';
import { DEV_INBOX_PATH, DEV_TEMPLATES_PATH } from './site';

async function bootstrap(): Promise<void> {
  // Nest's default body parsers (express.json and express.urlencoded) read the forms.
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.disable('x-powered-by');
  // SIGINT/SIGTERM run the shutdown hooks: the library closes its queue, then the catcher stops.
  app.enableShutdownHooks();
  const { port, appUrl, smtpUrl } = readSettings(app.get(ConfigService));
  // Loopback only: a demo with in-memory users and a page that shows every email.
  await app.listen(port, '127.0.0.1');
  const logger = new Logger('Sample');
  logger.log(`Sample app:  ${appUrl}`);
  logger.log(`Dev inbox:   ${appUrl}${DEV_INBOX_PATH}${smtpUrl ? ' (empty: emails go to SMTP_URL)' : ''}`);
  logger.log(`Templates:   ${appUrl}${DEV_TEMPLATES_PATH}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
