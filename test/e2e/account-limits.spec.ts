import { createHash } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { EmailWorkflowModule, EmailWorkflowService, InvalidArgumentError, RateLimitedError } from 'nestjs-email-workflow';
import type { EmailUser, EmailUserDirectory, EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { mailBench } from '../support/auth-app-harness';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { dumpKeys } from '../support/redis';
import type { SmtpSink } from '../support/smtp-sink';
import { sleep, untilQueueIdle } from '../support/wait';
import { bootRedisWorkflow } from '../support/workflow';

/** A directory that matches like MySQL's default collation: case- and accent-insensitively. */
class FoldingDirectory implements EmailUserDirectory {
  readonly user: EmailUser = { id: 'zoe-1', email: 'zoe@example.com', name: 'Zoe', emailVerified: false };
  async findByEmail(email: string): Promise<EmailUser | undefined> {
    return fold(email) === fold(this.user.email) ? this.user : undefined;
  }
  async findById(id: string): Promise<EmailUser | undefined> {
    return id === this.user.id ? this.user : undefined;
  }
  async markEmailVerified(): Promise<void> {}
}

function fold(address: string): string {
  return address.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

const SPELLINGS = ['zoe', 'Zoë', 'ZÖE', 'zóe', 'zoé', 'zòe', 'ZÔE', 'zoè', 'zoe\u0308'].map((local) => `${local}@example.com`);

interface Harness {
  emails: EmailWorkflowService;
  close(): Promise<void>;
}

async function tryAll(calls: Array<() => Promise<unknown>>): Promise<number> {
  let refused = 0;
  for (const call of calls) {
    try {
      await call();
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      refused += 1;
    }
  }
  return refused;
}

describe.each(['redis', 'in-process'] as const)('limits by account (%s queue)', (kind) => {
  let harness: Harness;
  const bench = mailBench(async () => harness?.close());
  let sink: SmtpSink;
  let prefix: string;

  async function boot(overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<Harness> {
    const users = new FoldingDirectory();
    if (kind === 'redis') {
      const booted = await bootRedisWorkflow(sink.port, prefix, {}, { users, ...overrides });
      return { emails: booted.emails, close: () => booted.moduleRef.close() };
    }
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { users, ...overrides }))] })
      .setLogger(new CapturingLogger())
      .compile();
    await moduleRef.init();
    return { emails: moduleRef.get(EmailWorkflowService), close: () => moduleRef.close() };
  }

  /** Waits for queued work to end, then a short window in which no further email may arrive. */
  async function settled(emails: EmailWorkflowService): Promise<void> {
    await untilQueueIdle(emails);
    await sleep(300); // an absence: no late email from a request still being looked up
    await untilQueueIdle(emails);
  }

  beforeEach(() => {
    ({ sink, prefix } = bench);
  });

  it('9 spellings × 5 password-reset requests send at most 5 emails to the one account', async () => {
    harness = await boot();
    const calls = SPELLINGS.flatMap((address) => Array.from({ length: 5 }, () => () => harness.emails.requestPasswordReset(address)));
    await tryAll(calls);
    await settled(harness.emails);
    expect(sink.messages.length).toBeGreaterThan(0);
    expect(sink.messages.length).toBeLessThanOrEqual(5);
  });

  it('IPv6 spellings, the same /64 and an IPv4-mapped address share one per-IP budget', async () => {
    harness = await boot({ flows: { resetPassword: { limits: { perIp: { limit: 4, windowSeconds: 60 } } } } });
    const ips = ['2001:db8::1', '2001:DB8:0:0::2', '2001:db8:0:0:ffff::9', '2001:0db8:0000:0000:0000:0000:0000:0003'];
    const refusedV6 = await tryAll(ips.map((ip, n) => () => harness.emails.requestPasswordReset(`nobody${n}@example.com`, { ip })));
    expect(refusedV6).toBe(0);
    await expect(harness.emails.requestPasswordReset('other@example.com', { ip: '2001:db8::abcd' })).rejects.toBeInstanceOf(RateLimitedError);
    await expect(harness.emails.requestPasswordReset('other@example.com', { ip: '2001:db8:1::1' })).resolves.toBeUndefined();

    const mapped = ['192.0.2.1', '::ffff:192.0.2.1', '::FFFF:c000:0201', '192.0.2.1'];
    expect(await tryAll(mapped.map((ip, n) => () => harness.emails.requestPasswordReset(`none${n}@example.com`, { ip })))).toBe(0);
    await expect(harness.emails.requestPasswordReset('x@example.com', { ip: '::ffff:192.0.2.1' })).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('refuses an IP that is not one with the typed error naming options.ip', async () => {
    harness = await boot();
    const refusal = harness.emails.requestPasswordReset('zoe@example.com', { ip: 'not-an-ip' });
    await expect(refusal).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(harness.emails.requestPasswordReset('zoe@example.com', { ip: '1.2.3' })).rejects.toThrow(/options\.ip/);
  });

  it('limits startEmailVerification per address (flows.verifyEmail.limits.startPerAddress)', async () => {
    harness = await boot({ flows: { verifyEmail: { limits: { startPerAddress: { limit: 3, windowSeconds: 60 } } } } });
    const user = { id: 'u-9', email: 'Ada@Example.com', name: 'Ada' };
    const spellings = [user, { ...user, email: 'ada@example.com' }, { ...user, email: 'ADA@example.com' }, user, user];
    const refused = await tryAll(spellings.map((spelled) => () => harness.emails.startEmailVerification(spelled)));
    expect(refused).toBe(2);
    await settled(harness.emails);
    expect(sink.messages.length).toBe(3);
  });

  it('resent verification links are charged to the account too', async () => {
    harness = await boot();
    await tryAll(SPELLINGS.flatMap((address) => Array.from({ length: 5 }, () => () => harness.emails.resendVerification(address))));
    await settled(harness.emails);
    expect(sink.messages.length).toBeGreaterThan(0);
    expect(sink.messages.length).toBeLessThanOrEqual(5);
  });

  if (kind === 'redis') {
    it('keeps no plain SHA-256 of the address or the IP in its Redis keys', async () => {
      harness = await boot();
      await harness.emails.requestPasswordReset('zoe@example.com', { ip: '203.0.113.7' });
      await harness.emails.resendVerification('zoe@example.com');
      await settled(harness.emails);
      const keys = [...(await dumpKeys(prefix)).keys()].join('\n');
      expect(keys).toContain(':rate:');
      for (const value of ['zoe@example.com', '203.0.113.7']) {
        const hex = createHash('sha256').update(value).digest('hex');
        expect(keys).not.toContain(value);
        expect(keys).not.toContain(hex.slice(0, 32));
        expect(keys).not.toContain(createHash('sha256').update(value).digest('base64url'));
      }
    });
  }
});
