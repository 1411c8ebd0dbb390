import Redis from 'ioredis';
import type { ParsedMail } from 'mailparser';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailEvent, EmailWorkflowService, InvalidTokenError } from 'nestjs-email-workflow';
import type { EmailQueueDriver, EmailUser, EmailWorkflowModuleOptions, TokenPurpose } from 'nestjs-email-workflow';
import { mailBench } from '../support/auth-app-harness';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { REDIS_URL } from '../support/redis';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { until, untilQueueIdle } from '../support/wait';
import { BootedWorkflow, bootOn } from '../support/workflow';

// Issue 20, points 1, 3, 4 and 5: a double click, an attacker with a hijacked session or a second
// account, and someone who can write to Redis.

const APP = 'http://localhost:3000';
const LINKS = {
  ...localOptions(0).links,
  signIn: `${APP}/sign-in?token={token}`,
  confirmEmailChange: `${APP}/confirm-email-change?token={token}`,
  revertEmailChange: `${APP}/revert-email-change?token={token}`,
};
const GENEROUS = { limit: 1_000, windowSeconds: 3_600 };
const FLOWS: EmailWorkflowModuleOptions['flows'] = {
  signIn: { delivery: 'both', limits: { perAddress: GENEROUS, perIp: GENEROUS } },
  verifyEmail: { delivery: 'both', limits: { perAddress: GENEROUS, startPerAddress: GENEROUS } },
  changeEmail: { limits: { perUser: GENEROUS, perNewAddress: GENEROUS } },
};

function codeIn(mail: ParsedMail): string {
  const found = /^\s*(\d{6,10})\s*$/m.exec(mail.text ?? '');
  if (!found) throw new Error(`no code in the email "${mail.subject}"`);
  return found[1];
}

function tokenIn(mail: ParsedMail, page: string): string {
  const link = linkIn(mail.html as string, `${APP}/${page}?token=`);
  if (!link) throw new Error(`no ${page} link in the email "${mail.subject}"`);
  return new URL(link).searchParams.get('token') as string;
}

function to(mail: ParsedMail): string | undefined {
  return mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined;
}

/** Generations of the user's tokens of a purpose as Redis holds them, with their states. */
async function tokensInRedis(prefix: string, purpose: TokenPurpose, userId: string): Promise<Array<{ generation: number; state: string }>> {
  const redis = new Redis(REDIS_URL);
  try {
    const hashes = await redis.smembers(`${prefix}:${EMAIL_WORKFLOW_QUEUE_NAME}:user-tokens:${purpose}:${userId}`);
    return Promise.all(hashes.map(async (hash) => {
      const { generation, state } = await redis.hgetall(`${prefix}:${EMAIL_WORKFLOW_QUEUE_NAME}:token:${hash}`);
      return { generation: Number(generation), state };
    }));
  } finally {
    redis.disconnect();
  }
}

describe.each(QUEUE_DRIVERS)('hostile requests on %s', (driver: EmailQueueDriver) => {
  const booted: BootedWorkflow[] = [];
  const bench = mailBench(() => Promise.all(booted.splice(0).map(({ moduleRef }) => moduleRef.close())));
  let sink: SmtpSink;
  let prefix: string;
  let users: InMemoryUsers;
  let ada: EmailUser;

  async function boot(overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<BootedWorkflow> {
    const workflow = await bootOn(driver)(sink.port, prefix, { concurrency: 5 }, { users, links: LINKS, flows: FLOWS, ...overrides });
    booted.push(workflow);
    return workflow;
  }

  beforeEach(() => {
    ({ sink, prefix } = bench);
    users = new InMemoryUsers();
    ada = users.add({ id: 'ada-1', email: 'ada@example.test', name: 'Ada', emailVerified: false });
    users.add({ id: 'taken-1', email: 'taken@example.test', name: 'Tom', emailVerified: true });
  });

  /** Of the emails, those whose link is still usable, by inspecting it (nothing used up). */
  async function usable(emails: EmailWorkflowService, mails: ParsedMail[], page: string, purpose: TokenPurpose): Promise<ParsedMail[]> {
    const verdicts = await Promise.all(mails.map(async (mail) => (await emails.inspectToken(tokenIn(mail, page), purpose)).valid));
    return mails.filter((_mail, index) => verdicts[index]);
  }

  /** The one email whose link works must also be the only one whose code works, and be of the newest request. */
  async function expectOnlyNewestWorks(emails: EmailWorkflowService, mails: ParsedMail[], page: string, purpose: TokenPurpose, redeemCode: (code: string) => Promise<unknown>): Promise<void> {
    const working = await usable(emails, mails, page, purpose);
    expect(working).toHaveLength(1);
    // In Redis, the active tokens are exactly those of the highest generation: the newest request's link and code.
    const records = await tokensInRedis(prefix, purpose, ada.id);
    const newest = Math.max(...records.map((record) => record.generation));
    expect(Number.isFinite(newest)).toBe(true);
    expect(records.filter((record) => record.state === 'active').map((record) => record.generation)).toEqual([newest, newest]);
    // Every other email's code is refused; the working email's code works.
    for (const mail of mails.filter((candidate) => candidate !== working[0])) {
      await expect(redeemCode(codeIn(mail))).rejects.toMatchObject({ reason: 'invalid-code' });
    }
    await expect(redeemCode(codeIn(working[0]))).resolves.toMatchObject({ id: ada.id });
  }

  describe.each([
    ['2 back to back', 2, false],
    ['5 back to back', 5, false],
    ['10 at once', 10, true],
  ])('%s', (_label, count, atOnce) => {
    async function requests(make: () => Promise<unknown>): Promise<void> {
      if (atOnce) await Promise.all(Array.from({ length: count }, make));
      else for (let i = 0; i < count; i++) await make();
    }

    it('sign-in: exactly the newest email’s link and code work', async () => {
      const { emails } = await boot({ tokens: { code: { maxAttempts: 20 } } });
      await requests(() => emails.requestSignIn('ada@example.test'));
      const mails = await sink.waitForMessages(count, 20_000);
      await untilQueueIdle(emails);
      await expectOnlyNewestWorks(emails, mails, 'sign-in', 'sign-in', (code) => emails.completeSignInWithCode('ada@example.test', code));
    });

    it('verification resend: exactly the newest email’s link and code work', async () => {
      const { emails } = await boot({ tokens: { code: { maxAttempts: 20 } } });
      await requests(() => emails.resendVerification('ada@example.test'));
      const mails = await sink.waitForMessages(count, 20_000);
      await untilQueueIdle(emails);
      await expectOnlyNewestWorks(emails, mails, 'verify-email', 'verify-email', (code) => emails.verifyEmailCode('ada@example.test', code));
    });

    it('email change: the newest pending change is the only one that can be confirmed; every revert link stays valid', async () => {
      const { emails } = await boot();
      let n = 0;
      await requests(() => emails.requestEmailChange(ada, `ada.${++n}@example.test`));
      await sink.waitForMessages(2 * count, 20_000);
      await untilQueueIdle(emails);
      const confirmations = sink.messages.filter((mail) => /confirm/i.test(mail.subject ?? '') && to(mail) !== 'ada@example.test');
      const notices = sink.messages.filter((mail) => to(mail) === 'ada@example.test');
      expect(confirmations).toHaveLength(count);
      expect(notices).toHaveLength(count);
      const working = await usable(emails, confirmations, 'confirm-email-change', 'confirm-email-change');
      expect(working).toHaveLength(1);
      const records = await tokensInRedis(prefix, 'confirm-email-change', ada.id);
      const newest = Math.max(...records.map((record) => record.generation));
      expect(Number.isFinite(newest)).toBe(true);
      expect(records.filter((record) => record.state === 'active').map((record) => record.generation)).toEqual([newest]);
      expect(await usable(emails, notices, 'revert-email-change', 'revert-email-change')).toHaveLength(count);
      await expect(emails.confirmEmailChange(tokenIn(working[0], 'confirm-email-change'))).resolves.toMatchObject({ email: to(working[0]) });
    });
  });

  it('a two-change chain through a hijacked session: the first revert link still restores the original address, and the second one cannot restore the attacker’s', async () => {
    const { emails, events } = await boot();
    // The attacker, signed in as Ada, moves the account to their first address and confirms it.
    await emails.requestEmailChange(ada, 'mallory1@evil.test');
    const firstConfirm = await sink.mailTo('mallory1@evil.test', /confirm/i, 20_000);
    const firstRevert = await sink.mailTo('ada@example.test', /being changed/i, 20_000);
    await emails.confirmEmailChange(tokenIn(firstConfirm, 'confirm-email-change'));
    // Then to a second address: its revert link goes to the first one, the attacker's own inbox.
    const moved = { ...ada, email: 'mallory1@evil.test' };
    await emails.requestEmailChange(moved, 'mallory2@evil.test');
    const secondRevert = await sink.mailTo('mallory1@evil.test', /being changed/i, 20_000);
    await sink.mailTo('mallory2@evil.test', /confirm/i, 20_000);

    // The attacker uses the revert link they received: it restores Ada's address, not theirs.
    await expect(emails.revertEmailChange(tokenIn(secondRevert, 'revert-email-change'))).resolves.toMatchObject({ email: 'ada@example.test' });
    expect((await users.findById(ada.id))?.email).toBe('ada@example.test');
    // Ada's own revert link is still good for its whole life, and restores her address.
    expect(await emails.inspectToken(tokenIn(firstRevert, 'revert-email-change'), 'revert-email-change')).toMatchObject({ valid: true });
    users.changeEmail(ada.id, 'mallory1@evil.test');
    await expect(emails.revertEmailChange(tokenIn(firstRevert, 'revert-email-change'))).resolves.toMatchObject({ email: 'ada@example.test' });
    expect((await users.findById(ada.id))?.email).toBe('ada@example.test');
    expect(events.seen[EmailEvent.EmailChangeReverted]).toHaveLength(2);
  });

  it('the revert voids every pending change and confirmation, but no revert link', async () => {
    const { emails } = await boot();
    await emails.requestEmailChange(ada, 'ada.new@example.test');
    const confirm = await sink.mailTo('ada.new@example.test', /confirm/i, 20_000);
    const revert = await sink.mailTo('ada@example.test', /being changed/i, 20_000);
    await emails.requestEmailChange(ada, 'ada.newer@example.test');
    const newerConfirm = await sink.mailTo('ada.newer@example.test', /confirm/i, 20_000);
    await sink.waitForMessages(4, 20_000);
    const secondRevert = sink.messages.filter((mail) => to(mail) === 'ada@example.test')[1];

    await emails.revertEmailChange(tokenIn(revert, 'revert-email-change'));

    for (const mail of [confirm, newerConfirm]) {
      expect(await emails.inspectToken(tokenIn(mail, 'confirm-email-change'), 'confirm-email-change')).toMatchObject({ valid: false });
    }
    expect(await emails.inspectToken(tokenIn(secondRevert, 'revert-email-change'), 'revert-email-change')).toMatchObject({ valid: true });
  });

  it('no account oracle: the requester’s inbox gets the same notice for a taken and a free address, and the taken one gets nothing', async () => {
    const { emails, events } = await boot();
    await emails.requestEmailChange(ada, 'free@example.test');
    await sink.mailTo('free@example.test', /confirm/i, 20_000);
    const pendingConfirm = sink.messages.find((mail) => to(mail) === 'free@example.test') as ParsedMail;
    const forFree = await sink.mailTo('ada@example.test', /being changed/i, 20_000);
    await emails.requestEmailChange(ada, 'TAKEN@example.test');
    await until(() => sink.messages.filter((mail) => to(mail) === 'ada@example.test').length === 2, 'the second notice', 20_000);
    await untilQueueIdle(emails);
    const forTaken = sink.messages.filter((mail) => to(mail) === 'ada@example.test')[1];

    const shape = (mail: ParsedMail, newAddress: string) => ({
      subject: mail.subject,
      text: (mail.text ?? '').replaceAll(newAddress, 'NEW').replace(/token(=|&#x3D;)[A-Za-z0-9_%-]+/g, 'token=T'),
      html: (mail.html as string).replaceAll(newAddress, 'NEW').replace(/token(=|&#x3D;)[A-Za-z0-9_%-]+/g, 'token=T'),
    });
    expect(shape(forTaken, 'taken@example.test')).toEqual(shape(forFree, 'free@example.test'));
    expect(sink.messages.filter((mail) => to(mail) === 'taken@example.test')).toHaveLength(0);
    // The pending confirmation is voided either way, so it cannot tell the two apart either.
    expect(await emails.inspectToken(tokenIn(pendingConfirm, 'confirm-email-change'), 'confirm-email-change')).toMatchObject({ valid: false });
    expect(await emails.inspectToken(tokenIn(forTaken, 'revert-email-change'), 'revert-email-change')).toMatchObject({ valid: true });
    expect(events.seen[EmailEvent.EmailChangeRequested]).toHaveLength(1);
  });

  describe('code try counters edited in Redis', () => {
    async function counterKey(): Promise<string> {
      const redis = new Redis(REDIS_URL);
      try {
        const [key] = await redis.keys(`${prefix}:${EMAIL_WORKFLOW_QUEUE_NAME}:code-counter:tries:sign-in:*`);
        if (!key) throw new Error('no try counter in Redis');
        return key;
      } finally {
        redis.disconnect();
      }
    }

    it.each([
      ['set to -1000000', (redis: Redis, key: string) => redis.set(key, '-1000000', 'KEEPTTL')],
      ['deleted', (redis: Redis, key: string) => redis.del(key)],
      ['garbage', (redis: Redis, key: string) => redis.set(key, 'garbage', 'KEEPTTL')],
      ['a valid count copied from another address', async (redis: Redis, key: string) => {
        const other = (await redis.keys(`${prefix}:${EMAIL_WORKFLOW_QUEUE_NAME}:code-counter:tries:sign-in:*`)).find((candidate) => candidate !== key) as string;
        await redis.set(key, (await redis.get(other)) as string, 'KEEPTTL');
      }],
    ])('a counter %s refuses the right code', async (_label, edit) => {
      const { emails } = await boot();
      users.add({ id: 'bo-1', email: 'bo@example.test', name: 'Bo' });
      await emails.requestSignIn('ada@example.test');
      const mail = await sink.mailTo('ada@example.test', /sign in/i, 20_000);
      await expect(emails.completeSignInWithCode('ada@example.test', codeIn(mail) === '000000' ? '111111' : '000000')).rejects.toBeInstanceOf(InvalidTokenError);
      const key = await counterKey();
      await emails.requestSignIn('bo@example.test');
      await sink.mailTo('bo@example.test', /sign in/i, 20_000);
      await untilQueueIdle(emails);

      const redis = new Redis(REDIS_URL);
      try {
        await edit(redis, key);
      } finally {
        redis.disconnect();
      }
      for (let i = 0; i < 3; i++) {
        await expect(emails.completeSignInWithCode('ada@example.test', codeIn(mail))).rejects.toMatchObject({ reason: 'invalid-code' });
      }
      // The link of the same email still works: the counter only guards codes.
      await expect(emails.completeSignIn(tokenIn(mail, 'sign-in'))).resolves.toMatchObject({ id: ada.id });
    });

    it('21 failures across codes: the next right code is refused, a link still works, and then codes work again', async () => {
      const { emails } = await boot();
      let failures = 0;
      let last: ParsedMail | undefined;
      for (let round = 0; failures < 21; round++) {
        sink.messages.length = 0;
        await emails.requestSignIn('ada@example.test');
        last = await sink.mailTo('ada@example.test', /sign in/i, 20_000);
        const code = codeIn(last);
        // Four wrong tries per code, below its own limit of 5.
        for (let i = 1; i <= 4 && failures < 21; i++, failures++) {
          await expect(emails.completeSignInWithCode('ada@example.test', String((Number(code) + i) % 1_000_000).padStart(6, '0'))).rejects.toMatchObject({ reason: 'invalid-code' });
        }
      }
      await expect(emails.completeSignInWithCode('ada@example.test', codeIn(last as ParsedMail))).rejects.toMatchObject({ reason: 'invalid-code' });
      await expect(emails.completeSignIn(tokenIn(last as ParsedMail, 'sign-in'))).resolves.toMatchObject({ id: ada.id });
      // A used link lifts the cap: the next code works.
      sink.messages.length = 0;
      await emails.requestSignIn('ada@example.test');
      const fresh = await sink.mailTo('ada@example.test', /sign in/i, 20_000);
      await expect(emails.completeSignInWithCode('ada@example.test', codeIn(fresh))).resolves.toMatchObject({ id: ada.id });
    });
  });
});
