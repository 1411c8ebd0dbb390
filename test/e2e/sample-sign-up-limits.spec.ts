import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../sample-app/src/app.module';
import { UsersStore } from '../../sample-app/src/users.store';
import { freePort } from '../support/free-port';

/** Variables the sample reads; unset so it runs on its embedded defaults (in-process queue, dev inbox). */
const SAMPLE_ENV = ['PORT', 'APP_URL', 'SMTP_URL', 'MAIL_FROM', 'REDIS_URL', 'EMAIL_WORKFLOW_SECRET', 'DATABASE_URL', 'SAMPLE_DATA_DIR'];

describe('sample sign-up limits over HTTP', () => {
  let app: INestApplication;
  let base: string;
  const savedEnv = new Map<string, string | undefined>();

  beforeEach(async () => {
    for (const name of SAMPLE_ENV) {
      savedEnv.set(name, process.env[name]);
      delete process.env[name];
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    process.env.PORT = String(port);
    process.env.APP_URL = base;
    // The sample's SQLite file goes to a folder of the test's own, not sample-app/data.
    process.env.SAMPLE_DATA_DIR = mkdtempSync(join(tmpdir(), 'sample-data-'));
    app = await NestFactory.create(AppModule.forEnvironment(), { logger: false });
    await app.listen(port, '127.0.0.1');
  });

  afterEach(async () => {
    await app?.close();
    rmSync(process.env.SAMPLE_DATA_DIR!, { recursive: true, force: true });
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  /** One sign-up, as status, where it leads (the address masked) and the page's heading. */
  async function signUp(email: string): Promise<string> {
    const response = await fetch(`${base}/sign-up`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'Grace', email, password: 'correct horse battery staple' }).toString(),
    });
    const location = (response.headers.get('location') ?? '').replace(encodeURIComponent(email), '<address>');
    const heading = /<h1[^>]*>([^<]*)<\/h1>/.exec(await response.text())?.[1] ?? '';
    return `${response.status} ${location} ${heading}`;
  }

  it('answers an existing and a new address alike, up to and including the 429', async () => {
    await app.get(UsersStore).create('Ada', 'ada@example.com', 'an old password of hers');
    const existing: string[] = [];
    const fresh: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      existing.push(await signUp('ada@example.com'));
      fresh.push(await signUp('grace@example.com'));
    }
    expect(fresh).toEqual(existing);
    expect(existing.map((answer) => answer.split(' ')[0])).toEqual(['303', '303', '303', '429', '429']);
  });

  it('limits sign-ups per IP', async () => {
    const answers: string[] = [];
    for (let n = 0; n < 12; n += 1) answers.push((await signUp(`user${n}@example.com`)).split(' ')[0]);
    expect(answers).toEqual([...Array<string>(10).fill('303'), '429', '429']);
  });
});
