import { ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { freePort } from '../support/free-port';
import { ThrowAwayPostgres } from '../support/postgres';
import { until } from '../support/wait';
import { screenshots, signIn } from './sample-browser';

// Issue 27: the sample as `npm start` runs it (compiled, one node process), stopped and started again
// on the same data: the account, the session and the verification link sent before the restart all
// work after it, on the embedded SQLite file and on PostgreSQL (DATABASE_URL).

const ROOT = join(__dirname, '..', '..');
/** A build of its own, so the other spec that compiles the sample is not overwritten mid-run. */
const SAMPLE_BUILD = join(ROOT, 'test-artifacts', 'sample-app-restart');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Variables the sample reads: none is inherited, each run sets its own. */
const SAMPLE_ENV = ['PORT', 'APP_URL', 'SMTP_URL', 'MAIL_FROM', 'REDIS_URL', 'EMAIL_WORKFLOW_SECRET', 'DATABASE_URL', 'SAMPLE_DATA_DIR'];

/** One run of the compiled sample; `stop` ends it with SIGTERM, as Ctrl-C in `npm start` does. */
class SampleProcess {
  private output = '';
  private readonly closed: Promise<number | null>;

  private constructor(private readonly child: ChildProcessByStdio<null, Readable, Readable>) {
    child.stdout.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.closed = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  }

  static async start(env: Record<string, string>): Promise<SampleProcess> {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SAMPLE_ENV.includes(name)));
    const child = spawn(process.execPath, [join(SAMPLE_BUILD, 'main.js')], { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = new SampleProcess(child);
    let ended = false;
    void run.closed.then(() => (ended = true));
    await until(() => ended || run.output.includes('Sample app:'), () => `the sample to start; it wrote:\n${run.output}`, 30_000, 50);
    if (ended) throw new Error(`the sample stopped while starting:\n${run.output}`);
    return run;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    let code: number | null | undefined;
    void this.closed.then((value) => (code = value));
    await until(() => code !== undefined, () => `the sample to exit after SIGTERM; it wrote:\n${this.output}`, 15_000, 50);
    expect(this.output).not.toMatch(/ERROR|\n\s+at /);
  }
}

let browser: Browser;

beforeAll(async () => {
  const build = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'sample-app/tsconfig.json', '--outDir', SAMPLE_BUILD], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect({ status: build.status, output: `${build.stdout}${build.stderr}` }).toEqual({ status: 0, output: '' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 150_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(['SQLite', 'PostgreSQL'] as const)('the sample restarted, on %s', (backend) => {
  let postgres: ThrowAwayPostgres | undefined;
  let dataDir: string;
  let contexts: BrowserContext[] = [];
  let browserErrors: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sample-data-'));
    if (backend === 'PostgreSQL') postgres = await ThrowAwayPostgres.start();
  }, 90_000);

  afterAll(async () => {
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const context of contexts) await context.close();
    contexts = [];
    expect(browserErrors).toEqual([]);
    browserErrors = [];
  });

  /** A page in a browser context of its own (another device); script errors and failed loads fail the test. */
  async function device(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    context.setDefaultTimeout(10_000);
    context.on('weberror', (error) => browserErrors.push(`uncaught: ${error.error().message}`));
    context.on('response', (response) => {
      if (response.status() >= 400 && !response.request().isNavigationRequest()) browserErrors.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    contexts.push(context);
    return context.newPage();
  }

  it('sign up and sign in, restart: still signed in, the account signs in again, and the verification link sent before works', async () => {
    const shot = screenshots(`restart-${backend.toLowerCase()}`);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = { PORT: String(port), APP_URL: base, SAMPLE_DATA_DIR: dataDir };
    if (postgres) env.DATABASE_URL = await postgres.createDatabase('sample');
    const email = 'ada.restart@example.com';
    const password = 'analytical-engine';

    let sample = await SampleProcess.start(env);
    const laptop = await device();
    await laptop.goto(`${base}/sign-up`);
    await laptop.getByLabel('Name').fill('Ada Lovelace');
    await laptop.getByLabel('Email').fill('Ada.Restart@Example.com');
    await laptop.getByLabel('Password').fill(password);
    await laptop.getByRole('button', { name: 'Sign up' }).click();
    expect(await laptop.locator('h1').textContent()).toBe('Check your inbox');

    await until(
      async () => {
        await laptop.goto(`${base}/dev/inbox`);
        return (await laptop.getByTestId('inbox-row').filter({ hasText: email }).filter({ hasText: /Confirm your email/ }).count()) === 1;
      },
      'the verification email in the dev inbox',
      10_000,
      100,
    );
    await laptop.getByTestId('inbox-row').filter({ hasText: email }).getByRole('link').click();
    const link = await laptop.frameLocator('[data-testid="email-html-frame"]').getByRole('link', { name: /Confirm email address/ }).first().getAttribute('href');
    expect(link).toMatch(new RegExp(`^${base}/verify-email\\?token=`));
    await shot(laptop, 'verification-email');

    await laptop.goto(`${base}/sign-in`);
    await signIn(laptop, email, password);
    expect(new URL(laptop.url()).pathname).toBe('/account');
    expect(await laptop.getByTestId('email-status').textContent()).not.toBe('Email verified');

    await sample.stop();
    if (backend === 'SQLite') expect(readdirSync(dataDir)).toEqual(['sample.sqlite']);
    sample = await SampleProcess.start(env);
    try {
      // The session cookie from before the restart still signs the laptop in.
      await laptop.goto(`${base}/account`);
      expect(new URL(laptop.url()).pathname).toBe('/account');
      expect(await laptop.locator('h1').textContent()).toBe('Hello, Ada Lovelace');
      await shot(laptop, 'still-signed-in');

      // The link from the email sent before the restart, opened on another device.
      const phone = await device();
      const landing = await phone.goto(link!);
      expect(landing?.status()).toBe(200);
      expect(await phone.locator('h1').textContent()).toBe('Confirm your email address');
      await phone.getByRole('button', { name: 'Confirm my email' }).click();
      await phone.waitForURL(/\/sign-in\?notice=email-verified-sign-in$/);
      await signIn(phone, 'ADA.Restart@example.com', password);
      expect(new URL(phone.url()).pathname).toBe('/account');
      expect(await phone.getByTestId('email-status').textContent()).toBe('Email verified');
      await shot(phone, 'verified-after-restart');

      // Used once: the same link is refused now.
      const again = await phone.goto(link!);
      expect(again?.status()).toBe(400);
      expect(await phone.locator('h1').textContent()).toBe('This link was already used');
    } finally {
      await sample.stop();
    }
  }, 120_000);
});
