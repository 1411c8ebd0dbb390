import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { EmailUserDirectory } from '../workflow';

/** What the contract suite runs against: your directory over your store, and a way to add a user to it. */
export interface EmailUserDirectoryContractSubject {
  directory: EmailUserDirectory;
  /**
   * Creates a user with that address, as your sign-up stores it, and resolves to its id. Must reject
   * when the address is taken in any spelling your store matches (a unique index does that).
   */
  createUser(email: string): Promise<string>;
  /** Called after each test, e.g. to close a connection `setup` opened. */
  close?(): Promise<void>;
}

/** One check of the contract; `run` throws (an AssertionError) when the subject breaks it. */
export interface EmailUserDirectoryContractCheck {
  name: string;
  /** A check of `updateEmail`: not registered with `{ updateEmail: false }`. */
  needsUpdateEmail?: boolean;
  run(subject: EmailUserDirectoryContractSubject): Promise<void>;
}

interface TestGlobals {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeoutMs?: number): void;
  beforeEach(body: () => Promise<void>, timeoutMs?: number): void;
  afterEach(body: () => Promise<void>, timeoutMs?: number): void;
}

/** Addresses no other test uses, so a store need not be emptied between tests. */
function address(local: string): string {
  return `${local}.${randomBytes(5).toString('hex')}@example.com`;
}

async function idOf(directory: EmailUserDirectory, email: string): Promise<string | undefined> {
  return (await directory.findByEmail(email))?.id;
}

/** What the library relies on from an EmailUserDirectory, one check each (see describeEmailUserDirectoryContract). */
export const EMAIL_USER_DIRECTORY_CONTRACT: readonly EmailUserDirectoryContractCheck[] = [
  {
    name: 'an unknown address or id resolves to null or undefined, without throwing',
    async run({ directory }) {
      assert.equal((await directory.findByEmail(address('nobody'))) ?? undefined, undefined, 'findByEmail of an unknown address');
      assert.equal((await directory.findById(`no-such-id-${randomBytes(4).toString('hex')}`)) ?? undefined, undefined, 'findById of an unknown id');
    },
  },
  {
    name: 'finds a user by address and by id, with that id and address',
    async run({ directory, createUser }) {
      const email = address('ada');
      const id = await createUser(email);
      const byEmail = await directory.findByEmail(email);
      assert.equal(byEmail?.id, id, 'findByEmail gives the id createUser returned');
      assert.equal(byEmail?.email.toLowerCase(), email, 'findByEmail gives the stored address');
      assert.equal((await directory.findById(id))?.email.toLowerCase(), email, 'findById gives the stored address');
    },
  },
  {
    name: 'case variants of one address resolve to one user, whichever spelling was stored',
    async run({ directory, createUser }) {
      const lower = address('grace.hopper');
      const id = await createUser(lower);
      for (const variant of [lower.toUpperCase(), lower.replace('grace', 'Grace').replace('example', 'EXAMPLE')]) {
        assert.equal(await idOf(directory, variant), id, `findByEmail(${JSON.stringify(variant)})`);
      }
      // The library passes addresses lower-cased: a user who signed up as Mixed.Case must be found by it.
      const mixed = address('Mixed.Case').replace('example.com', 'Example.COM');
      const mixedId = await createUser(mixed);
      assert.equal(await idOf(directory, mixed.toLowerCase()), mixedId, 'findByEmail of the lower-cased address');
    },
  },
  {
    name: 'a second account for a case variant of a taken address is refused (unique, case-insensitively)',
    async run({ directory, createUser }) {
      const email = address('katherine');
      const id = await createUser(email);
      await assert.rejects(createUser(email.toUpperCase()), 'createUser of a case variant of a taken address must reject');
      assert.equal(await idOf(directory, email), id, 'the first account keeps the address');
    },
  },
  {
    name: 'markEmailVerified marks that user only, and twice at once is harmless',
    async run({ directory, createUser }) {
      const id = await createUser(address('dorothy'));
      const other = await createUser(address('mary'));
      await Promise.all([directory.markEmailVerified(id), directory.markEmailVerified(id)]);
      assert.equal((await directory.findById(id))?.emailVerified, true, 'the verified user');
      assert.notEqual((await directory.findById(other))?.emailVerified, true, 'another user stays unverified');
    },
  },
  {
    name: 'updateEmail moves the address: the new one finds the user, the old one nobody',
    needsUpdateEmail: true,
    async run({ directory, createUser }) {
      const before = address('annie');
      const after = address('annie.new');
      const id = await createUser(before);
      await directory.updateEmail!(id, after);
      assert.equal(await idOf(directory, after), id, 'findByEmail of the new address');
      assert.equal(await idOf(directory, before), undefined, 'findByEmail of the old address');
      assert.equal((await directory.findById(id))?.email.toLowerCase(), after, 'findById gives the new address');
    },
  },
  {
    name: 'updateEmail to an address another account holds, in any case, throws and changes neither account',
    needsUpdateEmail: true,
    async run({ directory, createUser }) {
      const mine = address('christine');
      const taken = address('Evelyn').replace('example.com', 'Example.com');
      const id = await createUser(mine);
      const holder = await createUser(taken);
      await directory.markEmailVerified(id);
      await assert.rejects(directory.updateEmail!(id, taken.toLowerCase()), 'updateEmail to a taken address must reject');
      const user = await directory.findById(id);
      assert.equal(user?.email.toLowerCase(), mine, 'the user keeps their address');
      assert.equal(user?.emailVerified, true, 'the user keeps their verified mark');
      assert.equal(await idOf(directory, mine), id, 'the old address still finds the user');
      assert.equal(await idOf(directory, taken.toLowerCase()), holder, 'the taken address still finds its holder');
    },
  },
  {
    name: 'two updateEmail at once to one free address: exactly one wins, the other changes nothing',
    needsUpdateEmail: true,
    async run({ directory, createUser }) {
      const [first, second] = [address('mae'), address('margaret')];
      const contested = address('contested');
      const ids = [await createUser(first), await createUser(second)];
      const outcomes = await Promise.allSettled(ids.map((id) => directory.updateEmail!(id, contested)));
      const won = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []));
      assert.equal(won.length, 1, `exactly one updateEmail resolves (${outcomes.map((outcome) => outcome.status).join(', ')})`);
      const [winner, loser] = won[0] === 0 ? [0, 1] : [1, 0];
      assert.equal(await idOf(directory, contested), ids[winner], 'the address finds the winner');
      assert.equal((await directory.findById(ids[loser]))?.email.toLowerCase(), [first, second][loser], 'the loser keeps their address');
    },
  },
];

/**
 * Registers the contract the library relies on from an `EmailUserDirectory` as a test suite in your
 * runner (jest or vitest with globals: `describe`, `it`, `beforeEach`, `afterEach`; it asserts with
 * node:assert). `setup` runs before each test: connect to a test database, return your directory and
 * a way to create a user. Pass `{ updateEmail: false }` for a directory without it (no email change).
 *
 * @example
 * describeEmailUserDirectoryContract('UsersDirectory on PostgreSQL', async () => ({
 *   directory: new UsersDirectory(dataSource.getRepository(User)),
 *   createUser: async (email) => (await dataSource.getRepository(User).save({ email, name: 'Test' })).id,
 * }));
 */
export function describeEmailUserDirectoryContract(
  name: string,
  setup: () => Promise<EmailUserDirectoryContractSubject>,
  options: { timeoutMs?: number; updateEmail?: boolean } = {},
): void {
  const globals = globalThis as unknown as Partial<TestGlobals>;
  const { describe, it, beforeEach, afterEach } = globals;
  if (!describe || !it || !beforeEach || !afterEach) {
    throw new Error('describeEmailUserDirectoryContract needs the test globals describe, it, beforeEach and afterEach: run it under jest, or vitest with globals: true.');
  }
  const timeoutMs = options.timeoutMs ?? 20_000;
  describe(`EmailUserDirectory contract: ${name}`, () => {
    let subject: EmailUserDirectoryContractSubject | undefined;
    beforeEach(async () => {
      subject = await setup();
    }, timeoutMs);
    afterEach(async () => {
      await subject?.close?.();
      subject = undefined;
    }, timeoutMs);
    for (const check of EMAIL_USER_DIRECTORY_CONTRACT) {
      if (check.needsUpdateEmail && options.updateEmail === false) continue;
      it(
        check.name,
        async () => {
          if (!subject) throw new Error('setup did not return a subject');
          if (check.needsUpdateEmail) assert.ok(subject.directory.updateEmail, 'the directory has no updateEmail: pass { updateEmail: false }');
          await check.run(subject);
        },
        timeoutMs,
      );
    }
  });
}
