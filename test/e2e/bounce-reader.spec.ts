import { ImapFlow } from 'imapflow';
import Redis from 'ioredis';
import { rm } from 'node:fs/promises';
import type { BounceImapSettings, BounceMessageHandler, BounceMessageOutcome, ReaderLease } from '../../lib/bounce-mailbox/bounce-mailbox.types';
import { ImapBounceReader, redactImapSecrets } from '../../lib/bounce-mailbox/imap-bounce.reader';
import { ProcessReaderLease, RedisReaderLease } from '../../lib/bounce-mailbox/reader.lease';
import { CapturingLogger } from '../support/capturing-logger';
import { createMailDir, ThrowawayDovecot } from '../support/mail-servers';
import type { DovecotUser } from '../support/mail-servers';
import { ThrowawayRedis, uniquePrefix } from '../support/redis';
import { PlainListener } from '../support/redis-topologies';
import { sleep, until } from '../support/wait';

// The IMAP reader of the bounce mailbox (issue 22) against a real Dovecot (plain on loopback, and STARTTLS with
// a test CA) and, for the lease, a real Redis. Each test reads the INBOX of a Dovecot user of its own; the test
// puts messages there over IMAP with a client of its own.

const NAMES = ['plain', 'tls', 'sorting', 'throwing', 'oversize', 'restart', 'lease', 'freeze', 'nobox', 'login'] as const;
const USERS = Object.fromEntries(NAMES.map((name) => [name, { name: `rd-${name}`, password: `box-pass-${name}-0123` }])) as Record<(typeof NAMES)[number], DovecotUser>;

/** A small message whose Subject is its tag. */
function message(tag: string, body = 'Delivery to the following recipient failed permanently.'): string {
  return [`From: Mail Delivery System <MAILER-DAEMON@relay.test>`, 'To: bounces@bounce.test', `Subject: ${tag}`, `Message-ID: <${tag}@relay.test>`, '', body, ''].join('\r\n');
}

/** Records the tag of every message it is handed, and answers what `decide` says. */
class RecordingHandler implements BounceMessageHandler {
  readonly seen: string[] = [];

  constructor(public decide: (tag: string) => BounceMessageOutcome = () => 'done') {}

  async handle(raw: Buffer): Promise<BounceMessageOutcome> {
    const tag = /^Subject: (.*?)\r?$/m.exec(raw.toString('utf8'))?.[1] ?? '(no subject)';
    this.seen.push(tag);
    return this.decide(tag);
  }

  count(tag: string): number {
    return this.seen.filter((seen) => seen === tag).length;
  }
}

/** A lease that records its release. */
class RecordingLease implements ReaderLease {
  released = 0;
  async hold(): Promise<boolean> {
    return true;
  }
  async release(): Promise<void> {
    this.released++;
  }
}

describe('ImapBounceReader', () => {
  let mailDir: string;
  let dovecot: ThrowawayDovecot;
  const readers: ImapBounceReader[] = [];
  const redisClients: Redis[] = [];

  beforeAll(async () => {
    mailDir = await createMailDir();
    dovecot = await ThrowawayDovecot.start({ users: Object.values(USERS), mailDir, tls: true });
  }, 30_000);

  afterEach(async () => {
    await Promise.all(readers.splice(0).map((reader) => reader.stop()));
    redisClients.splice(0).forEach((client) => client.disconnect());
  });

  afterAll(async () => {
    await dovecot?.stop();
    if (mailDir) await rm(mailDir, { recursive: true, force: true });
  });

  function settingsFor(user: DovecotUser, overrides: Partial<BounceImapSettings> = {}): BounceImapSettings {
    return {
      host: dovecot.host,
      port: dovecot.port,
      secure: false,
      starttls: 'never',
      auth: { user: user.name, pass: user.password },
      mailbox: 'INBOX',
      // Long: a test that sees new mail within seconds saw it through IDLE or readOnce(), not by polling.
      pollIntervalMs: 60_000,
      afterProcessing: 'delete',
      moveTo: 'processed',
      unrecognisedMailbox: 'unrecognised',
      maxMessageBytes: 64 * 1024,
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
      ...overrides,
    };
  }

  function readerFor(settings: BounceImapSettings, handler: BounceMessageHandler, lease: ReaderLease = new ProcessReaderLease(), logger = new CapturingLogger()): ImapBounceReader {
    const reader = new ImapBounceReader(settings, handler, lease, logger);
    readers.push(reader);
    return reader;
  }

  /** Runs `work` on a fresh IMAP connection of the user's, then logs out. */
  async function imap<T>(user: DovecotUser, work: (client: ImapFlow) => Promise<T>): Promise<T> {
    const client = new ImapFlow({
      host: dovecot.host,
      port: dovecot.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: user.name, pass: user.password },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  async function append(user: DovecotUser, ...messages: string[]): Promise<void> {
    await imap(user, async (client) => {
      for (const raw of messages) await client.append('INBOX', raw);
    });
  }

  /** The Subjects of a mailbox, oldest first; none when it does not exist. */
  function subjectsIn(user: DovecotUser, path: string): Promise<string[]> {
    return imap(user, async (client) => {
      if (!(await client.list()).some((box) => box.path === path)) return [];
      const lock = await client.getMailboxLock(path);
      try {
        return (await client.fetchAll('1:*', { envelope: true }, { uid: true })).map((fetched) => fetched.envelope?.subject ?? '');
      } finally {
        lock.release();
      }
    });
  }

  /** Waits for the next complete pass of `reader`. */
  async function nextPass(reader: ImapBounceReader): Promise<void> {
    let done = false;
    let failure: unknown;
    reader.readOnce().then(
      () => (done = true),
      (error) => (failure = error),
    );
    await until(
      () => {
        if (failure) throw failure;
        return done;
      },
      () => `a complete pass over the mailbox (${JSON.stringify(reader.status())})`,
      15_000,
    );
  }

  /** How many sessions of the user Dovecot saw end with a LOGOUT. */
  async function logoutsOf(user: DovecotUser): Promise<number> {
    return (await dovecot.log()).split('\n').filter((line) => line.includes(`imap(${user.name})`) && line.includes(': Disconnected: Logged out')).length;
  }

  const untilConnected = (reader: ImapBounceReader) => until(() => reader.status().state === 'connected', () => `the reader to connect (${JSON.stringify(reader.status())})`, 15_000);

  it('over plain IMAP on loopback: hands each message to the handler once, deletes it after "done", and finds new mail through IDLE', async () => {
    const user = USERS.plain;
    await append(user, message('plain-1'), message('plain-2'), message('plain-3'));
    const handler = new RecordingHandler();
    const reader = readerFor(settingsFor(user), handler);
    expect(reader.status()).toMatchObject({ state: 'stopped', holdsLease: false, processed: 0 });

    reader.start();
    await untilConnected(reader);
    await nextPass(reader);
    expect(handler.seen).toEqual(['plain-1', 'plain-2', 'plain-3']);
    expect(await subjectsIn(user, 'INBOX')).toEqual([]);
    expect(reader.status()).toMatchObject({ state: 'connected', mailbox: 'INBOX', processed: 3, unrecognised: 0, holdsLease: true, lastPassAt: expect.any(Date) });
    expect(reader.status().lastError).toBeUndefined();

    // The poll interval is a minute: only IDLE's notice brings this one in within seconds.
    await append(user, message('plain-4'));
    await until(() => handler.seen.length === 4, () => `plain-4 to be handled (seen ${handler.seen})`, 10_000);
    expect(handler.seen).toEqual(['plain-1', 'plain-2', 'plain-3', 'plain-4']);
    await until(async () => (await subjectsIn(user, 'INBOX')).length === 0, 'plain-4 to be deleted');
  });

  it('over STARTTLS trusting the test CA: moves each message to moveTo (created) after "done"; without the CA it reads nothing and says why', async () => {
    const user = USERS.tls;
    await append(user, message('tls-1'), message('tls-2'));
    const untrusting = new RecordingHandler();
    const refused = readerFor(settingsFor(user, { starttls: 'required', tls: { servername: 'localhost' } }), untrusting);
    refused.start();
    await until(() => refused.status().lastError !== undefined, 'the untrusting reader to fail', 15_000);
    expect(refused.status().state).toBe('reconnecting');
    expect(refused.status().lastError).toMatch(/^the TLS connection to the IMAP server 127\.0\.0\.1:\d+ failed \(.*certificate.*\)\. Fix: check bounces\.imap\.tls/i);
    await refused.stop();
    expect(untrusting.seen).toEqual([]);

    const handler = new RecordingHandler();
    const reader = readerFor(settingsFor(user, { starttls: 'required', tls: { ca: dovecot.caPem, servername: 'localhost' }, afterProcessing: 'move', moveTo: 'processed' }), handler);
    reader.start();
    await untilConnected(reader);
    await nextPass(reader);
    expect(handler.seen).toEqual(['tls-1', 'tls-2']);
    expect(await subjectsIn(user, 'INBOX')).toEqual([]);
    expect(await subjectsIn(user, 'processed')).toEqual(['tls-1', 'tls-2']);
    // Dovecot marks a login over TLS ", TLS,"; over plain loopback ", secured,".
    expect(await dovecot.log()).toMatch(new RegExp(`imap-login: Info: Login: user=<${user.name}>, method=PLAIN, .*, TLS, session=`));
  });

  it('moves "unrecognised" to the unrecognised mailbox (created), leaves "retry" for the next pass and ends the pass there', async () => {
    const user = USERS.sorting;
    await append(user, message('ok-1'), message('junk-1'), message('later-1'), message('ok-2'));
    const handler = new RecordingHandler((tag) => (tag.startsWith('junk') ? 'unrecognised' : tag.startsWith('later') ? 'retry' : 'done'));
    const logger = new CapturingLogger();
    const reader = readerFor(settingsFor(user), handler, undefined, logger);
    reader.start();
    await untilConnected(reader);
    await nextPass(reader);

    const tries = handler.count('later-1');
    expect(tries).toBeGreaterThanOrEqual(1);
    expect(handler.seen).not.toContain('ok-2');
    expect(await subjectsIn(user, 'INBOX')).toEqual(['later-1', 'ok-2']);
    expect(await subjectsIn(user, 'unrecognised')).toEqual(['junk-1']);

    await nextPass(reader);
    expect(handler.count('later-1')).toBe(tries + 1);
    expect(handler.seen).not.toContain('ok-2');

    handler.decide = (tag) => (tag.startsWith('junk') ? 'unrecognised' : 'done');
    await nextPass(reader);
    expect(await subjectsIn(user, 'INBOX')).toEqual([]);
    for (const tag of ['ok-1', 'junk-1', 'ok-2']) expect(handler.count(tag)).toBe(1);
    expect(reader.status()).toMatchObject({ processed: 3, unrecognised: 1 });
    expect(logger.entries.filter((entry) => entry.message.includes('is no bounce or complaint report'))).toHaveLength(1);
  });

  it('treats a handler that throws as "retry": the message stays, is read again on each pass, and is warned about once', async () => {
    const user = USERS.throwing;
    await append(user, message('boom-1'), message('fine-1'));
    let failing = true;
    const handler = new RecordingHandler((tag) => {
      if (failing && tag === 'boom-1') throw new Error('Redis is down');
      return 'done';
    });
    const logger = new CapturingLogger();
    const reader = readerFor(settingsFor(user), handler, undefined, logger);
    reader.start();
    await untilConnected(reader);
    await nextPass(reader);
    await nextPass(reader);
    expect(handler.count('boom-1')).toBeGreaterThanOrEqual(2);
    expect(handler.seen).not.toContain('fine-1');
    expect(await subjectsIn(user, 'INBOX')).toEqual(['boom-1', 'fine-1']);
    const warnings = logger.warnings().filter((warning) => warning.includes('could not be handled'));
    expect(warnings).toEqual([expect.stringMatching(/^Message UID \d+ of "INBOX" could not be handled \(Redis is down\): it stays there and is read again on the next pass\.$/)]);

    failing = false;
    await nextPass(reader);
    expect(await subjectsIn(user, 'INBOX')).toEqual([]);
    expect(handler.count('fine-1')).toBe(1);
  });

  it('never hands a message larger than maxMessageBytes to the handler: it goes to the unrecognised mailbox unread', async () => {
    const user = USERS.oversize;
    await append(user, message('small-1'), message('huge-1', 'x'.repeat(76).concat('\r\n').repeat(300)), message('small-2'));
    const handler = new RecordingHandler();
    const reader = readerFor(settingsFor(user, { maxMessageBytes: 4_096 }), handler);
    reader.start();
    await untilConnected(reader);
    await nextPass(reader);
    expect(handler.seen).toEqual(['small-1', 'small-2']);
    expect(await subjectsIn(user, 'INBOX')).toEqual([]);
    expect(await subjectsIn(user, 'unrecognised')).toEqual(['huge-1']);
    expect(reader.status()).toMatchObject({ processed: 2, unrecognised: 1 });
  });

  it('reconnects after Dovecot restarts, warned once per outage: mail from before and after is handled once each, none lost', async () => {
    const user = USERS.restart;
    const handler = new RecordingHandler();
    const logger = new CapturingLogger();
    const reader = readerFor(settingsFor(user), handler, undefined, logger);
    reader.start();
    await untilConnected(reader);
    await append(user, message('before-1'));
    await until(() => handler.seen.length === 1, 'before-1 to be handled');

    await dovecot.restart();
    await append(user, message('after-1'), message('after-2'));
    await until(() => logger.entries.some((entry) => entry.message.startsWith('Connected again')), () => `the reader to connect again (${JSON.stringify(reader.status())})`, 15_000);
    await until(() => handler.seen.length >= 3, () => `the mail appended after the restart to be handled (seen ${handler.seen})`);
    await nextPass(reader);

    expect(handler.seen).toEqual(['before-1', 'after-1', 'after-2']);
    expect(await subjectsIn(user, 'INBOX')).toEqual([]);
    expect(reader.status()).toMatchObject({ state: 'connected', processed: 3 });
    expect(reader.status().lastError).toBeUndefined();
    const outageWarnings = logger.warnings().filter((warning) => warning.startsWith('The bounce mailbox cannot be read'));
    expect(outageWarnings).toHaveLength(1);
    expect(logger.entries.filter((entry) => entry.message.startsWith('Connected again'))).toHaveLength(1);
  }, 60_000);

  describe('with a lease in Redis', () => {
    let redis: ThrowawayRedis;

    beforeAll(async () => {
      redis = await ThrowawayRedis.start();
    });

    afterAll(async () => {
      await redis?.stop();
    });

    function redisLease(server: ThrowawayRedis, key: string): RedisReaderLease {
      const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      redisClients.push(client);
      return new RedisReaderLease(client, key, 1_500, 300);
    }

    it('lets one of two readers read; the other waits, and takes over once the first stops and releases the lease', async () => {
      const user = USERS.lease;
      const key = `${uniquePrefix()}:bounce-reader`;
      const handlers = [new RecordingHandler(), new RecordingHandler()];
      const pair = handlers.map((handler) => readerFor(settingsFor(user, { pollIntervalMs: 300 }), handler, redisLease(redis, key)));
      pair.forEach((reader) => reader.start());
      await until(
        () => pair.some((reader) => reader.status().state === 'connected') && pair.some((reader) => reader.status().state === 'waiting-for-lease'),
        () => `one reader connected and one waiting (${JSON.stringify(pair.map((reader) => reader.status()))})`,
        15_000,
      );
      const holder = pair.findIndex((reader) => reader.status().state === 'connected');
      const [reading, waiting] = [pair[holder], pair[1 - holder]];

      await append(user, message('lease-1'), message('lease-2'));
      await until(() => handlers[holder].seen.length === 2, 'the holder to handle both');
      await sleep(600); // two renewals: the waiting reader must stay out
      expect(handlers[1 - holder].seen).toEqual([]);
      expect(waiting.status()).toMatchObject({ state: 'waiting-for-lease', holdsLease: false, processed: 0 });
      expect(reading.status()).toMatchObject({ state: 'connected', holdsLease: true, processed: 2 });

      await reading.stop();
      await untilConnected(waiting);
      await append(user, message('lease-3'));
      await until(() => handlers[1 - holder].seen.includes('lease-3'), 'the reader that took over to handle lease-3');
      expect(handlers[holder].seen).toEqual(['lease-1', 'lease-2']);
      expect(handlers[1 - holder].seen).toEqual(['lease-3']);
    });

    it('stops reading when its Redis freezes past the lease TTL, and reads again once Redis answers', async () => {
      const user = USERS.freeze;
      const frozen = await ThrowawayRedis.start();
      try {
        const handler = new RecordingHandler();
        const logger = new CapturingLogger();
        const reader = readerFor(settingsFor(user, { pollIntervalMs: 300 }), handler, redisLease(frozen, `${uniquePrefix()}:bounce-reader`), logger);
        reader.start();
        await untilConnected(reader);
        const logoutsBefore = await logoutsOf(user);

        frozen.freeze();
        await until(() => reader.status().state === 'waiting-for-lease', () => `the reader to stop reading (${JSON.stringify(reader.status())})`, 5_000);
        expect(reader.status().holdsLease).toBe(false);
        expect(logger.entries.map((entry) => entry.message)).toContain('This process lost the bounce reader lease: it stops reading the bounce mailbox until it holds the lease again.');
        await until(
          async () => (await logoutsOf(user)) > logoutsBefore,
          'the reader to log out of the mailbox',
        );
        await append(user, message('frozen-1'));
        await sleep(2_000); // past the TTL, Redis still frozen: nothing is read
        expect(handler.seen).toEqual([]);
        expect(reader.status().state).toBe('waiting-for-lease');

        frozen.thaw();
        await untilConnected(reader);
        await until(() => handler.seen.includes('frozen-1'), 'frozen-1 to be handled once Redis answers');
        expect(handler.seen).toEqual(['frozen-1']);
      } finally {
        await Promise.all(readers.splice(0).map((reader) => reader.stop()));
        await frozen.stop();
      }
    });
  });

  it('on a mailbox that does not exist: says so, with the option to fix', async () => {
    const reader = readerFor(settingsFor(USERS.nobox, { mailbox: 'No-Such-Box' }), new RecordingHandler());
    reader.start();
    await until(() => reader.status().lastError !== undefined, 'the reader to fail');
    expect(reader.status().lastError).toMatch(/^the IMAP server 127\.0\.0\.1:\d+ has no mailbox of that name \(.*No-Such-Box.*\)\. Fix: create it, or set bounces\.imap\.mailbox/);
  });

  // Last of the tests that log in: Dovecot delays further logins from an address that failed one.
  it('on a wrong password: says authentication failed, with neither user nor password, warned once however many attempts', async () => {
    const user = USERS.login;
    const wrong = { user: user.name, pass: 'not-the-box-pass-9876' };
    const logger = new CapturingLogger();
    const handler = new RecordingHandler();
    const reader = readerFor(settingsFor(user, { auth: wrong }), handler, undefined, logger);
    reader.start();
    await until(() => logger.entries.some((entry) => entry.message.includes('still cannot be read')), 'a second failed attempt', 20_000);

    const { lastError, state } = reader.status();
    expect(state).toBe('reconnecting');
    expect(lastError).toMatch(/^authentication failed at the IMAP server 127\.0\.0\.1:\d+ \(.*\)\. Fix: check the user and password in bounces\.imap\.auth$/);
    const plainLogin = Buffer.from(`\0${wrong.user}\0${wrong.pass}`).toString('base64');
    for (const secret of [wrong.user, wrong.pass, plainLogin]) {
      expect(lastError).not.toContain(secret);
      expect(logger.text()).not.toContain(secret);
    }
    expect(logger.warnings()).toEqual([expect.stringContaining('The bounce mailbox cannot be read: authentication failed')]);
    expect(handler.seen).toEqual([]);
  }, 30_000);

  it('stop() resolves at once while connecting to a server that never answers, releasing the lease', async () => {
    const listener = await PlainListener.start();
    try {
      const lease = new RecordingLease();
      const reader = readerFor(settingsFor(USERS.plain, { host: '127.0.0.1', port: listener.port }), new RecordingHandler(), lease);
      reader.start();
      await until(() => listener.connections === 1, 'the reader to connect');
      expect(reader.status().state).toBe('connecting');

      const pending = reader.readOnce();
      const started = Date.now();
      await reader.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(reader.status()).toMatchObject({ state: 'stopped', holdsLease: false });
      expect(lease.released).toBe(1);
      await expect(pending).rejects.toThrow('The bounce mailbox reader stopped before its next pass.');
      await expect(reader.readOnce()).rejects.toThrow(/not running/);
    } finally {
      await listener.close();
    }
  });

  it('redactImapSecrets removes the user, the password and the AUTHENTICATE PLAIN and LOGIN forms of them', () => {
    const auth = { user: 'bounces@acme.test', pass: 's3cret-Pass' };
    const plain = Buffer.from(`\0${auth.user}\0${auth.pass}`).toString('base64');
    const text = `A1 AUTHENTICATE PLAIN ${plain} / LOGIN ${Buffer.from(auth.user).toString('base64')} ${Buffer.from(auth.pass).toString('base64')} / ${auth.user} ${auth.pass}`;
    expect(redactImapSecrets(text, auth)).toBe('A1 AUTHENTICATE PLAIN [redacted] / LOGIN [redacted] [redacted] / [redacted] [redacted]');
  });

  it('without imapflow installed, fails when made, with a DependencyMissingError that says what to install', () => {
    try {
      jest.isolateModules(() => {
        jest.doMock('imapflow', () => {
          throw Object.assign(new Error("Cannot find module 'imapflow' from 'lib/bounce-mailbox/imap-bounce.reader.ts'"), { code: 'MODULE_NOT_FOUND' });
        });
        const { ImapBounceReader: Isolated } = require('../../lib/bounce-mailbox/imap-bounce.reader') as typeof import('../../lib/bounce-mailbox/imap-bounce.reader');
        const { DependencyMissingError } = require('../../lib/errors') as typeof import('../../lib/errors');
        let thrown: unknown;
        try {
          new Isolated(settingsFor(USERS.plain), new RecordingHandler(), new ProcessReaderLease(), new CapturingLogger());
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(DependencyMissingError);
        expect(thrown).toMatchObject({
          name: 'MissingBounceReaderDependencyError',
          code: 'EMAIL_WORKFLOW_DEPENDENCY_MISSING',
          missingPackage: 'imapflow',
          message: 'bounces.imap (reading the bounce mailbox) needs the package "imapflow", which is not installed. Fix: npm install imapflow',
        });
      });
    } finally {
      jest.dontMock('imapflow');
    }
  });
});
