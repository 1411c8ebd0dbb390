import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../sample-app/src/app.module';
import { StartupProblem } from '../../sample-app/src/settings';
import { freePort } from '../support/free-port';
import { linkIn, SmtpSink } from '../support/smtp-sink';

const SAMPLE_ENV = ['NODE_ENV', 'PORT', 'APP_URL', 'SMTP_URL', 'MAIL_FROM', 'REDIS_URL', 'EMAIL_WORKFLOW_SECRET', 'DATABASE_URL', 'SAMPLE_DATA_DIR'];

/** The sample imports the dev inbox only where the inbox may run, as docs/dev-inbox.md tells real apps to. */
describe('the sample app outside development', () => {
  const savedEnv = new Map<string, string | undefined>();
  let app: INestApplication | undefined;
  let sink: SmtpSink | undefined;

  beforeEach(() => {
    for (const name of SAMPLE_ENV) {
      savedEnv.set(name, process.env[name]);
      delete process.env[name];
    }
    // The sample's SQLite file goes to a folder of the test's own, not sample-app/data.
    process.env.SAMPLE_DATA_DIR = mkdtempSync(join(tmpdir(), 'sample-data-'));
  });

  afterEach(async () => {
    await app?.close();
    await sink?.close();
    app = sink = undefined;
    rmSync(process.env.SAMPLE_DATA_DIR!, { recursive: true, force: true });
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it.each([undefined, 'production', 'Production', 'prod', 'staging'])('with NODE_ENV %s and SMTP_URL, it runs without the inbox: /dev/inbox is not there and sign-up mail goes to SMTP_URL', async (nodeEnv) => {
    sink = await SmtpSink.start();
    const port = await freePort();
    if (nodeEnv !== undefined) process.env.NODE_ENV = nodeEnv;
    process.env.SMTP_URL = `smtp://127.0.0.1:${sink.port}?security=none`;
    process.env.APP_URL = `http://127.0.0.1:${port}`;
    app = await NestFactory.create(AppModule.forEnvironment(), { logger: false, abortOnError: false });
    await app.listen(port, '127.0.0.1');

    expect((await fetch(`http://127.0.0.1:${port}/dev/inbox`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/dev/templates`)).status).toBe(404);
    const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(home).not.toContain('/dev/');
    const signUp = await fetch(`http://127.0.0.1:${port}/sign-up`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'Ada', email: 'ada@example.test', password: 'correct horse battery' }).toString(),
    });
    expect(signUp.status).toBe(303);
    const mail = await sink.mailTo('ada@example.test', /confirm your email/i);
    expect(linkIn(mail.html as string, `http://127.0.0.1:${port}/verify-email?token=`)).toMatch(/token=[\w-]{20,}/);
  });

  it('with NODE_ENV production and no SMTP_URL, it refuses to start and says how to fix it', async () => {
    process.env.NODE_ENV = 'production';
    const boot = NestFactory.create(AppModule.forEnvironment(), { logger: false, abortOnError: false });
    await expect(boot).rejects.toBeInstanceOf(StartupProblem);
    await expect(boot).rejects.toThrow(/NODE_ENV is "production".*Fix: set SMTP_URL=.*or NODE_ENV=development/);
  });

  it.each(['development', ' Test '])('with NODE_ENV %j it imports the inbox and links to it', async (nodeEnv) => {
    const port = await freePort();
    process.env.NODE_ENV = nodeEnv;
    process.env.APP_URL = `http://127.0.0.1:${port}`;
    app = await NestFactory.create(AppModule.forEnvironment(), { logger: false, abortOnError: false });
    await app.listen(port, '127.0.0.1');
    const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(home).toContain('href="/dev/inbox"');
    expect((await fetch(`http://127.0.0.1:${port}/dev/inbox`)).status).toBe(200);
  });
});
