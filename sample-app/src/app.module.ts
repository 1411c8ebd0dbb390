import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EmailWorkflowModule, EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { AppController } from './app.controller';
import { DeliveryLogger } from './delivery.logger';
import { MailCatcher, MailCatcherModule } from './mail-catcher';
import { readSettings } from './settings';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    EmailWorkflowModule.forRootAsync({
      imports: [MailCatcherModule],
      inject: [ConfigService, MailCatcher],
      useFactory: async (config: ConfigService, catcher: MailCatcher): Promise<EmailWorkflowModuleOptions> => {
        const { smtpUrl, from, appUrl } = readSettings(config);
        return {
          transport: smtpUrl ?? { host: '127.0.0.1', port: await catcher.start(), security: 'none' },
          from,
          brand: { name: 'Sample App' },
          links: {
            verifyEmail: `${appUrl}/verify-email?token={token}`,
            resetPassword: `${appUrl}/reset-password?token={token}`,
          },
        };
      },
    }),
  ],
  controllers: [AppController],
  providers: [DeliveryLogger],
})
export class AppModule {}
