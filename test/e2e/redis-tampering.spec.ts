import Redis from 'ioredis';
import { EmailEvent, InvalidTokenError } from 'nestjs-email-workflow';
import { InMemoryUsers } from '../support/in-memory-users';
import { deleteKeys, dumpKeys, REDIS_URL, uniquePrefix } from '../support/redis';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';
import { bootOn } from '../support/workflow';

const VICTIM = { id: 'u-ada', email: 'ada@example.test', name: 'Ada Lovelace', emailVerified: true };
const ATTACKER = { id: 'u-eve', email: 'eve@example.test', name: 'Eve Mallory', emailVerified: true };
const RESET_LINK = 'http://localhost:3000/reset-password?token=';

/** Someone who can write to Redis but does not know `secret`. */
describe.each(QUEUE_DRIVERS)('%s: records and jobs in Redis are bound to the secret, and hold little in clear', (driver) => {
  const boot = bootOn(driver);
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(worker = true) {
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const users = new InMemoryUsers();
    [VICTIM, ATTACKER].forEach((user) => users.add(user));
    const workflow = await boot(sink.port, prefix, { worker }, { users });
    cleanups.push(() => workflow.moduleRef.close());
    const redis = new Redis(REDIS_URL);
    cleanups.push(async () => void redis.disconnect());
    return { sink, prefix, users, redis, ...workflow };
  }

  /** The token record (hash key) of the user's reset token. */
  async function tokenKeyOf(redis: Redis, prefix: string, userId: string): Promise<string> {
    for (const key of await redis.keys(`${prefix}:*:token:*`)) {
      if ((await redis.hget(key, 'userId')) === userId) return key;
    }
    throw new Error(`no token record of ${userId}`);
  }

  it('a token record edited to another user (id and address hash copied from theirs) is refused as unknown; the victim keeps their password', async () => {
    const { sink, prefix, redis, emails } = await start();
    await emails.requestPasswordReset(VICTIM.email);
    await emails.requestPasswordReset(ATTACKER.email);
    const mail = await sink.mailTo(ATTACKER.email, /password/i);
    const token = new URL(linkIn(mail.html as string, RESET_LINK) as string).searchParams.get('token') as string;
    await sink.mailTo(VICTIM.email, /password/i);

    const victimKey = await tokenKeyOf(redis, prefix, VICTIM.id);
    const attackerKey = await tokenKeyOf(redis, prefix, ATTACKER.id);
    await redis.hset(attackerKey, { userId: VICTIM.id, email: (await redis.hget(victimKey, 'email')) as string });

    const changed: string[] = [];
    const attempt = emails.resetPassword(token, async (user) => void changed.push(user.id));
    await expect(attempt).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(attempt).rejects.toMatchObject({ reason: 'unknown' });
    expect(changed).toEqual([]);
  });

  it('an unedited record still redeems (the MAC does not refuse good records)', async () => {
    const { sink, emails } = await start();
    await emails.requestPasswordReset(ATTACKER.email);
    const mail = await sink.mailTo(ATTACKER.email, /password/i);
    const token = new URL(linkIn(mail.html as string, RESET_LINK) as string).searchParams.get('token') as string;
    const changed: string[] = [];
    await emails.resetPassword(token, async (user) => void changed.push(user.id));
    expect(changed).toEqual([ATTACKER.id]);
  });

  it('a job whose recipient was changed (sealed part of a job to another address swapped in) or whose clear field was edited fails for good as altered; nothing is sent', async () => {
    const producer = await start(false);
    const toVictim = await producer.emails.send({ template: 'test-email', to: { address: VICTIM.email, name: VICTIM.name } });
    const toAttacker = await producer.emails.send({ template: 'test-email', to: ATTACKER.email });
    const edited = await producer.emails.send({ template: 'test-email', to: VICTIM.email });
    const jobKey = (id: string) => `${producer.prefix}:email-workflow:${id}`;
    const data = async (id: string) => JSON.parse((await producer.redis.hget(jobKey(id), 'data')) as string) as Record<string, unknown>;

    // The victim's job now carries the attacker's sealed recipient and variables.
    await producer.redis.hset(jobKey(toVictim.id), 'data', JSON.stringify({ ...(await data(toVictim.id)), sealed: (await data(toAttacker.id)).sealed }));
    await producer.redis.hset(jobKey(edited.id), 'data', JSON.stringify({ ...(await data(edited.id)), headers: { Bcc: ATTACKER.email } }));

    const worker = await boot(producer.sink.port, producer.prefix, {}, { users: producer.users });
    cleanups.push(() => worker.moduleRef.close());
    const failed = await worker.events.waitFor(EmailEvent.Failed, 2);
    await worker.events.waitFor(EmailEvent.Sent, 1);

    expect(failed.map((event) => event.id).sort()).toEqual([toVictim.id, edited.id].sort());
    for (const event of failed) expect(event).toMatchObject({ kind: 'permanent', reason: expect.stringMatching(/altered/) });
    expect(worker.logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^Email \S+: The queued email cannot be decrypted: it was altered/)]));
    // Absence window: the failed jobs are not retried later either.
    await sleep(300);
    expect(producer.sink.messages.map((mail) => mail.messageId)).toEqual([toAttacker.messageId]);
    const counts = await producer.redis.zcard(`${producer.prefix}:email-workflow:failed`);
    expect(counts).toBe(2);
  });

  it('a raw scan of Redis after sends and token issues finds no display name, and no address in token records or jobs', async () => {
    const { sink, prefix, emails } = await start();
    await emails.send({ template: 'test-email', to: { address: VICTIM.email, name: VICTIM.name } });
    await emails.startEmailVerification({ ...VICTIM, emailVerified: false });
    await emails.requestPasswordReset(VICTIM.email);
    await sink.waitForMessages(3);
    await until(async () => (await emails.queueStatus()).active === 0, 'the queue to settle');

    const dump = await dumpKeys(prefix);
    const tokenKeys = [...dump.keys()].filter((key) => /:(token|user-tokens):/.test(key));
    const jobKeys = [...dump.keys()].filter((key) => /:email-workflow:[^:]+$/.test(key) && dump.get(key)?.includes('"data"'));
    expect(tokenKeys.length).toBeGreaterThanOrEqual(2);
    expect(jobKeys.length).toBeGreaterThanOrEqual(3);
    // Sealed values (AES-GCM, base64url) are left out of the search: their ciphertext can spell "Ada" by chance.
    const SEALED = /v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
    for (const [key, value] of dump) {
      const clear = value.replace(SEALED, '');
      expect({ key, hasName: clear.includes('Ada') || clear.includes('Lovelace') }).toEqual({ key, hasName: false });
    }
    for (const key of [...tokenKeys, ...jobKeys]) {
      expect({ key, hasAddress: dump.get(key)?.toLowerCase().includes(VICTIM.email) }).toEqual({ key, hasAddress: false });
    }
  });

  it('with queue.recipientInClear a completed job shows its address (not the name) for dashboards; one whose address was edited fails as altered and nothing goes to the new address', async () => {
    const producer = await start(false);
    const worker = await boot(producer.sink.port, producer.prefix, { recipientInClear: true }, { users: producer.users });
    cleanups.push(() => worker.moduleRef.close());
    const shown = await worker.emails.send({ template: 'test-email', to: { address: VICTIM.email, name: VICTIM.name } });
    await producer.sink.mailTo(VICTIM.email, /./);
    await until(async () => (await worker.emails.queueStatus()).active === 0, 'the queue to settle');
    const jobKey = (id: string) => `${producer.prefix}:email-workflow:${id}`;
    const stored = JSON.parse((await producer.redis.hget(jobKey(shown.id), 'data')) as string) as Record<string, unknown>;
    expect(stored.recipient).toBe(VICTIM.email);
    expect(JSON.stringify(stored)).not.toMatch(/Ada|Lovelace/);

    await worker.moduleRef.close();
    cleanups.pop();
    const unlabelled = await producer.emails.send({ template: 'test-email', to: VICTIM.email });
    await expect(producer.redis.hget(jobKey(unlabelled.id), 'data')).resolves.not.toMatch(/"recipient"/);
    const labellingProducer = await boot(producer.sink.port, producer.prefix, { recipientInClear: true, worker: false }, { users: producer.users });
    cleanups.push(() => labellingProducer.moduleRef.close());
    const relabelled = await labellingProducer.emails.send({ template: 'test-email', to: VICTIM.email });
    const data = JSON.parse((await producer.redis.hget(jobKey(relabelled.id), 'data')) as string) as Record<string, unknown>;
    await producer.redis.hset(jobKey(relabelled.id), 'data', JSON.stringify({ ...data, recipient: ATTACKER.email }));

    const second = await boot(producer.sink.port, producer.prefix, { recipientInClear: true }, { users: producer.users });
    cleanups.push(() => second.moduleRef.close());
    const [failed] = await second.events.waitFor(EmailEvent.Failed, 1);
    expect(failed).toMatchObject({ id: relabelled.id, kind: 'permanent', reason: expect.stringMatching(/altered/) });
    await second.events.waitFor(EmailEvent.Sent, 1);
    expect(producer.sink.messages.map((mail) => mail.messageId).sort()).toEqual([shown.messageId, unlabelled.messageId].sort());
    expect(producer.sink.messages.some((mail) => JSON.stringify(mail.to).includes(ATTACKER.email))).toBe(false);
  });
});
