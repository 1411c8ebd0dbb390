import { Injectable, Scope } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { BeforeEmailSend, EmailEvent, EmailEventSubscriptions, EmailWorkflowModule, EmailWorkflowService, OnEmailEvent } from 'nestjs-email-workflow';
import type { OutgoingEmail } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { SmtpSink } from '../support/smtp-sink';
import { EventLog } from '../support/workflow';

/** Every hook call of a provider the explorer must not bind; request-scoped instances are many, so the log is shared. */
const unboundCalls: string[] = [];

@Injectable({ scope: Scope.REQUEST })
class RequestScopedHooks {
  @OnEmailEvent(EmailEvent.Sent)
  onSent(): void {
    unboundCalls.push('RequestScopedHooks.onSent');
  }

  @BeforeEmailSend()
  @OnEmailEvent(EmailEvent.Queued)
  stamp(email?: OutgoingEmail): void {
    if (email) email.headers['X-Request-Scoped'] = 'yes';
    unboundCalls.push('RequestScopedHooks.stamp');
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestContext {
  readonly startedAt = Date.now();
}

/** Singleton by declaration, request-scoped through its dependency. */
@Injectable()
class ChainedHooks {
  constructor(private readonly context: RequestContext) {}

  @OnEmailEvent(EmailEvent.Sent)
  onSent(): void {
    unboundCalls.push(`ChainedHooks.onSent ${this.context.startedAt}`);
  }
}

describe('a hook on a request-scoped provider', () => {
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let logger: CapturingLogger;
  let events: EventLog;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    logger = new CapturingLogger();
    moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(sink.port))],
      providers: [RequestScopedHooks, RequestContext, ChainedHooks],
    })
      .setLogger(logger)
      .compile();
    events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef?.close();
    await sink?.close();
  });

  it('is logged as a warning, once per provider, naming the class, its hook methods and the fix', () => {
    const warnings = logger.warnings().filter((message) => message.includes('email hooks'));
    expect(warnings).toHaveLength(2);
    const [requestScoped] = warnings.filter((message) => message.startsWith('RequestScopedHooks '));
    expect(requestScoped).toContain('onSent() (@OnEmailEvent), stamp() (@OnEmailEvent, @BeforeEmailSend)');
    expect(requestScoped).toContain('are not bound and will never run');
    expect(requestScoped).toContain('Fix: make RequestScopedHooks singleton-scoped');
    expect(requestScoped).toContain('move the hooks into a singleton-scoped provider');
    const [chained] = warnings.filter((message) => message.startsWith('ChainedHooks '));
    expect(chained).toContain('depends on a request-scoped provider');
    expect(chained).toContain('onSent() (@OnEmailEvent)');
    expect(chained).toContain('Fix: make ChainedHooks singleton-scoped');
  });

  it('is not called: the email goes out without its header and no hook of the two providers runs', async () => {
    const { messageId } = await moduleRef.get(EmailWorkflowService).send({ template: 'welcome', to: 'ada@example.test', context: { name: 'Ada' } });
    // Listeners are called together, in one pass over them, so once this one has seen email.sent an
    // unbound listener would have been called too.
    await events.waitFor(EmailEvent.Sent);
    const [mail] = await sink.waitForMessages(1);
    expect(mail.messageId).toBe(messageId);
    expect(mail.headers.get('x-request-scoped')).toBeUndefined();
    expect(unboundCalls).toEqual([]);
  });
});
