import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowModule, EmailWorkflowModuleOptions, EmailWorkflowService } from 'nestjs-email-workflow';
import { localOptions } from '../support/module-options';
import { SmtpSink } from '../support/smtp-sink';

/** Sends one email through whatever module graph it is given and checks it arrived. */
async function expectDelivers(moduleRef: TestingModule, sink: SmtpSink, service: EmailWorkflowService): Promise<void> {
  await moduleRef.init();
  const before = sink.messages.length;
  const { messageId } = await service.send({ template: 'test-email', to: 'ada@example.test' });
  const messages = await sink.waitForMessages(before + 1);
  expect(messages[before].messageId).toBe(messageId);
  expect(messages[before].subject).toBe('Test email from Acme');
  await moduleRef.close();
}

describe('EmailWorkflowModule registration', () => {
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    await sink.close();
  });

  it('forRoot', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port))] }).compile();
    await expectDelivers(moduleRef, sink, moduleRef.get(EmailWorkflowService));
  });

  it('forRootAsync with useFactory reading SMTP_URL from ConfigService', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRootAsync({
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ SMTP_URL: `smtp://127.0.0.1:${sink.port}?security=none`, MAIL_FROM: 'Acme <no-reply@acme.test>' })] })],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            ...localOptions(sink.port),
            transport: config.getOrThrow<string>('SMTP_URL'),
            from: config.getOrThrow<string>('MAIL_FROM'),
          }),
        }),
      ],
    }).compile();
    await expectDelivers(moduleRef, sink, moduleRef.get(EmailWorkflowService));
  });

  it('forRootAsync with useClass', async () => {
    const port = sink.port;
    @Injectable()
    class EmailConfig {
      createEmailWorkflowOptions(): EmailWorkflowModuleOptions {
        return localOptions(port);
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRootAsync({ useClass: EmailConfig })],
    }).compile();
    await expectDelivers(moduleRef, sink, moduleRef.get(EmailWorkflowService));
  });

  it('forRootAsync with useExisting', async () => {
    const port = sink.port;
    @Injectable()
    class SharedEmailConfig {
      createEmailWorkflowOptions(): EmailWorkflowModuleOptions {
        return localOptions(port);
      }
    }
    @Module({ providers: [SharedEmailConfig], exports: [SharedEmailConfig] })
    class SharedConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRootAsync({ imports: [SharedConfigModule], useExisting: SharedEmailConfig })],
    }).compile();
    await expectDelivers(moduleRef, sink, moduleRef.get(EmailWorkflowService));
  });

  it('isGlobal makes the service injectable in modules that do not import it', async () => {
    @Injectable()
    class SignupService {
      constructor(readonly emails: EmailWorkflowService) {}
    }
    @Module({ providers: [SignupService] })
    class SignupModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot({ ...localOptions(sink.port), isGlobal: true }), SignupModule],
    }).compile();
    await expectDelivers(moduleRef, sink, moduleRef.get(SignupService).emails);
  });

  it('without isGlobal, a module that does not import it cannot inject the service', async () => {
    @Injectable()
    class SignupService {
      constructor(readonly emails: EmailWorkflowService) {}
    }
    @Module({ providers: [SignupService] })
    class SignupModule {}
    await expect(
      Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port)), SignupModule] }).compile(),
    ).rejects.toThrow(/can't resolve dependencies of the SignupService/i);
  });
});
