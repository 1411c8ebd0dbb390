import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AuthAppModule } from '../fixtures/auth-app/auth-app.module';
import { UsersStore } from '../fixtures/auth-app/users.store';
import { authAppHarness, Overrides, tokenOf } from '../support/auth-app-harness';
import { dumpKeys, REDIS_URL } from '../support/redis';
import type { SmtpSink } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';

describe('verification and password reset through a real app, Redis and SMTP server', () => {
  const harness = authAppHarness();
  const { call } = harness;
  let sink: SmtpSink;
  let app: INestApplication;
  let prefix: string;

  beforeEach(() => {
    ({ sink, prefix } = harness);
  });

  async function startApp(overrides: Overrides = {}): Promise<void> {
    app = await harness.startApp(overrides);
  }

  it('register → verification email → verify → welcome; then refuses reuse, forgery and the wrong purpose', async () => {
    await startApp();
    expect((await call('POST', '/register', { name: 'Ada', email: 'ada@example.test', password: 'first-password' })).status).toBe(201);
    const verification = await sink.mailTo('ada@example.test', /Confirm your email/);
    const token = tokenOf(verification, 'verify-email');
    expect(verification.text).toContain(`verify-email?token=${token}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    expect(await call('POST', '/verify-email', { token })).toEqual({ status: 200, body: { id: expect.any(String), emailVerified: true } });
    const welcome = await sink.mailTo('ada@example.test', /Welcome to Acme/);
    expect(welcome.text).toContain('Hi Ada,');

    expect(await call('POST', '/verify-email', { token })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_USED' } });
    const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect(await call('POST', '/verify-email', { token: forged })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_UNKNOWN' } });

    await call('POST', '/forgot-password', { email: 'ada@example.test' });
    const resetToken = tokenOf(await sink.mailTo('ada@example.test', /Reset your Acme password/), 'reset-password');
    expect(await call('POST', '/verify-email', { token: resetToken })).toMatchObject({
      status: 400,
      body: { error: 'EMAIL_WORKFLOW_TOKEN_WRONG_PURPOSE' },
    });
  });

  it('refuses an expired verification token as expired', async () => {
    await startApp({ flows: { verifyEmail: { ttl: 1 } } });
    await call('POST', '/register', { name: 'Bo', email: 'bo@example.test', password: 'pw-123456' });
    const token = tokenOf(await sink.mailTo('bo@example.test', /Confirm your email/), 'verify-email');
    // A GET of the link only inspects the token, so it can be asked until the token's second is up.
    await until(async () => (await call('GET', `/verify-email?token=${token}`)).body.valid === false, 'the token to expire', 5_000, 100);
    expect(await call('POST', '/verify-email', { token })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' } });
  });

  it('a GET of the link (as a scanner would) does not use the token up; an address change voids it', async () => {
    await startApp();
    const { body } = await call('POST', '/register', { name: 'Cy', email: 'cy@example.test', password: 'pw-123456' });
    const token = tokenOf(await sink.mailTo('cy@example.test', /Confirm your email/), 'verify-email');
    expect(await call('GET', `/verify-email?token=${token}`)).toMatchObject({ status: 200, body: { valid: true } });
    expect(await call('GET', `/verify-email?token=${token}`)).toMatchObject({ status: 200, body: { valid: true } });

    app.get(UsersStore).changeEmail(body.id as string, 'cy.new@example.test');
    expect(await call('POST', '/verify-email', { token })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' } });
  });

  it('answers a reset request for an unknown address exactly as for a known one, and sends nothing', async () => {
    await startApp();
    await call('POST', '/register', { name: 'Di', email: 'di@example.test', password: 'pw-123456' });
    await sink.mailTo('di@example.test', /Confirm your email/);
    sink.messages.length = 0;

    const known = await call('POST', '/forgot-password', { email: 'di@example.test' });
    const unknown = await call('POST', '/forgot-password', { email: 'nobody@example.test' });
    expect(unknown).toEqual(known);
    expect(known.status).toBe(202);

    await sink.mailTo('di@example.test', /Reset your Acme password/);
    await until(() => app.get(UsersStore).lookups.includes('nobody@example.test'), 'the directory lookup of the unknown address');
    // Proves an absence: the work after the answer has no end to wait for, so give a wrongly queued email this window to show.
    await sleep(500);
    expect(sink.messages.map((m) => m.to && !Array.isArray(m.to) && m.to.value[0].address)).toEqual(['di@example.test']);
  });

  it('rate-limits reset requests per address and per IP, alike for unknown addresses', async () => {
    await startApp({
      flows: { resetPassword: { limits: { perAddress: { limit: 2, windowSeconds: 60 }, perIp: { limit: 5, windowSeconds: 60 } } } },
    });
    const perAddress = [];
    for (let i = 0; i < 3; i++) perAddress.push((await call('POST', '/forgot-password', { email: 'nobody@example.test' })).status);
    expect(perAddress).toEqual([202, 202, 429]);

    const perIp = [];
    for (let i = 0; i < 4; i++) perIp.push((await call('POST', '/forgot-password', { email: `someone${i}@example.test` })).status);
    // 2 requests already counted for this IP above: 3 more pass, then the IP limit (5) is reached.
    expect(perIp).toEqual([202, 202, 202, 429]);
    const limited = await call('POST', '/forgot-password', { email: 'fresh@example.test' });
    expect(limited).toMatchObject({ status: 429, body: { error: 'EMAIL_WORKFLOW_RATE_LIMITED' } });
  });

  it('a failing password write leaves the token usable; a successful reset voids older reset tokens', async () => {
    await startApp();
    await call('POST', '/register', { name: 'Ed', email: 'ed@example.test', password: 'old-password' });
    await call('POST', '/forgot-password', { email: 'ed@example.test' });
    const older = tokenOf(await sink.mailTo('ed@example.test', /Reset your Acme password/), 'reset-password');
    sink.messages.length = 0;
    await call('POST', '/forgot-password', { email: 'ed@example.test' });
    const newer = tokenOf(await sink.mailTo('ed@example.test', /Reset your Acme password/), 'reset-password');
    expect(newer).not.toBe(older);

    app.get(UsersStore).failNextPasswordWrite = true;
    expect((await call('POST', '/reset-password', { token: newer, password: 'new-password' })).status).toBe(503);
    expect(await call('GET', `/verify-email?token=${newer}`)).toMatchObject({ body: { valid: false, reason: 'wrong-purpose' } });

    expect(await call('POST', '/reset-password', { token: newer, password: 'new-password' })).toMatchObject({ status: 200 });
    expect(await call('POST', '/sign-in', { email: 'ed@example.test', password: 'new-password' })).toMatchObject({ body: { ok: true } });
    expect(await call('POST', '/sign-in', { email: 'ed@example.test', password: 'old-password' })).toMatchObject({ body: { ok: false } });
    await sink.mailTo('ed@example.test', /password was changed/);

    expect(await call('POST', '/reset-password', { token: older, password: 'sneaky' })).toMatchObject({
      status: 400,
      body: { error: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' },
    });
    expect(await call('POST', '/reset-password', { token: newer, password: 'again' })).toMatchObject({
      status: 400,
      body: { error: 'EMAIL_WORKFLOW_TOKEN_USED' },
    });
  });

  it('keeps only token hashes in Redis', async () => {
    await startApp((keyPrefix) => ({ queue: { redis: REDIS_URL, prefix: keyPrefix, worker: false } }));
    await call('POST', '/register', { name: 'Flo', email: 'flo@example.test', password: 'pw-123456' });
    const dump = await dumpKeys(prefix);
    const tokenKeys = [...dump.keys()].filter((key) => key.includes(':token:'));
    expect(tokenKeys).toHaveLength(1);
    // The worker is off, so the email still waits in Redis; read the token the way a user would, after delivery.
    await app.close();
    const worker = await Test.createTestingModule({ imports: [AuthAppModule.withRedisQueue(sink.port, prefix)] }).compile();
    app = harness.adopt(worker.createNestApplication({ logger: false }));
    await app.init();
    const token = tokenOf(await sink.mailTo('flo@example.test', /Confirm your email/), 'verify-email');

    const everything = [...dump.entries()].flat().join('\n');
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(encodeURIComponent(token));
    expect(tokenKeys[0]).not.toContain(token);
  });

  it('escapes HTML in a user name and keeps CR/LF in it from adding a header', async () => {
    await startApp();
    await call('POST', '/register', { name: '<b>Eve</b>\r\nBcc: victim@evil.test', email: 'eve@example.test', password: 'pw-123456' });
    const mail = await sink.mailTo('eve@example.test', /Confirm your email/);
    expect(mail.html).toContain('&lt;b&gt;Eve&lt;/b&gt;');
    expect(mail.html).not.toContain('<b>Eve</b>');
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.to && !Array.isArray(mail.to) && mail.to.value).toEqual([{ address: 'eve@example.test', name: '<b>Eve</b> Bcc: victim@evil.test' }]);
  });
  it('verifying with the newest link voids the older verification links', async () => {
    await startApp();
    await call('POST', '/register', { name: 'Gus', email: 'gus@example.test', password: 'pw-123456' });
    const older = tokenOf(await sink.mailTo('gus@example.test', /Confirm your email/), 'verify-email');
    sink.messages.length = 0;
    expect((await call('POST', '/resend-verification', { email: 'gus@example.test' })).status).toBe(202);
    const newer = tokenOf(await sink.mailTo('gus@example.test', /Confirm your email/), 'verify-email');
    expect(newer).not.toBe(older);

    expect(await call('POST', '/verify-email', { token: newer })).toMatchObject({ status: 200, body: { emailVerified: true } });
    expect(await call('POST', '/verify-email', { token: older })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' } });
  });
});
