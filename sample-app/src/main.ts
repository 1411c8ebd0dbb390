import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { readSettings } from './settings';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // SIGINT/SIGTERM run the shutdown hooks: the library closes its SMTP pool, then the catcher stops.
  app.enableShutdownHooks();
  const { port, appUrl } = readSettings(app.get(ConfigService));
  // Loopback only: this form sends email to any address it is given.
  await app.listen(port, '127.0.0.1');
  new Logger('Sample').log(`Open ${appUrl} to send a test or verification email`);
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
