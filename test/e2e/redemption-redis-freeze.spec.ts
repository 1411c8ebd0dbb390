import { Test, TestingModule } from '@nestjs/testing';
import type { ParsedMail } from 'mailparser';
import { EmailEvent, EmailEventSubscriptions, EmailWorkflowModule, EmailWorkflowService, InvalidTokenError } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { TEST_SECRET, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { sleep } from '../support/wait';
import { EventLog, FAST_RETRIES } from '../support/workflow';

// Issue 20, point 6: Redis freezes right after the app's callback changed the account. The follow-ups
// still happen, the call reports what happened, and the link never redeems a second time.

const APP = 'http://localhost:3000';
const COMMAND_TIMEOUT = 300;
const CLAIM_WINDOW = 600;

function tokenIn(mail: ParsedMail, page: string): string {
  const link = linkIn(mail.html as string, `${APP}/${page}?token=`);
  if (!link) throw new Error(`no ${page} link in the email`);
  return new URL(link).searchParams.get('token') as string;
}

/** A user store whose writes can freeze Redis the moment they return, as a crash of Redis would land. */
class FreezingUsers extends InMemoryUsers {
  freezeAfterWrite?: () => void;
  verified: string[] = [];

  override async updateEmail(id: string, email: string): Promise<void> {
    await super.updateEmail(id, email);
    this.fire();
  }

  override async markEmailVerified(id: string): Promise<void> {
    this.verified.push(id);
    await super.markEmailVerified(id);
  }

  fire(): void {
    const freeze = this.freezeAfterWrite;
    this.freezeAfterWrite = undefined;
    freeze?.();
  }
}

describe.each(QUEUE_DRIVERS)('%s: Redis frozen right after the app’s side effect', (driver) => {
  let redis: ThrowawayRedis;
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;
  let events: EventLog;
  let users: FreezingUsers;

  beforeEach(async () => {
    redis = await ThrowawayRedis.start();
    sink = await SmtpSink.start();
    users = new FreezingUsers();
    users.add({ id: 'ada-1', email: 'ada@example.test', name: 'Ada', emailVerified: true });
    moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(sink.port, {
            secret: TEST_SECRET,
            users,
            links: { ...localOptions(0).links, confirmEmailChange: `${APP}/confirm-email-change?token={token}`, revertEmailChange: `${APP}/revert-email-change?token={token}` },
            tokens: { claimWindow: CLAIM_WINDOW },
            queue: { redis: redis.url, driver, prefix: uniquePrefix(), ...FAST_RETRIES, commandTimeout: COMMAND_TIMEOUT },
          }),
        ),
      ],
    })
      .setLogger(new CapturingLogger())
      .compile();
    events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
  });

  afterEach(async () => {
    redis.thaw();
    await moduleRef.close();
    await sink.close();
    await redis.stop();
  });

  /** Refused now, once Redis answers again, and still refused after the claim window has passed. */
  async function refusedForGood(use: () => Promise<unknown>): Promise<void> {
    await expect(use()).rejects.toBeInstanceOf(InvalidTokenError);
    await sleep(CLAIM_WINDOW * 2);
    await expect(use()).rejects.toBeInstanceOf(InvalidTokenError);
  }

  it('confirm: the call succeeds, the address is marked verified, email.changed fires, and the link is refused after SIGCONT and after the claim window', async () => {
    await emails.requestEmailChange({ id: 'ada-1', email: 'ada@example.test', name: 'Ada' }, 'ada.new@example.test');
    const confirm = tokenIn(await sink.mailTo('ada.new@example.test', /Confirm/, 20_000), 'confirm-email-change');
    users.verified.length = 0;
    users.freezeAfterWrite = () => redis.freeze();

    await expect(emails.confirmEmailChange(confirm)).resolves.toMatchObject({ email: 'ada.new@example.test', emailVerified: true });
    expect(users.freezeAfterWrite).toBeUndefined();
    expect(users.verified).toEqual(['ada-1']);
    expect(events.seen[EmailEvent.EmailChanged]).toEqual([{ userId: 'ada-1', email: 'ada.new@example.test', previousEmail: 'ada@example.test' }]);

    redis.thaw();
    await refusedForGood(() => emails.confirmEmailChange(confirm));
    expect(events.seen[EmailEvent.EmailChanged]).toHaveLength(1);
  });

  it('revert: the address is restored, the call succeeds and email.change-reverted fires; the link then stays used', async () => {
    await emails.requestEmailChange({ id: 'ada-1', email: 'ada@example.test', name: 'Ada' }, 'ada.new@example.test');
    await emails.confirmEmailChange(tokenIn(await sink.mailTo('ada.new@example.test', /Confirm/, 20_000), 'confirm-email-change'));
    const revert = tokenIn(await sink.mailTo('ada@example.test', /being changed/, 20_000), 'revert-email-change');
    users.freezeAfterWrite = () => redis.freeze();

    await expect(emails.revertEmailChange(revert)).resolves.toMatchObject({ email: 'ada@example.test' });
    expect(users.freezeAfterWrite).toBeUndefined();
    expect((await users.findById('ada-1'))?.email).toBe('ada@example.test');
    expect(events.seen[EmailEvent.EmailChangeReverted]).toEqual([{ userId: 'ada-1', email: 'ada@example.test', revertedEmail: 'ada.new@example.test' }]);

    redis.thaw();
    await refusedForGood(() => emails.revertEmailChange(revert));
  });

  it('password reset: applyNewPassword ran, password.changed fires, and the link never works again', async () => {
    await emails.requestPasswordReset('ada@example.test');
    const reset = tokenIn(await sink.mailTo('ada@example.test', /reset/i, 20_000), 'reset-password');
    const applied: string[] = [];

    await expect(
      emails.resetPassword(reset, async (user) => {
        applied.push(user.id);
        redis.freeze();
      }),
    ).resolves.toMatchObject({ id: 'ada-1' });
    expect(applied).toEqual(['ada-1']);
    expect(events.seen[EmailEvent.PasswordChanged]).toEqual([{ userId: 'ada-1', email: 'ada@example.test' }]);

    redis.thaw();
    await refusedForGood(() => emails.resetPassword(reset, async (user) => void applied.push(user.id)));
    expect(applied).toEqual(['ada-1']);
  });
});
