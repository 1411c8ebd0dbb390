import { Injectable } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { BeforeEmailSend, EmailWorkflowErrorCode, EmailWorkflowModule, EmailWorkflowService, InvalidArgumentError } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions, OutgoingEmail } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { deleteKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { sleep, untilQueueIdle } from '../support/wait';
import { FAST_RETRIES } from '../support/workflow';

const SECURE_PAGE = 'http://localhost:3000/secure-account';

/** Records every template the before-send hooks saw, and stamps a header on the notices. */
@Injectable()
class NoticeHooks {
  readonly seen: Array<{ template: string; to: string; context: Record<string, unknown> }> = [];

  @BeforeEmailSend('new-sign-in')
  stamp(email: OutgoingEmail): void {
    this.seen.push({ template: email.template, to: email.to.address, context: { ...email.context } });
    email.headers['X-Security-Notice'] = 'new-sign-in';
  }
}

describe('new-sign-in notice on a Redis queue, through a real SMTP server', () => {
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;
  let hooks: NoticeHooks;
  let logger: CapturingLogger;
  const prefix = uniquePrefix();

  async function boot(options: Partial<EmailWorkflowModuleOptions> = {}): Promise<void> {
    logger = new CapturingLogger();
    moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(sink.port, {
            secret: TEST_SECRET,
            queue: { redis: REDIS_URL, prefix, ...FAST_RETRIES },
            links: { ...localOptions(0).links, secureAccount: SECURE_PAGE },
            ...options,
          }),
        ),
      ],
      providers: [NoticeHooks],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
    hooks = moduleRef.get(NoticeHooks);
  }

  beforeAll(async () => {
    sink = await SmtpSink.start();
  });

  afterEach(async () => {
    await moduleRef?.close();
    await deleteKeys(prefix);
    sink.messages.length = 0;
  });

  afterAll(async () => {
    await sink.close();
  });

  it('tells a French reader when (in French, UTC, the zone named), from where, and links to the secure page; the hooks run for it', async () => {
    await boot();
    const at = new Date(Date.UTC(2026, 0, 15, 13, 5));
    const result = await emails.notifyNewSignIn(
      { id: 'u1', email: 'amelie@example.test', name: 'Amélie', locale: 'fr' },
      { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0', at },
    );
    expect(result).toEqual({ id: expect.any(String), messageId: expect.stringMatching(/^<.+@acme\.test>$/) });
    const mail = await sink.mailWithId(result.messageId);

    expect(mail.subject).toMatch(/connexion/);
    expect(mail.text).toContain('15 janvier 2026');
    expect(mail.text).toContain('13:05 UTC');
    expect(mail.text).toContain('203.0.113.7');
    // The device as a reader says it, never the header; the header stays in the context the hooks see.
    expect(mail.text).toContain('Appareil\u00a0: Firefox sur Linux');
    expect(mail.html).toContain('Firefox sur Linux');
    for (const part of [mail.text, mail.html as string]) expect(part).not.toContain('Mozilla');
    expect(linkIn(mail.html as string, SECURE_PAGE)).toBe(SECURE_PAGE);
    expect(mail.headers.get('x-security-notice')).toBe('new-sign-in');
    expect(hooks.seen).toEqual([
      {
        template: 'new-sign-in',
        to: 'amelie@example.test',
        context: expect.objectContaining({
          when: expect.stringContaining('janvier'),
          ip: '203.0.113.7',
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
          device: { browser: 'Firefox', system: 'Linux' },
          link: SECURE_PAGE,
        }),
      },
    ]);
  });

  it.each<[string, Record<string, string>, string]>([
    ['links.forgotPassword', { forgotPassword: 'http://localhost:3000/forgot-password' }, 'http://localhost:3000/forgot-password'],
    ['the origin of links.resetPassword', {}, 'http://localhost:3000'],
  ])('without links.secureAccount it links to %s', async (_default, links, expected) => {
    await boot({ links: { ...localOptions(0).links, ...links } });
    const result = await emails.notifyNewSignIn({ id: 'u6', email: 'fay@example.test' });
    const mail = await sink.mailWithId(result.messageId);
    expect(mail.subject).toMatch(/New sign-in/);
    expect(linkIn(mail.html as string, 'http://')).toBe(expected);
  });

  it.each([
    ['Chrome on Linux', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
    ['Safari on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'],
    ['Firefox on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'],
  ])('says "Device: %s" in both parts; the User-Agent is only in the context the hooks see', async (device, userAgent) => {
    await boot();
    const result = await emails.notifyNewSignIn({ id: 'u7', email: 'gus@example.test' }, { userAgent });
    const mail = await sink.mailWithId(result.messageId);
    expect(mail.text).toContain(`Device: ${device}`);
    expect(mail.html).toContain(`<strong>Device:</strong> ${device}`);
    for (const part of [mail.text, mail.html as string, mail.subject]) expect(part).not.toContain('Mozilla');
    expect(hooks.seen[0].context.userAgent).toBe(userAgent);
  });

  it.each([
    ['garbage', 'zz%%$$ ## not a browser'],
    ['a made-up "Name/1.0"', 'Call Support Now/1.0 (555-0100)'],
    ['a huge header', `Mozilla/5.0 (${'A'.repeat(100_000)}`],
  ])('an unrecognised User-Agent (%s) reads "Device: not recognised", without crashing and without the header', async (_label, userAgent) => {
    await boot();
    const result = await emails.notifyNewSignIn({ id: 'u8', email: 'hal@example.test' }, { userAgent });
    const mail = await sink.mailWithId(result.messageId);
    expect(mail.text).toContain('Device: not recognised');
    for (const part of [mail.text, mail.html as string]) expect(part).not.toMatch(/zz%%|Call Support|Mozilla|AAAA/);
    expect(hooks.seen[0].context.userAgent).toBe([...userAgent].length <= 200 ? userAgent : `${[...userAgent].slice(0, 199).join('')}…`);
  });

  it('keeps the User-Agent for the hooks on one line, without control characters, cut to 200 characters, and out of the email', async () => {
    await boot();
    const result = await emails.notifyNewSignIn(
      { id: 'u2', email: 'bo@example.test' },
      { userAgent: `Evil/1.0\r\nBcc: victim@evil.test\u0000 ${'x'.repeat(400)}` },
    );
    const mail = await sink.mailWithId(result.messageId);
    expect(mail.headers.has('bcc')).toBe(false);
    const shown = hooks.seen[0].context.userAgent as string;
    expect(shown.startsWith('Evil/1.0 Bcc: victim@evil.test x')).toBe(true);
    expect(shown).not.toMatch(/[\r\n\u0000]/);
    expect([...shown]).toHaveLength(200);
    expect(shown.endsWith('…')).toBe(true);
    expect(mail.text).toContain('Device: not recognised');
    for (const part of [mail.text, mail.html as string]) expect(part).not.toContain('victim@evil.test');
  });

  it('over the per-user limit it sends nothing and resolves with skipped, without throwing', async () => {
    await boot({ flows: { newSignIn: { limits: { perUser: { limit: 2, windowSeconds: 60 } } } } });
    const cy = { id: 'u3', email: 'cy@example.test' };
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await emails.notifyNewSignIn(cy, { ip: '198.51.100.1' }));
    expect(results.slice(2)).toEqual([
      { id: '', messageId: '', skipped: { reason: 'rate-limited' } },
      { id: '', messageId: '', skipped: { reason: 'rate-limited' } },
    ]);
    await Promise.all(results.slice(0, 2).map((result) => sink.mailWithId(result.messageId)));
    await untilQueueIdle(emails);
    await sink.untilNothingArriving();
    // Proves an absence: nothing is left in the queue, so give a wrongly sent notice this window to show.
    await sleep(200);
    expect(sink.messages).toHaveLength(2);
    // Another user's budget is their own.
    expect((await emails.notifyNewSignIn({ id: 'u4', email: 'di@example.test' }, {})).skipped).toBeUndefined();
  });

  it.each<[string, string, object]>([
    ['an IP that is not one', 'details.ip', { ip: '203.0.113.7, 10.0.0.1' }],
    ['a numeric IP', 'details.ip', { ip: 42 }],
    ['an invalid Date', 'details.at', { at: new Date('soon') }],
    ['a string for at', 'details.at', { at: '2026-01-15' }],
    ['an object User-Agent', 'details.userAgent', { userAgent: {} }],
  ])('refuses %s with InvalidArgumentError naming %s, sending nothing', async (_label, argument, details) => {
    await boot();
    const error = await emails.notifyNewSignIn({ id: 'u5', email: 'ed@example.test' }, details as never).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: EmailWorkflowErrorCode.InvalidArgument, argument });
    expect(hooks.seen).toEqual([]);
  });
});
