import { Test } from '@nestjs/testing';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmailWorkflowModule, EmailWorkflowService, RateLimitedError } from 'nestjs-email-workflow';
import { describeEmailUserDirectoryContract } from 'nestjs-email-workflow/testing';
import { DataSource, DataSourceOptions } from 'typeorm';
import { databaseOptions, SQLITE_FILE } from '../../sample-app/src/database/database.options';
import { UserRow } from '../../sample-app/src/database/entities';
import { EmailTakenError, UsersStore } from '../../sample-app/src/users.store';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { ThrowAwayPostgres } from '../support/postgres';
import { SmtpSink } from '../support/smtp-sink';
import { sleep, untilQueueIdle } from '../support/wait';

// Issue 27: the sample's EmailUserDirectory (UsersStore over TypeORM) on both databases it runs on,
// SQLite through sql.js (the default, a file) and a throw-away PostgreSQL cluster (DATABASE_URL):
// the library's reusable directory contract, then what the database's own matching means for the
// library's limits by account.

/** One account, spelled as an attacker varies it: case, accents, a combining mark. */
const SPELLINGS = ['zoe', 'Zoë', 'ZÖE', 'zóe', 'zoé', 'zòe', 'ZÔE', 'zoè', 'zoe\u0308'].map((local) => `${local}@example.com`);

describe.each(['SQLite', 'PostgreSQL'] as const)("the sample's users on %s", (backend) => {
  let postgres: ThrowAwayPostgres | undefined;
  let dataDir: string;
  let options: DataSourceOptions;
  let dataSource: DataSource;
  let users: UsersStore;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sample-data-'));
    if (backend === 'PostgreSQL') {
      postgres = await ThrowAwayPostgres.start();
      options = databaseOptions({ databaseUrl: await postgres.createDatabase('sample'), dataDir });
    } else {
      options = databaseOptions({ dataDir });
    }
    dataSource = await new DataSource(options).initialize();
    users = new UsersStore(dataSource.getRepository(UserRow));
  }, 120_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  describeEmailUserDirectoryContract(`the sample's UsersStore on ${backend}`, async () => ({
    directory: users,
    createUser: async (email) => {
      const user = await users.create('Test User', email, 'a test password');
      if (!user) throw new Error(`${email} is taken`);
      return user.id;
    },
  }));

  it('maps a unique violation of updateEmail to EmailTakenError (code SAMPLE_EMAIL_TAKEN), the refusal the library expects', async () => {
    const ada = await users.create('Ada', 'ada.taken@example.com', 'a test password');
    const grace = await users.create('Grace', 'grace.taken@example.com', 'a test password');
    const refusal = users.updateEmail(grace!.id, 'ada.taken@example.com');
    await expect(refusal).rejects.toBeInstanceOf(EmailTakenError);
    await expect(refusal).rejects.toMatchObject({ code: 'SAMPLE_EMAIL_TAKEN' });
    expect((await users.findByEmail('ada.taken@example.com'))?.id).toBe(ada!.id);
  });

  it("the unique index is the database's: a raw INSERT of a case variant is refused by the database itself", async () => {
    await users.create('Mary', 'mary.index@example.com', 'a test password');
    const row = { id: 'raw-insert-1', name: 'Raw', email: 'MARY.Index@Example.com', emailVerified: false, locale: 'en', passwordHash: 'x', createdAt: Date.now() };
    await expect(dataSource.getRepository(UserRow).insert(row)).rejects.toThrow(/unique|duplicate/i);
  });

  it(
    backend === 'PostgreSQL'
      ? 'its collation ignores case and accents: 9 spellings find one account, and together they get at most 5 reset emails'
      : 'NOCASE folds ASCII case only: case variants find the account, accented spellings nobody; at most 5 reset emails',
    async () => {
      const zoe = await users.create('Zoe', 'zoe@example.com', 'a test password');
      const found = await Promise.all(SPELLINGS.map(async (spelling) => (await users.findByEmail(spelling.toLowerCase()))?.id));
      const expected = SPELLINGS.map((spelling) => (backend === 'PostgreSQL' || /^zoe@/i.test(spelling) ? zoe!.id : undefined));
      expect(found).toEqual(expected);

      const sink = await SmtpSink.start();
      const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { users }))] })
        .setLogger(new CapturingLogger())
        .compile();
      await moduleRef.init();
      try {
        const emails = moduleRef.get(EmailWorkflowService);
        let refused = 0;
        for (const spelling of SPELLINGS) {
          for (let n = 0; n < 5; n += 1) {
            await emails.requestPasswordReset(spelling).catch((error: unknown) => {
              if (!(error instanceof RateLimitedError)) throw error;
              refused += 1;
            });
          }
        }
        await untilQueueIdle(emails);
        await sleep(300); // an absence: no late email from a request still being looked up
        await untilQueueIdle(emails);
        // Each spelling is its own address to the per-address limit, but for 'zoe\u0308', which is
        // 'zoë' once NFKC-normalised: its 5 are the only refusals. What caps the emails is the
        // account's own budget, charged once the database has found the account.
        expect(refused).toBe(5);
        expect(sink.messages.length).toBe(5);
        expect(new Set(sink.messages.map((mail) => mail.to && 'value' in mail.to && mail.to.value[0]?.address))).toEqual(new Set(['zoe@example.com']));
      } finally {
        await moduleRef.close();
        await sink.close();
      }
    },
    60_000,
  );

  if (backend === 'SQLite') {
    it('every write is in the file when it resolves, saved whole (temporary file then rename): a second open reads it back', async () => {
      const user = await users.create('Annie', 'annie.file@example.com', 'a test password');
      await users.markEmailVerified(user!.id);
      expect(readdirSync(dataDir)).toEqual([SQLITE_FILE]);
      const reopened = await new DataSource(databaseOptions({ dataDir })).initialize();
      try {
        const again = new UsersStore(reopened.getRepository(UserRow));
        expect(await again.findByEmail('annie.file@example.com')).toMatchObject({ id: user!.id, emailVerified: true });
        expect(await again.authenticate('ANNIE.FILE@example.com', 'a test password')).toMatchObject({ id: user!.id });
      } finally {
        await reopened.destroy();
      }
      expect(existsSync(join(dataDir, SQLITE_FILE))).toBe(true);
    });
  }
});
