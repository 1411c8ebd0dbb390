import { EmailEvent, EmailWorkflowService, InvalidTokenError, RateLimitedError } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import type { ParsedMail } from 'mailparser';
import { mailBench } from '../support/auth-app-harness';
import { InMemoryUsers } from '../support/in-memory-users';
import { dumpKeys } from '../support/redis';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { until } from '../support/wait';
import { BootedWorkflow, bootRedisWorkflow } from '../support/workflow';

/** The code of an email: its run of digits standing alone on a line. */
function codeIn(mail: ParsedMail): string {
  const found = /^\s*(\d{6,10})\s*$/m.exec(mail.text ?? '');
  if (!found) throw new Error(`no code in the email "${mail.subject}"`);
  return found[1];
}

function tokenIn(mail: ParsedMail, page: string): string {
  const link = linkIn(mail.html as string, `http://localhost:3000/${page}?token=`);
  if (!link) throw new Error(`no ${page} link in the email`);
  return new URL(link).searchParams.get('token') as string;
}

/** A different code of the same length: a wrong try. */
function wrong(code: string, n = 1): string {
  return code
    .split('')
    .map((digit, index) => (index === 0 ? String((Number(digit) + n) % 10) : digit))
    .join('');
}

/** What a refusal tells the caller: all of it, so two refusals can be compared whole. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; code: string; reason: string; message: string }> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof InvalidTokenError)) throw new Error(`expected InvalidTokenError, got ${String(error)}`);
  return { name: error.name, code: error.code, reason: error.reason, message: error.message };
}

const INVALID_CODE = {
  name: 'InvalidTokenError',
  code: 'EMAIL_WORKFLOW_CODE_INVALID',
  reason: 'invalid-code',
  message: 'This code is not valid or has expired. Check it, or request a new one.',
};

describe('one-time codes beside or instead of links (Redis queue, real SMTP)', () => {
  const booted: BootedWorkflow[] = [];
  const bench = mailBench(() => Promise.all(booted.splice(0).map(({ moduleRef }) => moduleRef.close())));
  let sink: SmtpSink;
  let prefix: string;
  let users: InMemoryUsers;

  async function boot(overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<EmailWorkflowService> {
    const workflow = await bootRedisWorkflow(sink.port, prefix, {}, { users, ...overrides });
    booted.push(workflow);
    return workflow.emails;
  }

  beforeEach(() => {
    ({ sink, prefix } = bench);
    users = new InMemoryUsers();
    users.add({ id: 'ada-1', email: 'ada@example.test', name: 'Ada', emailVerified: false });
  });

  it('verifies an address by code: 6 digits by default, once, marking it verified and emitting email.verified', async () => {
    const emails = await boot({ flows: { verifyEmail: { delivery: 'code' } } });
    await emails.startEmailVerification({ id: 'ada-1', email: 'ada@example.test', name: 'Ada' });
    const mail = await sink.mailTo('ada@example.test', /Confirm your email/);
    const code = codeIn(mail);
    expect(code).toMatch(/^\d{6}$/);
    // Code only: the email carries no link.
    expect(linkIn(mail.html as string, 'http://localhost:3000/verify-email?token=')).toBeUndefined();

    await expect(emails.verifyEmailCode(' ADA@example.test ', code)).resolves.toMatchObject({ id: 'ada-1', emailVerified: true });
    expect((await users.findById('ada-1'))?.emailVerified).toBe(true);
    await booted[0].events.waitFor(EmailEvent.EmailVerified);
    expect(await refusal(emails.verifyEmailCode('ada@example.test', code))).toEqual(INVALID_CODE);
    // Stored as a keyed hash only: the digits appear nowhere in Redis.
    const stored = [...(await dumpKeys(prefix)).values()].join('\n');
    expect(stored).not.toContain(code);
  });

  it('voids a code after 5 wrong tries: the sixth try, with the right code, is refused; a new code starts afresh', async () => {
    const emails = await boot({ flows: { resetPassword: { delivery: 'both' } } });
    await emails.requestPasswordReset('ada@example.test');
    const first = await sink.mailTo('ada@example.test', /Reset your Acme password/);
    const code = codeIn(first);
    const applied: string[] = [];
    const apply = async (user: { id: string }) => void applied.push(user.id);
    for (let n = 1; n <= 5; n++) expect(await refusal(emails.resetPasswordWithCode('ada@example.test', wrong(code, n), apply))).toEqual(INVALID_CODE);
    expect(await refusal(emails.resetPasswordWithCode('ada@example.test', code, apply))).toEqual(INVALID_CODE);
    expect(applied).toEqual([]);

    sink.messages.length = 0;
    await emails.requestPasswordReset('ada@example.test');
    const fresh = codeIn(await sink.mailTo('ada@example.test', /Reset your Acme password/));
    // The new email replaces the earlier link and code once it is queued, a moment after which it may arrive.
    const firstLink = tokenIn(first, 'reset-password');
    await until(async () => !(await emails.inspectToken(firstLink, 'reset-password')).valid, 'the first email to be replaced');
    if (fresh !== code) expect(await refusal(emails.resetPasswordWithCode('ada@example.test', code, apply))).toEqual(INVALID_CODE);
    await expect(emails.resetPasswordWithCode('ada@example.test', fresh, apply)).resolves.toMatchObject({ id: 'ada-1' });
    expect(applied).toEqual(['ada-1']);
    await sink.mailTo('ada@example.test', /password was changed/i);
  });

  it('counts wrong tries across processes: 3 in one and 2 in another void the code for both', async () => {
    const first = await boot({ flows: { signIn: { delivery: 'code' } } });
    const second = await boot({ flows: { signIn: { delivery: 'code' } } });
    await first.requestSignIn('ada@example.test');
    const code = codeIn(await sink.mailTo('ada@example.test', /Sign in to Acme/));
    for (const n of [1, 2, 3]) expect(await refusal(first.completeSignInWithCode('ada@example.test', wrong(code, n)))).toEqual(INVALID_CODE);
    for (const n of [4, 5]) expect(await refusal(second.completeSignInWithCode('ada@example.test', wrong(code, n)))).toEqual(INVALID_CODE);
    expect(await refusal(first.completeSignInWithCode('ada@example.test', code))).toEqual(INVALID_CODE);
    expect(await refusal(second.completeSignInWithCode('ada@example.test', code))).toEqual(INVALID_CODE);
  });

  it('answers a wrong code, an unknown address, a spent code and a malformed one alike', async () => {
    const emails = await boot({ flows: { verifyEmail: { delivery: 'code' } }, tokens: { code: { maxAttempts: 1 } } });
    await emails.startEmailVerification({ id: 'ada-1', email: 'ada@example.test' });
    const code = codeIn(await sink.mailTo('ada@example.test', /Confirm your email/));
    const answers = [
      await refusal(emails.verifyEmailCode('nobody@example.test', code)),
      await refusal(emails.verifyEmailCode('ada@example.test', wrong(code))),
      // maxAttempts 1: the wrong try above spent the code.
      await refusal(emails.verifyEmailCode('ada@example.test', code)),
      await refusal(emails.verifyEmailCode('ada@example.test', '12 456')),
      await refusal(emails.verifyEmailCode('ada@example.test', `${code}0`)),
    ];
    for (const answer of answers) expect(answer).toEqual(INVALID_CODE);
    expect((await users.findById('ada-1'))?.emailVerified).toBe(false);
  });

  it("with delivery 'both', the code and the link are siblings: using either voids the other", async () => {
    const emails = await boot({ flows: { resetPassword: { delivery: 'both' } } });
    await emails.requestPasswordReset('ada@example.test');
    let mail = await sink.mailTo('ada@example.test', /Reset your Acme password/);
    await expect(emails.resetPasswordWithCode('ada@example.test', codeIn(mail), async () => undefined)).resolves.toMatchObject({ id: 'ada-1' });
    const token = tokenIn(mail, 'reset-password');
    await expect(emails.inspectToken(token, 'reset-password')).resolves.toEqual({ valid: false, reason: 'expired' });
    await expect(emails.resetPassword(token, async () => undefined)).rejects.toMatchObject({ reason: 'expired' });

    sink.messages.length = 0;
    await emails.requestPasswordReset('ada@example.test');
    mail = await sink.mailTo('ada@example.test', /Reset your Acme password/);
    await expect(emails.resetPassword(tokenIn(mail, 'reset-password'), async () => undefined)).resolves.toMatchObject({ id: 'ada-1' });
    expect(await refusal(emails.resetPasswordWithCode('ada@example.test', codeIn(mail), async () => undefined))).toEqual(INVALID_CODE);
  });

  it('honours tokens.code.length and the flow ttl: a code past flows.resetPassword.ttl is refused', async () => {
    const emails = await boot({ flows: { resetPassword: { delivery: 'code', ttl: 1 } }, tokens: { code: { length: 8 } } });
    await emails.requestPasswordReset('ada@example.test');
    const mail = await sink.mailTo('ada@example.test', /Reset your Acme password/);
    const code = codeIn(mail);
    expect(code).toMatch(/^\d{8}$/);
    // A lifetime under a minute reads as 1 minute.
    expect(mail.text).toContain('The code expires in 1 minute');
    // Expiry is a moment of the clock, a second after the code was issued (before the email arrived): wait for it.
    const arrivedAt = Date.now();
    await until(() => Date.now() - arrivedAt > 1_050, 'the code to expire', 3_000, 50);
    expect(await refusal(emails.resetPasswordWithCode('ada@example.test', code, async () => undefined))).toEqual(INVALID_CODE);
  });

  it('takes the verification flow\'s own ttl and resend limit (flows.verifyEmail)', async () => {
    const emails = await boot({ flows: { verifyEmail: { delivery: 'both', ttl: 120, limits: { perAddress: { limit: 2, windowSeconds: 60 } } } } });
    await emails.resendVerification('ada@example.test');
    const mail = await sink.mailTo('ada@example.test', /Confirm your email/);
    expect(mail.text).toContain('2 minutes');
    await emails.resendVerification('ada@example.test');
    await expect(emails.resendVerification('ada@example.test')).rejects.toBeInstanceOf(RateLimitedError);
    // The second resend replaced the first email's link and code once it was queued.
    await sink.waitForMessages(2);
    const latest = sink.messages.find((message) => message.messageId !== mail.messageId) as ParsedMail;
    // Voided just after the new email is queued, which may be a moment after it arrives: wait for it.
    const first = tokenIn(mail, 'verify-email');
    await until(async () => !(await emails.inspectToken(first, 'verify-email')).valid, 'the first link to be voided');
    await expect(emails.inspectToken(first, 'verify-email')).resolves.toEqual({ valid: false, reason: 'expired' });
    await expect(emails.verifyEmailCode('ada@example.test', codeIn(latest))).resolves.toMatchObject({ id: 'ada-1', emailVerified: true });
  });
});
