import { Test } from '@nestjs/testing';
import {
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
  InvalidOptionsError,
  SmtpTransportOptions,
} from 'nestjs-email-workflow';
import { resolveQueueOptions } from '../../lib/queue/queue.options';
import { resolveTokenOptions } from '../../lib/tokens/token.options';
import { MemoryTokenStore } from '../../lib/tokens';
import { resolveFlowOptions } from '../../lib/workflow/flows/flow.options';
import { describeTransport, parseSmtpUrl, toNodemailerOptions } from '../../lib/transport/smtp-transport.resolver';
import { invalidOptionsError, localOptions } from '../support/module-options';

const PASSWORD = 'S3cretPa55';

/** Options that boot; tests override one part at a time. */
function validOptions(overrides: Partial<EmailWorkflowModuleOptions> = {}): EmailWorkflowModuleOptions {
  return localOptions(2525, overrides);
}

/** Options that deliberately break the declared types. */
function untyped(options: Record<string, unknown>): EmailWorkflowModuleOptions {
  return options as unknown as EmailWorkflowModuleOptions;
}

async function boot(options: EmailWorkflowModuleOptions): Promise<unknown> {
  return Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
    .compile()
    .then(
      async (moduleRef) => {
        const service = moduleRef.get(EmailWorkflowService);
        await moduleRef.close();
        return service;
      },
      (error: unknown) => error,
    );
}

async function bootsFine(options: EmailWorkflowModuleOptions): Promise<void> {
  const result = await boot(options);
  if (!(result instanceof EmailWorkflowService)) throw result;
}

function paths(error: InvalidOptionsError): string[] {
  return error.problems.map((p) => p.path);
}

function expectNoSecret(error: InvalidOptionsError, secret = PASSWORD): void {
  expect(error.message).not.toContain(secret);
  expect(String(error.stack)).not.toContain(secret);
  expect(JSON.stringify(error)).not.toContain(secret);
  expect(JSON.stringify(error.problems)).not.toContain(secret);
}

describe('options validation at boot', () => {
  it('boots with valid options (control)', async () => {
    await expect(bootsFine(validOptions())).resolves.toBeUndefined();
  });

  it('reports every bad field at once, in one error, each by path with a fix', async () => {
    const error = await invalidOptionsError(
      untyped({
        ...validOptions(),
        transport: { host: 'smtp.example.test', port: 99999, pool: false },
        from: 'not an address',
        brand: { name: '', primaryColor: 'blue' },
        links: {
          verifyEmail: 'http://app.example.test/verify-email?token={token}',
          resetPassword: 'https://app.example.test/reset-password?token={token}',
        },
        tempaltes: { dir: '/tmp' },
      }),
    );

    const expected = ['transport.port', 'from', 'brand.name', 'brand.primaryColor', 'links.verifyEmail', 'tempaltes'];
    expect([...paths(error)].sort()).toEqual([...expected].sort());
    expect(error.message).toContain(`(${expected.length} problems)`);
    for (const problem of error.problems) {
      expect(problem.problem).not.toBe('');
      expect(problem.fix).not.toBe('');
    }
    for (const path of expected) {
      const line = error.message.split('\n').find((l) => l.startsWith(`  - ${path}: `));
      expect(line).toMatch(/^ {2}- [\w.]+: .+\. Fix: .+/);
    }
    expect(error.message).toMatch(/- tempaltes: is not a known option\. Fix: remove it or check its spelling/);
    expect(error.message).toMatch(/- transport\.port: must be a port number from 1 to 65535\. Fix: use 465/);
    expect(error.message).toMatch(/- brand\.primaryColor: must be a hex colour, #rgb or #rrggbb\. Fix: use e\.g\. "#2563eb"/);
  });

  it('reports a field that breaks two rules once', async () => {
    const error = await invalidOptionsError(untyped({ ...validOptions(), transport: { port: 25, pool: false } }));
    expect(paths(error)).toEqual(['transport.host']);
  });

  describe('never reveals a password', () => {
    it('in an SMTP URL with an invalid port', async () => {
      const error = await invalidOptionsError(validOptions({ transport: `smtp://user:${PASSWORD}@host:99999` }));
      expect(paths(error)).toEqual(['transport']);
      expect(error.problems[0].fix).not.toBe('');
      expectNoSecret(error);
    });

    it('in a parseable SMTP URL with a bad option', async () => {
      const error = await invalidOptionsError(validOptions({ transport: `smtps://user:${PASSWORD}@smtp.example.test?security=bogus` }));
      expect(paths(error)).toEqual(['transport.security']);
      expectNoSecret(error);
    });

    it('in auth.pass of an object transport with bad fields around it', async () => {
      const error = await invalidOptionsError(
        untyped({
          ...validOptions(),
          transport: { host: 'smtp.example.test', port: 99999, auth: { user: '', pass: PASSWORD, password: PASSWORD } },
        }),
      );
      expect([...paths(error)].sort()).toEqual(['transport.auth.password', 'transport.auth.user', 'transport.port']);
      expectNoSecret(error);
    });

    it('in an SMTP URL whose password is not percent-encoded (a raw "%")', async () => {
      const secret = 'S3cret%Pa55';
      const error = await invalidOptionsError(validOptions({ transport: `smtp://user:${secret}@smtp.example.test:587` }));
      expect(paths(error)).toEqual(['transport']);
      expect(error.problems[0].fix).not.toBe('');
      expectNoSecret(error, secret);
      expectNoSecret(error, 'Pa55');
    });
  });

  describe('links', () => {
    it.each([
      'http://localhost:3000/verify-email?token={token}',
      'http://127.0.0.1:8080/verify-email?token={token}',
      'https://app.example.test/verify-email?token={token}',
    ])('accepts %s', async (verifyEmail) => {
      await expect(
        bootsFine(validOptions({ links: { verifyEmail, resetPassword: 'https://app.example.test/reset?token={token}' } })),
      ).resolves.toBeUndefined();
    });

    it.each([
      'http://app.example.test/reset?token={token}',
      'http://192.168.1.10/reset?token={token}',
      'http://localhost.evil.test/reset?token={token}',
      'http://localhost@evil.test/reset?token={token}',
      'ftp://localhost/reset?token={token}',
      '/reset?token={token}',
    ])('refuses %s, naming the link', async (resetPassword) => {
      const error = await invalidOptionsError(
        validOptions({ links: { verifyEmail: 'https://app.example.test/verify?token={token}', resetPassword } }),
      );
      expect(paths(error)).toEqual(['links.resetPassword']);
      expect(error.message).toMatch(/links\.resetPassword: must be an absolute https URL/);
      expect(error.message).toContain('Fix: use a URL such as "https://');
    });

    it('refuses a link without {token}', async () => {
      const error = await invalidOptionsError(
        validOptions({
          links: { verifyEmail: 'https://app.example.test/verify-email', resetPassword: 'https://app.example.test/reset?token={token}' },
        }),
      );
      expect(paths(error)).toEqual(['links.verifyEmail']);
      expect(error.problems[0].problem).toContain('{token}');
      expect(error.problems[0].fix).toContain('{token}');
    });

    it('accepts links.forgotPassword, an absolute URL without {token}, and refuses it otherwise', async () => {
      const links = { verifyEmail: 'https://app.example.test/verify?token={token}', resetPassword: 'https://app.example.test/reset?token={token}' };
      await expect(bootsFine(validOptions({ links: { ...links, forgotPassword: 'https://app.example.test/forgot-password' } }))).resolves.toBeUndefined();
      await expect(bootsFine(validOptions({ links: { ...links, forgotPassword: 'http://localhost:3000/forgot-password' } }))).resolves.toBeUndefined();
      for (const forgotPassword of ['http://app.example.test/forgot-password', '/forgot-password', 'https://app.example.test/forgot?token={token}']) {
        const error = await invalidOptionsError(validOptions({ links: { ...links, forgotPassword } }));
        expect(paths(error)).toEqual(['links.forgotPassword']);
        expect(error.message).toMatch(/links\.forgotPassword: must be an absolute https URL without \{token\}/);
        expect(error.message).toContain('Fix: use a URL such as "https://app.example.com/forgot-password"');
      }
    });

    it('refuses missing links, saying what to set', async () => {
      const { links: _omitted, ...rest } = validOptions();
      const error = await invalidOptionsError(untyped(rest));
      expect(paths(error)).toContain('links');
      expect(error.message).toMatch(/- links: is required\. Fix: set links: \{ verifyEmail, resetPassword \}/);
    });
  });

  describe('flows, codes and the dropped keys', () => {
    const links = { verifyEmail: 'https://app.example.test/verify?token={token}', resetPassword: 'https://app.example.test/reset?token={token}' };

    it('refuses each dropped key with a problem naming its new key, and nothing else', async () => {
      const error = await invalidOptionsError(
        untyped({
          ...validOptions(),
          tokens: { verifyEmailTtl: 60, resetPasswordTtl: 60, claimWindow: 1_000 },
          rateLimits: {
            passwordResetPerAddress: { limit: 1, windowSeconds: 60 },
            passwordResetPerIp: { limit: 1, windowSeconds: 60 },
            verificationPerAddress: { limit: 1, windowSeconds: 60 },
            verificationStartPerAddress: { limit: 1, windowSeconds: 60 },
          },
        }),
      );
      expect(error.problems).toEqual([
        { path: 'tokens.verifyEmailTtl', problem: 'was replaced by flows.verifyEmail.ttl (same value)', fix: 'move it to flows.verifyEmail.ttl' },
        { path: 'tokens.resetPasswordTtl', problem: 'was replaced by flows.resetPassword.ttl (same value)', fix: 'move it to flows.resetPassword.ttl' },
        expect.objectContaining({ path: 'rateLimits.passwordResetPerAddress', fix: 'move it to flows.resetPassword.limits.perAddress' }),
        expect.objectContaining({ path: 'rateLimits.passwordResetPerIp', fix: 'move it to flows.resetPassword.limits.perIp' }),
        expect.objectContaining({ path: 'rateLimits.verificationPerAddress', fix: 'move it to flows.verifyEmail.limits.perAddress' }),
        expect.objectContaining({ path: 'rateLimits.verificationStartPerAddress', fix: 'move it to flows.verifyEmail.limits.startPerAddress' }),
      ]);
      expect(error.message).toContain('- tokens.verifyEmailTtl: was replaced by flows.verifyEmail.ttl (same value). Fix: move it to flows.verifyEmail.ttl');
    });

    it('refuses an empty or odd rateLimits by pointing at flows.<flow>.limits', async () => {
      for (const rateLimits of [{}, 5, { perAddress: 1 }]) {
        const error = await invalidOptionsError(untyped({ ...validOptions(), rateLimits }));
        expect(error.problems).toEqual([expect.objectContaining({ path: 'rateLimits', fix: 'move it to flows.<flow>.limits' })]);
      }
    });

    it('applies each flow\'s defaults, and its own values where given', () => {
      expect(resolveFlowOptions({})).toEqual({
        ok: true,
        value: {
          verifyEmail: { ttl: 86_400, delivery: 'link', limits: { perAddress: { limit: 5, windowSeconds: 3_600 }, startPerAddress: { limit: 5, windowSeconds: 3_600 } } },
          resetPassword: { ttl: 3_600, delivery: 'link', limits: { perAddress: { limit: 5, windowSeconds: 3_600 }, perIp: { limit: 20, windowSeconds: 3_600 } } },
          signIn: { ttl: 900, delivery: 'link', limits: { perAddress: { limit: 5, windowSeconds: 3_600 }, perIp: { limit: 20, windowSeconds: 3_600 } } },
          changeEmail: { ttl: 3_600, revertTtl: 604_800, limits: { perUser: { limit: 5, windowSeconds: 3_600 }, perNewAddress: { limit: 5, windowSeconds: 3_600 } } },
          newSignIn: { limits: { perUser: { limit: 10, windowSeconds: 3_600 } } },
        },
      });
      const resolved = resolveFlowOptions({ flows: { resetPassword: { ttl: 60, delivery: 'both', limits: { perIp: { limit: 2, windowSeconds: 10 } } } } });
      expect(resolved).toMatchObject({ ok: true, value: { resetPassword: { ttl: 60, delivery: 'both', limits: { perAddress: { limit: 5 }, perIp: { limit: 2, windowSeconds: 10 } } } } });
    });

    it('refuses bad flow values, each by path with a fix', async () => {
      const error = await invalidOptionsError(
        untyped({
          ...validOptions(),
          flows: { verifyEmail: { ttl: 0, delivery: 'sms' }, resetPassword: { limits: { perIp: { limit: 0, windowSeconds: 60 } } }, signIn: { colour: 'red', delivery: 'code' }, plans: {} },
        }),
      );
      expect(paths(error).sort()).toEqual(['flows.plans', 'flows.resetPassword.limits.perIp.limit', 'flows.signIn.colour', 'flows.verifyEmail.delivery', 'flows.verifyEmail.ttl']);
      expect(error.message).toContain('flows.verifyEmail.delivery: must be "link", "code" or "both"');
    });

    it('requires the links of a flow that is set, naming each, unless the flow sends codes only', async () => {
      const signIn = await invalidOptionsError(validOptions({ links, flows: { signIn: { ttl: 600 } } }));
      expect(paths(signIn)).toEqual(['links.signIn']);
      expect(signIn.message).toContain('links.signIn: is required when flows.signIn is set. Fix: set links.signIn to an absolute URL with {token}');
      const change = await invalidOptionsError(validOptions({ links: { ...links, confirmEmailChange: 'https://app.example.test/confirm?token={token}' }, flows: { changeEmail: {} } }));
      expect(paths(change)).toEqual(['links.revertEmailChange']);
      await expect(bootsFine(validOptions({ links, flows: { signIn: { delivery: 'code' } } }))).resolves.toBeUndefined();
      await expect(bootsFine(validOptions({ links: { ...links, signIn: 'https://app.example.test/sign-in?token={token}' }, flows: { signIn: {} } }))).resolves.toBeUndefined();
    });

    it('holds the new links to the same URL rules', async () => {
      const error = await invalidOptionsError(
        validOptions({
          links: { ...links, signIn: 'http://app.example.test/s?token={token}', confirmEmailChange: 'https://app.example.test/c', revertEmailChange: '/r?token={token}', secureAccount: 'https://app.example.test/secure?token={token}' },
        }),
      );
      expect(paths(error).sort()).toEqual(['links.confirmEmailChange', 'links.revertEmailChange', 'links.secureAccount', 'links.signIn']);
      expect(error.message).toMatch(/links\.secureAccount: must be an absolute https URL without \{token\}/);
    });

    it('takes tokens.code (6 digits and 5 tries by default) and refuses lengths outside 6..10 and tries outside 1..20', async () => {
      expect(resolveTokenOptions({})).toMatchObject({ ok: true, value: { codes: { length: 6, maxAttempts: 5 } } });
      expect(resolveTokenOptions({ tokens: { code: { length: 10, maxAttempts: 1 } } })).toMatchObject({ ok: true, value: { codes: { length: 10, maxAttempts: 1 } } });
      for (const code of [{ length: 5 }, { length: 11 }, { length: 6.5 }, { maxAttempts: 0 }, { maxAttempts: 21 }]) {
        const error = await invalidOptionsError({ ...validOptions(), tokens: { code } as never });
        expect(paths(error)).toEqual([`tokens.code.${Object.keys(code)[0]}`]);
        expect(error.message).toMatch(/must be a whole number from (6 to 10|1 to 20)/);
      }
    });
  });

  describe('transport', () => {
    it('refuses a URL with another scheme, naming transport', async () => {
      const error = await invalidOptionsError(validOptions({ transport: `http://user:${PASSWORD}@smtp.example.test:587` }));
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatchObject({ path: 'transport' });
      expect(error.problems[0].problem).toContain('"http:"');
      expect(error.problems[0].problem).toMatch(/smtp: and smtps:/);
      expect(error.problems[0].fix).toMatch(/smtps:\/\//);
      expectNoSecret(error);
    });

    it('refuses a missing transport', async () => {
      const { transport: _omitted, ...rest } = validOptions();
      const error = await invalidOptionsError(untyped(rest));
      expect(paths(error)).toEqual(['transport']);
      expect(error.problems[0].problem).toBe('is required');
    });

    it('refuses a security mode it does not know', async () => {
      const error = await invalidOptionsError(untyped({ ...validOptions(), transport: { host: 'h', security: 'ssl', pool: false } }));
      expect(paths(error)).toEqual(['transport.security']);
    });

    it('refuses bad TLS settings by path', async () => {
      const error = await invalidOptionsError(
        untyped({ ...validOptions(), transport: { host: 'h', pool: false, tls: { rejectUnauthorized: 'no', ca: 5 } } }),
      );
      expect([...paths(error)].sort()).toEqual(['transport.tls.ca', 'transport.tls.rejectUnauthorized']);
    });

    it('refuses a pool that is not true, false or an object', async () => {
      const error = await invalidOptionsError(untyped({ ...validOptions(), transport: { host: 'h', pool: 'yes' } }));
      expect(paths(error)).toEqual(['transport.pool']);
    });

    it('checks the settings inside a pool object', async () => {
      const error = await invalidOptionsError(
        untyped({ ...validOptions(), transport: { host: 'h', pool: { maxConnections: 0, maxConection: 5 } } }),
      );
      expect([...paths(error)].sort()).toEqual(['transport.pool.maxConection', 'transport.pool.maxConnections']);
    });
  });
  describe('queue and plug-ins', () => {
    const base = () => ({ ...localOptions(2525) });

    it('refuses worker: false on the in-process queue', async () => {
      const error = await invalidOptionsError({ ...base(), queue: { redis: false, worker: false } });
      expect(paths(error)).toEqual(['queue.worker']);
      expect(error.message).toContain('queue.redis');
    });

    it.each([0, 2.5, '5000'])('refuses queue.commandTimeout %p: a whole number of milliseconds, 1 or more', async (commandTimeout) => {
      const error = await invalidOptionsError(untyped({ ...base(), queue: { redis: false, commandTimeout } }));
      expect(error.problems).toEqual([{ path: 'queue.commandTimeout', problem: 'must be a number of milliseconds', fix: 'use e.g. 5000' }]);
    });

    it.each(['BullMQ', 'bull-mq', 4])('refuses queue.driver %p, naming both drivers', async (driver) => {
      const error = await invalidOptionsError(untyped({ ...base(), secret: 'a-secret-of-at-least-32-bytes-0123456789', queue: { redis: 'redis://127.0.0.1:6379', driver } }));
      expect(error.problems).toEqual([
        { path: 'queue.driver', problem: 'must be "bull" or "bullmq"', fix: 'use "bullmq" and install bullmq, or leave it out for Bull' },
      ]);
    });

    it('runs on Bull unless queue.driver says "bullmq"', () => {
      expect(resolveQueueOptions({ redis: 'redis://127.0.0.1:6379' })).toMatchObject({ ok: true, value: { driver: 'bull' } });
      expect(resolveQueueOptions({ redis: 'redis://127.0.0.1:6379', driver: 'bullmq' })).toMatchObject({ ok: true, value: { driver: 'bullmq' } });
    });

    it('bounds every Redis call by 5000 ms unless queue.commandTimeout says otherwise', () => {
      expect(resolveQueueOptions({ redis: 'redis://127.0.0.1:6379' })).toMatchObject({ ok: true, value: { commandTimeout: 5_000 } });
      expect(resolveQueueOptions({ redis: 'redis://127.0.0.1:6379', commandTimeout: 250 })).toMatchObject({ ok: true, value: { commandTimeout: 250 } });
    });

    it('holds a redemption claim for 60 s unless tokens.claimWindow says otherwise, and refuses a bad window', async () => {
      expect(resolveTokenOptions({})).toMatchObject({ ok: true, value: { claimWindowMs: 60_000 } });
      expect(resolveTokenOptions({ tokens: { claimWindow: 300 } })).toMatchObject({ ok: true, value: { claimWindowMs: 300 } });
      for (const claimWindow of [99, 1.5, '60000', -1]) {
        const error = await invalidOptionsError({ ...base(), tokens: { claimWindow } as never });
        expect(paths(error)).toEqual(['tokens.claimWindow']);
        expect(error.message).toContain('milliseconds, 100 or more');
      }
    });

    it('refuses a custom token store without renew', async () => {
      const store = { save: async () => undefined, find: async () => undefined, claim: async () => 'unknown' as const, markUsed: async () => undefined, release: async () => undefined };
      const error = await invalidOptionsError({ ...base(), secret: 'a'.repeat(32), tokens: { store: store as never } });
      expect(error.message).toContain('tokens.store');
      expect(error.message).toContain('renew');
    });

    it('requires a secret with a custom token store', async () => {
      const store = new MemoryTokenStore(1_000);
      const error = await invalidOptionsError({ ...base(), tokens: { store } });
      expect(paths(error)).toEqual(['secret']);
    });

    it('names a user directory that lacks a method', async () => {
      const error = await invalidOptionsError({ ...base(), users: { findByEmail: async () => undefined, findById: async () => undefined } as never });
      expect(paths(error)).toEqual(['users']);
      expect(error.message).toContain('markEmailVerified');
    });
  });
});

describe('SMTP transport resolver', () => {
  const host = 'smtp.example.test';

  it('port 465 means implicit TLS', () => {
    expect(toNodemailerOptions({ host, port: 465 })).toMatchObject({ port: 465, secure: true, requireTLS: false, ignoreTLS: false });
    expect(describeTransport({ host, port: 465 })).toBe('smtps://smtp.example.test:465 (implicit TLS)');
  });

  it('port 587 means STARTTLS is required', () => {
    expect(toNodemailerOptions({ host, port: 587 })).toMatchObject({ port: 587, secure: false, requireTLS: true, ignoreTLS: false });
  });

  it('no port means 587 with STARTTLS required', () => {
    expect(toNodemailerOptions({ host })).toMatchObject({ port: 587, secure: false, requireTLS: true, ignoreTLS: false });
  });

  it('any other port is opportunistic: neither implicit TLS nor required STARTTLS, nor ignored', () => {
    expect(toNodemailerOptions({ host, port: 2525 })).toMatchObject({ port: 2525, secure: false, requireTLS: false, ignoreTLS: false });
    expect(describeTransport({ host, port: 2525 })).toBe('smtp://smtp.example.test:2525 (STARTTLS if offered)');
  });

  it('"none" ignores STARTTLS, even on 465', () => {
    expect(toNodemailerOptions({ host, port: 2525, security: 'none' })).toMatchObject({ secure: false, requireTLS: false, ignoreTLS: true });
    expect(toNodemailerOptions({ host, port: 465, security: 'none' })).toMatchObject({ secure: false, requireTLS: false, ignoreTLS: true });
  });

  it('an explicit security mode wins over the port, and picks the default port', () => {
    expect(toNodemailerOptions({ host, port: 2525, security: 'starttls' })).toMatchObject({ port: 2525, requireTLS: true, secure: false });
    expect(toNodemailerOptions({ host, port: 2465, security: 'tls' })).toMatchObject({ port: 2465, secure: true, requireTLS: false });
    expect(toNodemailerOptions({ host, security: 'tls' })).toMatchObject({ port: 465, secure: true });
    expect(toNodemailerOptions({ host, security: 'starttls' })).toMatchObject({ port: 587, requireTLS: true });
  });

  it('pools by default, with the documented limits', () => {
    expect(toNodemailerOptions({ host })).toMatchObject({ pool: true, maxConnections: 5, maxMessages: 100, rateDelta: 1000 });
  });

  it('takes pool settings from a pool object and turns pooling off with false', () => {
    expect(toNodemailerOptions({ host, pool: { maxConnections: 2, rateLimit: 10 } })).toMatchObject({
      pool: true,
      maxConnections: 2,
      maxMessages: 100,
      rateLimit: 10,
    });
    expect(toNodemailerOptions({ host, pool: false })).not.toHaveProperty('pool');
    expect(toNodemailerOptions({ host, pool: false })).not.toHaveProperty('maxConnections');
  });

  it('verifies certificates by default and passes ca and servername through', () => {
    expect(toNodemailerOptions({ host }).tls).toMatchObject({ rejectUnauthorized: true });
    expect(toNodemailerOptions({ host, tls: { ca: 'PEM', servername: 'mx.example.test' } }).tls).toMatchObject({
      rejectUnauthorized: true,
      ca: 'PEM',
      servername: 'mx.example.test',
    });
    expect(toNodemailerOptions({ host, tls: { rejectUnauthorized: false } }).tls).toMatchObject({ rejectUnauthorized: false });
  });

  it('applies the documented timeouts', () => {
    expect(toNodemailerOptions({ host })).toMatchObject({ connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 60_000 });
  });

  describe('SMTP URLs', () => {
    const url = 'smtps://us%40er:p%40ss%3Aw%2F0rd%25@smtp.example.test';

    it('parses smtps:// with a percent-encoded user and password', () => {
      expect(parseSmtpUrl(url)).toEqual<SmtpTransportOptions>({
        host,
        port: undefined,
        security: 'tls',
        auth: { user: 'us@er', pass: 'p@ss:w/0rd%' },
        pool: undefined,
      });
      expect(toNodemailerOptions(url)).toMatchObject({
        host,
        port: 465,
        secure: true,
        requireTLS: false,
        auth: { user: 'us@er', pass: 'p@ss:w/0rd%' },
        pool: true,
        tls: { rejectUnauthorized: true },
      });
    });

    it('reads the port, security and pool from the URL', () => {
      expect(toNodemailerOptions('smtp://smtp.example.test:2525')).toMatchObject({ port: 2525, secure: false, requireTLS: false });
      expect(toNodemailerOptions('smtp://smtp.example.test')).toMatchObject({ port: 587, requireTLS: true });
      expect(toNodemailerOptions('smtp://smtp.example.test:25?security=none')).toMatchObject({ ignoreTLS: true, requireTLS: false });
      expect(toNodemailerOptions('smtp://smtp.example.test?pool=false')).not.toHaveProperty('pool');
      expect(parseSmtpUrl('smtp://smtp.example.test')).toMatchObject({ auth: undefined });
    });

    it('unbrackets an IPv6 host', () => {
      expect(parseSmtpUrl('smtp://[::1]:2525')).toMatchObject({ host: '::1', port: 2525 });
    });
  });

  describe('describeTransport', () => {
    it('never contains the password, encoded or decoded', () => {
      const described = describeTransport('smtps://us%40er:p%40ss%3Aw%2F0rd%25@smtp.example.test');
      expect(described).toBe('smtps://us%40er:***@smtp.example.test:465 (implicit TLS)');
      expect(described).not.toContain('p%40ss');
      expect(described).not.toContain('p@ss');

      const fromObject = describeTransport({ host, port: 587, auth: { user: 'ada', pass: PASSWORD } });
      expect(fromObject).toBe('smtp://ada:***@smtp.example.test:587 (STARTTLS)');
      expect(fromObject).not.toContain(PASSWORD);
      expect(describeTransport(`smtp://ada:${PASSWORD}@smtp.example.test:2525`)).not.toContain(PASSWORD);
    });

    it('prints no user part when there is no auth', () => {
      expect(describeTransport({ host, port: 25, security: 'none' })).toBe('smtp://smtp.example.test:25 (no TLS)');
    });

    it('brackets an IPv6 host so the result is a valid URL', () => {
      const described = describeTransport('smtp://ada:pw@[::1]:2525');
      expect(described).toBe('smtp://ada:***@[::1]:2525 (STARTTLS if offered)');
    });
  });
});
