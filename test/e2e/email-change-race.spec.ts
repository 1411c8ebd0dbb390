import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowModule, EmailWorkflowService, InvalidTokenError } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { deleteKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { until } from '../support/wait';

const APP = 'http://localhost:3000';
const LINKS = {
  ...localOptions(0).links,
  confirmEmailChange: `${APP}/confirm-email-change?token={token}`,
  revertEmailChange: `${APP}/revert-email-change?token={token}`,
};

/** A directory whose first updateEmail to `address` waits for `release()`: a confirmation caught mid-way. */
class PausingUsers extends InMemoryUsers {
  private pausedAddress?: string;
  paused = false;
  release: () => void = () => undefined;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));

  pauseUpdateTo(address: string): void {
    this.pausedAddress = address;
  }

  override async updateEmail(id: string, email: string): Promise<void> {
    if (email === this.pausedAddress) {
      this.pausedAddress = undefined;
      this.paused = true;
      await this.released;
    }
    await super.updateEmail(id, email);
  }
}

describe.each<[string, (prefix: string) => Partial<EmailWorkflowModuleOptions>]>([
  ['the memory token store', () => ({ queue: false })],
  ['the Redis token store', (prefix) => ({ secret: TEST_SECRET, queue: { redis: REDIS_URL, prefix } })],
])('a revert while the confirmation is being redeemed (%s)', (_store, storeOptions) => {
  let sink: SmtpSink;
  let moduleRef: TestingModule | undefined;
  let prefix: string;

  beforeAll(async () => {
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    await sink.close();
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    await deleteKeys(prefix);
  });

  function tokenIn(address: string, page: string): string | undefined {
    const mail = sink.messages.find((message) => !Array.isArray(message.to) && message.to?.value[0]?.address === address);
    const link = mail && linkIn(mail.html as string, `${APP}/${page}?token=`);
    return link ? (new URL(link).searchParams.get('token') as string) : undefined;
  }

  it('keeps the old address: the confirmation, finishing last, sees its token revoked and undoes itself', async () => {
    prefix = uniquePrefix();
    sink.messages.length = 0;
    const users = new PausingUsers();
    const ada = users.add({ id: 'u-ada', email: 'ada@example.test', name: 'Ada', emailVerified: true });
    moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { links: LINKS, users, ...storeOptions(prefix) }))],
    }).compile();
    await moduleRef.init();
    const emails = moduleRef.get(EmailWorkflowService);

    await emails.requestEmailChange(ada, 'ada.new@example.test');
    await until(() => tokenIn('ada.new@example.test', 'confirm-email-change') !== undefined && tokenIn('ada@example.test', 'revert-email-change') !== undefined, 'both emails of the change');
    const confirmToken = tokenIn('ada.new@example.test', 'confirm-email-change') as string;
    const revertToken = tokenIn('ada@example.test', 'revert-email-change') as string;

    users.pauseUpdateTo('ada.new@example.test');
    const confirming = emails.confirmEmailChange(confirmToken).catch((error: unknown) => error);
    await until(() => users.paused, 'the confirmation to reach updateEmail');
    // The whole revert runs while the confirmation holds its token, before it writes the new address.
    await expect(emails.revertEmailChange(revertToken)).resolves.toMatchObject({ email: 'ada@example.test' });
    users.release();

    const outcome = await confirming;
    expect(outcome).toBeInstanceOf(InvalidTokenError);
    expect(outcome).toMatchObject({ reason: 'expired' });
    expect(await users.findById('u-ada')).toMatchObject({ email: 'ada@example.test' });
    await expect(emails.confirmEmailChange(confirmToken)).rejects.toMatchObject({ reason: 'expired' });
  });
});
