import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowService, InvalidTokenError } from 'nestjs-email-workflow';
import { EmailWorkflowTestingModule, TestOutbox } from 'nestjs-email-workflow/testing';
import type { CapturedEmail, EmailWorkflowTestingOptions } from 'nestjs-email-workflow/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { until } from '../support/wait';

/** Issue 12, point 8: what the emails say holds — older links void, a link to act on, the reader's own dates. */
describe('emails keep their promises', () => {
  let logger: CapturingLogger;
  const started: TestingModule[] = [];

  async function boot(options: EmailWorkflowTestingOptions) {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowTestingModule.forRoot(options)] })
      .setLogger(logger)
      .compile();
    started.push(moduleRef);
    await moduleRef.init();
    return { emails: moduleRef.get(EmailWorkflowService), outbox: moduleRef.get(TestOutbox) };
  }

  function tokenIn(email: CapturedEmail, page: string): string {
    const link = email.links.find((candidate) => candidate.startsWith(`http://localhost/${page}?token=`));
    if (!link) throw new Error(`no ${page} link among ${email.links.join(', ')}`);
    return new URL(link).searchParams.get('token') as string;
  }

  /** Resets the user's password through the emails, and returns the password-changed email with the moments around the change. */
  async function changePassword(emails: EmailWorkflowService, outbox: TestOutbox, address: string) {
    await emails.requestPasswordReset(address);
    const reset = await outbox.expectSent({ template: 'reset-password', to: address });
    const before = new Date();
    await emails.resetPassword(tokenIn(reset, 'reset-password'), async () => undefined);
    const after = new Date();
    const changed = await outbox.expectSent({ template: 'password-changed', to: address });
    return { reset, changed, before, after };
  }

  beforeEach(() => {
    logger = new CapturingLogger();
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((moduleRef) => moduleRef.close()));
    expect(logger.entries.filter((entry) => entry.level === 'warn' || entry.level === 'error')).toEqual([]);
  });

  it('resendVerification voids the earlier verification links: the old link is refused, the new one works', async () => {
    const users = new InMemoryUsers();
    const ada = users.add({ id: 'u1', email: 'ada@example.test', name: 'Ada', emailVerified: false });
    const { emails, outbox } = await boot({ users });

    await emails.startEmailVerification(ada);
    const first = await outbox.nextEmailTo('ada@example.test');
    const waiting = outbox.nextEmailTo('ada@example.test');
    await emails.resendVerification('ada@example.test');
    const second = await waiting;
    expect([first.template, second.template]).toEqual(['verify-email', 'verify-email']);
    const oldToken = tokenIn(first, 'verify-email');
    const newToken = tokenIn(second, 'verify-email');
    expect(newToken).not.toBe(oldToken);

    // The old link is revoked once the new email is queued, a step after the outbox may have caught it.
    await until(async () => !(await emails.inspectToken(oldToken, 'verify-email')).valid, 'the old link to be voided', 2_000);
    expect(await emails.inspectToken(oldToken, 'verify-email')).toEqual({ valid: false, reason: 'expired' });
    await expect(emails.verifyEmail(oldToken)).rejects.toBeInstanceOf(InvalidTokenError);
    expect(await emails.verifyEmail(newToken)).toMatchObject({ id: 'u1', emailVerified: true });
  });

  it('the password-changed email links to links.forgotPassword, a page that asks for a new reset link', async () => {
    const users = new InMemoryUsers();
    users.add({ id: 'u1', email: 'ada@example.test', name: 'Ada', emailVerified: true });
    const { emails, outbox } = await boot({ users, links: { forgotPassword: 'http://localhost/forgot-password' } });

    const { changed } = await changePassword(emails, outbox, 'ada@example.test');
    expect(changed.links).toEqual(['http://localhost/forgot-password']);
    expect(changed.html).toContain('href="http://localhost/forgot-password"');
    expect(changed.text).toContain("If this wasn't you, reset your password now");
    // The link works: it is the page where a reset is asked for, and asking there sends a reset link.
    await emails.requestPasswordReset('ada@example.test');
    await outbox.expectSent({ template: 'reset-password', to: 'ada@example.test' });
  });

  it('without links.forgotPassword, the password-changed email links to the origin of links.resetPassword', async () => {
    const users = new InMemoryUsers();
    users.add({ id: 'u1', email: 'ada@example.test', name: 'Ada', emailVerified: true });
    const { emails, outbox } = await boot({ users, links: { resetPassword: 'https://app.example.test/account/reset?token={token}' } });

    await emails.requestPasswordReset('ada@example.test');
    const reset = await outbox.expectSent({ template: 'reset-password', to: 'ada@example.test' });
    const token = new URL(reset.links.find((link) => link.startsWith('https://app.example.test/account/reset?token=')) as string).searchParams.get('token') as string;
    await emails.resetPassword(token, async () => undefined);
    const changed = await outbox.expectSent({ template: 'password-changed', to: 'ada@example.test' });
    expect(changed.links).toEqual(['https://app.example.test']);
    expect(changed.text).toContain("If this wasn't you, reset your password now");
  });

  it("a French recipient reads the change's date and the link's lifetime in French, the time zone named", async () => {
    const users = new InMemoryUsers();
    users.add({ id: 'u1', email: 'zoe@example.test', name: 'Zoé', emailVerified: true, locale: 'fr' });
    const { emails, outbox } = await boot({ users, flows: { resetPassword: { ttl: 7_200 } } });

    const { reset, changed, before, after } = await changePassword(emails, outbox, 'zoe@example.test');
    const moment = new Intl.DateTimeFormat('fr', { year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' });
    // The change happened between the two moments; at a minute's turn either reads true.
    const expected = [moment.format(before), moment.format(after)];
    expect(expected).toContain(changed.context.changedAt);
    expect(expected.some((text) => changed.html.includes(text))).toBe(true);
    expect(changed.context.changedAt).toMatch(/UTC/);
    expect(changed.context.changedAt).toContain(new Intl.DateTimeFormat('fr', { month: 'long', timeZone: 'UTC' }).format(after));

    const duration = new Intl.NumberFormat('fr', { style: 'unit', unit: 'hour', unitDisplay: 'long' }).format(2);
    expect(duration).toMatch(/^2\sheures$/);
    expect(reset.context.expiresIn).toBe(duration);
    expect(reset.text).toContain(`expire dans ${duration}`);
  });

  it('an English recipient still reads "24 hours", and a locale Intl does not know falls back to templates.defaultLocale', async () => {
    const users = new InMemoryUsers();
    const ada = users.add({ id: 'u1', email: 'ada@example.test', emailVerified: false });
    const bo = users.add({ id: 'u2', email: 'bo@example.test', emailVerified: false, locale: 'not a locale!' });
    const { emails, outbox } = await boot({ users, templates: { defaultLocale: 'fr' } });

    await emails.startEmailVerification({ ...ada, locale: 'en' });
    expect((await outbox.nextEmailTo('ada@example.test')).context.expiresIn).toBe('24 hours');
    await emails.startEmailVerification(bo);
    const hours = new Intl.NumberFormat('fr', { style: 'unit', unit: 'hour', unitDisplay: 'long' }).format(24);
    expect(hours).toMatch(/^24\sheures$/);
    expect((await outbox.nextEmailTo('bo@example.test')).context.expiresIn).toBe(hours);
  });
});
