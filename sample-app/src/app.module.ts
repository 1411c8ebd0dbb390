import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { EmailWorkflowModule } from 'nestjs-email-workflow';
import { DevInbox, EmailDevInboxModule } from 'nestjs-email-workflow/dev-inbox';
import { AccountController } from './account.controller';
import { AuthController } from './auth.controller';
import { EmailErrorsFilter } from './email-errors.filter';
import { CodeTries } from './code-tries';
import { EmailLog } from './email-log';
import { Flash } from './flash';
import { emailWorkflowOptions } from './email-options';
import { PageErrorsFilter } from './page-errors.filter';
import { PasswordController } from './password.controller';
import { Sessions } from './sessions';
import { SignInController } from './sign-in.controller';
import { SignIns } from './sign-ins';
import { SignUpLimits } from './sign-up.limits';
import { readSettings } from './settings';
import { LinkPages } from './link-pages';
import { PageHeadersMiddleware, Site } from './site';
import { UsersStore } from './users.store';
import { EmbeddedTokens } from './database/embedded-tokens';
import { UsersModule } from './database/users.module';

const CONTROLLERS = [AuthController, SignInController, PasswordController, AccountController];

/**
 * The sample, built for the NODE_ENV it runs under: the dev inbox (/dev/inbox) and template previews
 * (/dev/templates) are imported only in development or test, as a real app would; anywhere else the
 * emails go to SMTP_URL, which is then required.
 */
@Module({})
export class AppModule implements NestModule {
  static forEnvironment(nodeEnv: string | undefined = process.env.NODE_ENV): DynamicModule {
    const withInbox = EmailDevInboxModule.isAllowed(nodeEnv);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true }),
        ...(withInbox ? [EmailDevInboxModule.forRoot()] : []),
        UsersModule,
        EmailWorkflowModule.forRootAsync({
          imports: [UsersModule],
          inject: [ConfigService, UsersStore, EmbeddedTokens, { token: DevInbox, optional: true }],
          useFactory: async (config: ConfigService, users: UsersStore, embedded: EmbeddedTokens, inbox?: DevInbox) => {
            const settings = readSettings(config);
            // Without Redis, tokens are kept in the sample's database, under a secret that outlives a restart.
            const tokens = settings.redisUrl ? undefined : { store: embedded.store, secret: settings.secret ?? (await embedded.storedSecret()) };
            return emailWorkflowOptions(settings, users, inbox, tokens);
          },
        }),
      ],
      controllers: CONTROLLERS,
      providers: [Sessions, SignIns, Site, LinkPages, EmailLog, EmailErrorsFilter, SignUpLimits, Flash, CodeTries, { provide: APP_FILTER, useClass: PageErrorsFilter }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(PageHeadersMiddleware).forRoutes(...CONTROLLERS);
  }
}
