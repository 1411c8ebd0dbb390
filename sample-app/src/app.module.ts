import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EmailWorkflowModule } from 'nestjs-email-workflow';
import { DevInbox, EmailDevInboxModule } from 'nestjs-email-workflow/dev-inbox';
import { AuthController } from './auth.controller';
import { EmailErrorsFilter } from './email-errors.filter';
import { EmailLog } from './email-log';
import { emailWorkflowOptions } from './email-options';
import { PasswordController } from './password.controller';
import { Sessions } from './sessions';
import { SignUpLimits } from './sign-up.limits';
import { readSettings } from './settings';
import { PageHeadersMiddleware, Site } from './site';
import { UsersStore } from './users.store';

/** The users, shared by the pages and by the library (as its EmailUserDirectory). */
@Module({ providers: [UsersStore], exports: [UsersStore] })
export class UsersModule {}

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    // The dev inbox (/dev/inbox) and template previews (/dev/templates). A real app imports this
    // only in development.
    EmailDevInboxModule.forRoot(),
    UsersModule,
    EmailWorkflowModule.forRootAsync({
      imports: [UsersModule],
      inject: [ConfigService, DevInbox, UsersStore],
      useFactory: (config: ConfigService, inbox: DevInbox, users: UsersStore) => emailWorkflowOptions(readSettings(config), inbox, users),
    }),
  ],
  controllers: [AuthController, PasswordController],
  providers: [Sessions, Site, EmailLog, EmailErrorsFilter, SignUpLimits],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(PageHeadersMiddleware).forRoutes(AuthController, PasswordController);
  }
}
