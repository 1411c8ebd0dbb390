import { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import {
  EmailWorkflowError,
  EmailWorkflowErrorCode,
  EmailWorkflowModule,
  EmailWorkflowService,
  InvalidArgumentError,
  InvalidContextError,
  InvalidRecipientError,
} from 'nestjs-email-workflow';
import type { EmailUser } from 'nestjs-email-workflow';
import type { ParsedMail } from 'mailparser';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { deleteKeys, uniquePrefix } from '../support/redis';
import { SmtpSink } from '../support/smtp-sink';
import { bootRedisWorkflow, BootedWorkflow } from '../support/workflow';
import { seeded } from '../support/seeded-random';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const KEYS = ['template', 'to', 'context', 'locale', 'tenant', 'idempotencyKey', 'address', 'name', 'id', 'email', 'ip', 'emailVerified', '__proto__', 'constructor', 'x'];
const CHARS = ['a', 'Z', '0', '@', '.', ' ', '\n', '<', '>', ',', '{', '}', 'é', '€', '\u0000', '-', '/', '"'];

/** Random JSON values, as a request body could hold them (parsed, so `__proto__` is an own key). */
function jsonGenerator(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const value = (depth: number): Json => {
    const kind = Math.floor(random() * (depth > 2 ? 5 : 7));
    switch (kind) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick([0, -1, 42, 1e21, -0.5, Number.MAX_SAFE_INTEGER]);
      case 3:
        return pick(['', 'welcome', 'verify-email', 'reset-password', 'fr', 'ada@example.com', 'not an address']);
      case 4:
        return Array.from({ length: Math.floor(random() * 12) }, () => pick(CHARS)).join('');
      case 5:
        return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(KEYS), value(depth + 1)]));
    }
  };
  return {
    json: (): Json => JSON.parse(JSON.stringify(value(0))) as Json,
    /** An object with the given fields, each random: reaches the checks behind the first one. */
    shaped: (fields: string[]): Json => JSON.parse(JSON.stringify(Object.fromEntries(fields.map((field) => [field, value(1)])))) as Json,
    pick,
    random,
  };
}

const CALLS_PER_METHOD = 200;

describe('input validation', () => {
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;
  const logger = new CapturingLogger();
  const users = new InMemoryUsers();

  beforeAll(async () => {
    sink = await SmtpSink.start();
    moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(sink.port, {
            queue: false,
            users,
            // Every flow set up, so the sweep reaches each method's own checks rather than a missing link.
            links: {
              ...localOptions(0).links,
              signIn: 'http://localhost:3000/sign-in?token={token}',
              confirmEmailChange: 'http://localhost:3000/confirm-email-change?token={token}',
              revertEmailChange: 'http://localhost:3000/revert-email-change?token={token}',
            },
          }),
        ),
      ],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
  });

  afterAll(async () => {
    await moduleRef?.close();
    await sink?.close();
  });

  /** The outcome of one call: a rejection must be the library's typed error, never a TypeError. */
  async function outcome(call: () => unknown): Promise<unknown> {
    try {
      await call();
      return undefined;
    } catch (error) {
      return error;
    }
  }

  const methods: Array<[string, (g: ReturnType<typeof jsonGenerator>) => () => unknown]> = [
    ['send', (g) => () => emails.send((g.random() < 0.5 ? g.json() : g.shaped(['template', 'to', 'context', 'locale', 'tenant', 'idempotencyKey'])) as never)],
    ['render', (g) => () => emails.render((g.random() < 0.5 ? g.json() : g.shaped(['template', 'context', 'locale'])) as never)],
    ['startEmailVerification', (g) => () => emails.startEmailVerification((g.random() < 0.5 ? g.json() : g.shaped(['id', 'email', 'name', 'locale', 'emailVerified'])) as never)],
    ['verifyEmail', (g) => () => emails.verifyEmail(g.json() as never)],
    ['resendVerification', (g) => () => emails.resendVerification(g.json() as never)],
    ['requestPasswordReset', (g) => () => emails.requestPasswordReset(g.json() as never, (g.random() < 0.5 ? g.json() : g.shaped(['ip'])) as never)],
    ['resetPassword', (g) => () => emails.resetPassword(g.json() as never, (g.random() < 0.5 ? g.json() : async () => undefined) as never)],
    ['verifyEmailCode', (g) => () => emails.verifyEmailCode(g.json() as never, g.json() as never)],
    [
      'resetPasswordWithCode',
      (g) => () => emails.resetPasswordWithCode(g.json() as never, g.json() as never, (g.random() < 0.5 ? g.json() : async () => undefined) as never),
    ],
    ['requestSignIn', (g) => () => emails.requestSignIn(g.json() as never, (g.random() < 0.5 ? g.json() : g.shaped(['ip'])) as never)],
    ['completeSignIn', (g) => () => emails.completeSignIn(g.json() as never)],
    ['completeSignInWithCode', (g) => () => emails.completeSignInWithCode(g.json() as never, g.json() as never)],
    [
      'inspectToken',
      (g) => () =>
        emails.inspectToken(
          g.json() as never,
          (g.random() < 0.5 ? g.json() : g.pick(['verify-email', 'reset-password', 'sign-in', 'confirm-email-change', 'revert-email-change'])) as never,
        ),
    ],
    ['diagnoseTransport', (g) => () => emails.diagnoseTransport(g.json() as never)],
    ['sendTestEmail', (g) => () => emails.sendTestEmail(g.json() as never, (g.random() < 0.5 ? g.json() : undefined) as never)],
    ['requestEmailChange', (g) => () => emails.requestEmailChange((g.random() < 0.5 ? g.json() : g.shaped(['id', 'email', 'name', 'locale', 'emailVerified'])) as never, g.json() as never)],
    ['confirmEmailChange', (g) => () => emails.confirmEmailChange(g.json() as never)],
    ['revertEmailChange', (g) => () => emails.revertEmailChange(g.json() as never)],
    [
      'notifyNewSignIn',
      (g) => () =>
        emails.notifyNewSignIn(
          (g.random() < 0.5 ? g.json() : g.shaped(['id', 'email', 'name', 'locale', 'emailVerified'])) as never,
          (g.random() < 0.5 ? g.json() : g.shaped(['ip', 'userAgent', 'at'])) as never,
        ),
    ],
  ];

  it.each(methods)(`%s refuses ${CALLS_PER_METHOD} random JSON arguments only with the library's typed errors`, async (name, makeCall) => {
    const generator = jsonGenerator(seeded(12 + name.length));
    const untyped: string[] = [];
    let rejected = 0;
    for (let i = 0; i < CALLS_PER_METHOD; i++) {
      const error = await outcome(makeCall(generator));
      if (error === undefined) continue;
      rejected++;
      if (!(error instanceof EmailWorkflowError)) untyped.push(`${(error as Error)?.name}: ${(error as Error)?.message}`);
    }
    expect(untyped).toEqual([]);
    expect(rejected).toBeGreaterThan(CALLS_PER_METHOD / 4);
  });

  it.each<[string, string, () => unknown]>([
    ['inspectToken(undefined)', 'token', () => emails.inspectToken(undefined as never, 'verify-email')],
    ['inspectToken(token, "login")', 'purpose', () => emails.inspectToken('abc', 'login' as never)],
    ['send(null)', 'request', () => emails.send(null as never)],
    ['send with locale 42', 'request.locale', () => emails.send({ template: 'welcome', to: 'ada@example.com', locale: 42 as never })],
    ['send with template missing', 'request.template', () => emails.send({ to: 'ada@example.com' } as never)],
    ['send with idempotencyKey 7', 'request.idempotencyKey', () => emails.send({ template: 'welcome', to: 'ada@example.com', idempotencyKey: 7 as never })],
    ['send with tenant []', 'request.tenant', () => emails.send({ template: 'welcome', to: 'ada@example.com', tenant: [] as never })],
    ['send with context "x"', 'request.context', () => emails.send({ template: 'welcome', to: 'ada@example.com', context: 'x' as never })],
    ['render(undefined)', 'request', () => emails.render(undefined as never)],
    ['requestPasswordReset(42)', 'email', () => emails.requestPasswordReset(42 as never)],
    ['requestPasswordReset(email, { ip: 1 })', 'options.ip', () => emails.requestPasswordReset('ada@example.com', { ip: 1 as never })],
    ['requestPasswordReset(email, null)', 'options', () => emails.requestPasswordReset('ada@example.com', null as never)],
    ['resendVerification({})', 'email', () => emails.resendVerification({} as never)],
    ['verifyEmail(null)', 'token', () => emails.verifyEmail(null as never)],
    ['resetPassword(token, "cb")', 'applyNewPassword', () => emails.resetPassword('abc', 'cb' as never)],
    ['verifyEmailCode(email, 123456)', 'code', () => emails.verifyEmailCode('ada@example.com', 123456 as never)],
    ['verifyEmailCode(null, code)', 'email', () => emails.verifyEmailCode(null as never, '123456')],
    ['resetPasswordWithCode(email, code, "cb")', 'applyNewPassword', () => emails.resetPasswordWithCode('ada@example.com', '123456', 'cb' as never)],
    ['resetPasswordWithCode(email, [], cb)', 'code', () => emails.resetPasswordWithCode('ada@example.com', [] as never, async () => undefined)],
    ['requestSignIn(42)', 'email', () => emails.requestSignIn(42 as never)],
    ['requestSignIn(email, { ip: 1 })', 'options.ip', () => emails.requestSignIn('ada@example.com', { ip: 1 as never })],
    ['requestSignIn(email, "ip")', 'options', () => emails.requestSignIn('ada@example.com', 'ip' as never)],
    ['completeSignIn(undefined)', 'token', () => emails.completeSignIn(undefined as never)],
    ['completeSignInWithCode(email, 7)', 'code', () => emails.completeSignInWithCode('ada@example.com', 7 as never)],
    ['inspectToken(token, "magic-link")', 'purpose', () => emails.inspectToken('abc', 'magic-link' as never)],
    ['startEmailVerification({ id: 1 })', 'user.id', () => emails.startEmailVerification({ id: 1, email: 'ada@example.com' } as never)],
    ['startEmailVerification({ name: [] })', 'user.name', () => emails.startEmailVerification({ id: '1', email: 'ada@example.com', name: [] } as never)],
    ['diagnoseTransport(5)', 'tenant', () => emails.diagnoseTransport(5 as never)],
    ['sendTestEmail(undefined)', 'to', () => emails.sendTestEmail(undefined as never)],
    ['requestEmailChange(user, 42)', 'newEmail', () => emails.requestEmailChange({ id: '1', email: 'ada@example.com' }, 42 as never)],
    ['requestEmailChange({ email: null })', 'user.email', () => emails.requestEmailChange({ id: '1', email: null } as never, 'new@example.com')],
    ['confirmEmailChange(undefined)', 'token', () => emails.confirmEmailChange(undefined as never)],
    ['revertEmailChange({})', 'token', () => emails.revertEmailChange({} as never)],
    ['notifyNewSignIn(user, null)', 'details', () => emails.notifyNewSignIn({ id: '1', email: 'ada@example.com' }, null as never)],
    ['notifyNewSignIn(user, { userAgent: 5 })', 'details.userAgent', () => emails.notifyNewSignIn({ id: '1', email: 'ada@example.com' }, { userAgent: 5 as never })],
    ['notifyNewSignIn(user, { at: "now" })', 'details.at', () => emails.notifyNewSignIn({ id: '1', email: 'ada@example.com' }, { at: 'now' as never })],
  ])('%s is refused with InvalidArgumentError naming %s', async (_label, argument, call) => {
    const error = await outcome(call);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: EmailWorkflowErrorCode.InvalidArgument, argument });
    expect((error as Error).message).toContain(`with ${argument} `);
  });

  /** A copy of `user` whose `field` is its string on the first read and an object on every later one. */
  function flipping(user: EmailUser, field: 'id' | 'email'): { user: EmailUser; reads: () => number } {
    let reads = 0;
    const flipped = { ...user };
    // An object without a prototype: not even `${value}` turns it into a string.
    Object.defineProperty(flipped, field, { enumerable: true, get: () => (reads++ === 0 ? user[field] : Object.create(null)) });
    return { user: flipped, reads: () => reads };
  }

  /** Each method called with such a user, and the email it must then deliver: to the user's first-read address, or the new one. */
  const sendsWithFlippingUser: Array<[string, (user: EmailUser, real: EmailUser) => Promise<{ mail: () => Promise<ParsedMail>; to: string }>]> = [
    [
      'startEmailVerification',
      async (user, real) => {
        const { messageId } = await emails.startEmailVerification(user);
        return { mail: () => sink.mailWithId(messageId), to: real.email };
      },
    ],
    [
      'requestEmailChange',
      async (user, real) => {
        const newEmail = `new.${real.email}`;
        await emails.requestEmailChange(user, newEmail);
        // Sent only once the directory has found the account by the id that was read.
        return { mail: () => sink.mailTo(newEmail, /Confirm your new email address/), to: newEmail };
      },
    ],
    [
      'notifyNewSignIn',
      async (user, real) => {
        const { messageId } = await emails.notifyNewSignIn(user, { ip: '192.0.2.1' });
        return { mail: () => sink.mailWithId(messageId), to: real.email };
      },
    ],
  ];

  describe.each(sendsWithFlippingUser)('%s with a user whose getter flips from a string to an object', (method, call) => {
    it.each(['email', 'id'] as const)('reads user.%s once and sends with that string, never a TypeError', async (field) => {
      const real = users.add({ id: `flip-${method}-${field}`, email: `flip-${method}-${field}@example.com`.toLowerCase(), name: 'Flip' });
      const { user, reads } = flipping(real, field);
      let sent: { mail: () => Promise<ParsedMail>; to: string } | undefined;
      const error = await outcome(async () => (sent = await call(user, real)));
      expect(error).toBeUndefined();
      expect(reads()).toBe(1);
      const mail = await sent!.mail();
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined).toBe(sent!.to);
    });
  });

  it('notifyNewSignIn reads details.ip once too: a flipping getter sends the value that was checked', async () => {
    const real = users.add({ id: 'flip-details', email: 'flip-details@example.com', name: 'Flip' });
    let reads = 0;
    const details = Object.defineProperty({}, 'ip', { enumerable: true, get: () => (reads++ === 0 ? '192.0.2.7' : Object.create(null)) });
    let messageId = '';
    const error = await outcome(async () => ({ messageId } = await emails.notifyNewSignIn(real, details)));
    expect(error).toBeUndefined();
    expect(reads).toBe(1);
    expect((await sink.mailWithId(messageId)).text).toContain('192.0.2.7');
  });

  it.each<[string, unknown]>([
    ['a null recipient', null],
    ['an array recipient', ['ada@example.com']],
    ['a numeric address', { address: 42 }],
    ['a display name that is an array', { address: 'ada@example.com', name: ['Ada'] }],
  ])('refuses %s with InvalidRecipientError', async (_label, to) => {
    const error = await outcome(() => emails.send({ template: 'welcome', to: to as never }));
    expect(error).toBeInstanceOf(InvalidRecipientError);
    expect(error).toMatchObject({ code: EmailWorkflowErrorCode.InvalidRecipient });
  });
});

/** Context values the queue's JSON would change, each with the path the error must name. */
function unsafeContexts(): Array<[string, Record<string, unknown>, string]> {
  const user: Record<string, unknown> = { name: 'Ada' };
  user.self = user;
  let deep: Record<string, unknown> = {};
  const deepRoot = { nested: deep };
  for (let i = 0; i < 100; i++) deep = deep.next = {};
  return [
    ['NaN', { user: { age: NaN } }, 'context.user.age'],
    ['Infinity', { total: Infinity }, 'context.total'],
    ['-Infinity', { items: [1, -Infinity] }, 'context.items[1]'],
    ['a function', { name: 'Ada', greet: () => 'hi' }, 'context.greet'],
    ['a symbol', { tag: Symbol('x') }, 'context.tag'],
    ['a BigInt', { user: { id: BigInt(1) } }, 'context.user.id'],
    ['a cycle', { user }, 'context.user.self'],
    ['a toJSON returning null', { order: { toJSON: () => null } }, 'context.order'],
    ['a Date', { when: new Date(0) }, 'context.when'],
    ['a Map', { tags: new Map([['a', 1]]) }, 'context.tags'],
    ['undefined inside an array', { list: ['a', undefined] }, 'context.list[1]'],
    ['a symbol key', { meta: { [Symbol('k')]: 1 } }, 'context.meta'],
    ['a key that is not an identifier', { 'first name': NaN }, 'context["first name"]'],
    ['nesting 100 levels deep', deepRoot, `context.nested${'.next'.repeat(63)}`],
  ];
}

const SAFE_CONTEXT = { name: 'Ada', count: 3, ratio: 0.5, ok: true, none: null, missing: undefined, list: ['a', { b: [1, 2] }], plain: Object.create(null) };

describe('template context on both queues', () => {
  let sink: SmtpSink;
  let local: TestingModule;
  let redis: BootedWorkflow;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    sink = await SmtpSink.start();
    local = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { queue: false }))] })
      .setLogger(new CapturingLogger())
      .compile();
    await local.init();
    redis = await bootRedisWorkflow(sink.port, prefix);
  });

  afterAll(async () => {
    await local?.close();
    await redis?.moduleRef.close();
    await deleteKeys(prefix);
    await sink?.close();
  });

  /** The error `send` gives on each queue, or undefined when it queued the email. */
  async function sendOnBoth(context: Record<string, unknown>): Promise<[unknown, unknown]> {
    const request = { template: 'welcome', to: 'ada@example.com', context: { name: 'Ada', ...context } };
    const outcomes = await Promise.all(
      [local.get(EmailWorkflowService), redis.emails].map((emails) =>
        emails.send(request).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    return outcomes as [unknown, unknown];
  }

  it.each(unsafeContexts())('refuses %s, naming its path, identically with queue: false and a Redis queue', async (_label, context, path) => {
    const [inProcess, onRedis] = await sendOnBoth(context);
    for (const error of [inProcess, onRedis]) {
      expect(error).toBeInstanceOf(InvalidContextError);
      expect(error).toMatchObject({ code: EmailWorkflowErrorCode.InvalidContext, path });
      expect((error as Error).message).toContain(`${path} `);
    }
    expect((onRedis as Error).message).toBe((inProcess as Error).message);
  });

  it('queues a JSON-safe context on both queues, and both deliver it', async () => {
    const before = sink.messages.length;
    expect(await sendOnBoth(SAFE_CONTEXT)).toEqual([undefined, undefined]);
    await sink.waitForMessages(before + 2);
  });
});
