import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { CaughtEmail, DevInbox } from 'nestjs-email-workflow/dev-inbox';
import { AppModule } from '../../sample-app/src/app.module';
import { freePort } from '../support/free-port';
import { until } from '../support/wait';

// What the browser specs of the sample share: the sample app (sample-app/src) booted in this process
// on a free port, Debian's Chromium through playwright-core, a watch on every page for browser
// errors, screenshots into test-artifacts/browser/ (gitignored), and the dev-inbox steps.

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'browser');
/** Variables the sample reads; unset for the test so it runs on its embedded defaults. */
const SAMPLE_ENV = ['PORT', 'APP_URL', 'SMTP_URL', 'MAIL_FROM', 'REDIS_URL', 'EMAIL_WORKFLOW_SECRET', 'DATABASE_URL', 'SAMPLE_DATA_DIR'];

export class SampleInBrowser {
  private readonly savedEnv = new Map<string, string | undefined>();
  app!: INestApplication;
  browser!: Browser;
  base!: string;
  inbox!: DevInbox;
  /** The sample's SQLite folder (SAMPLE_DATA_DIR): a fresh one per start, deleted by close. */
  dataDir?: string;

  static async start(): Promise<SampleInBrowser> {
    const sample = new SampleInBrowser();
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const name of SAMPLE_ENV) {
      sample.savedEnv.set(name, process.env[name]);
      delete process.env[name];
    }
    sample.dataDir = mkdtempSync(join(tmpdir(), 'sample-data-'));
    process.env.SAMPLE_DATA_DIR = sample.dataDir;
    // A free port may be taken by another test's server before the sample listens on it: try another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      sample.base = `http://127.0.0.1:${port}`;
      process.env.PORT = String(port);
      process.env.APP_URL = sample.base;
      sample.app = await NestFactory.create(AppModule.forEnvironment(), { logger: ['error'] });
      try {
        await sample.app.listen(port, '127.0.0.1');
        break;
      } catch (error) {
        await sample.app.close();
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw error;
      }
    }
    sample.inbox = sample.app.get(DevInbox);
    sample.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    return sample;
  }

  async close(): Promise<void> {
    await this.browser?.close();
    await this.app?.close();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    for (const [name, value] of this.savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }

  /**
   * A fresh browser context (its own cookies: another device) and page. Every page of it, popups and
   * frames included, reports into `errors`: a CSP violation, a script error or a missing stylesheet
   * fails the test. Pages answered 400/401 on purpose are checked by the tests themselves; Chromium
   * logs those as "Failed to load resource", so they are skipped here.
   */
  async newPage(errors: string[]): Promise<{ context: BrowserContext; page: Page }> {
    const context = await this.browser.newContext({ viewport: { width: 1100, height: 800 } });
    context.setDefaultTimeout(10_000);
    const documents = new Set<string>();
    context.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (message.text().startsWith('Failed to load resource: the server responded with a status of 4') && documents.has(message.location().url)) return;
      errors.push(`${message.text()} (${message.location().url})`);
    });
    context.on('request', (request) => {
      if (request.isNavigationRequest()) documents.add(request.url());
    });
    context.on('response', (response) => {
      if (response.status() >= 400 && !response.request().isNavigationRequest()) errors.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    context.on('requestfailed', (request) => {
      // ERR_ABORTED: a navigation cut a pending request short (a favicon, say), which is no fault.
      if (request.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
    });
    context.on('weberror', (error) => errors.push(`uncaught: ${error.error().message}`));
    return { context, page: await context.newPage() };
  }

  /** Reloads the dev inbox until the newest email to `to` with that subject shows, then opens it. */
  async openEmail(target: Page, to: string, subject: RegExp): Promise<void> {
    let row: Locator | undefined;
    await until(
      async () => {
        await target.goto(`${this.base}/dev/inbox`);
        row = target.getByTestId('inbox-row').filter({ hasText: to }).filter({ hasText: subject }).first();
        return (await row.count()) > 0;
      },
      `an email "${subject}" to ${to} in the dev inbox`,
      10_000,
      100,
    );
    await row!.getByRole('link').click();
    await target.getByTestId('email-subject').waitFor();
  }

  /** The caught email to `to` whose subject matches, once it has arrived. */
  async caught(to: string, subject: RegExp): Promise<CaughtEmail> {
    const find = () => this.inbox.messages().find((candidate) => candidate.to.includes(to) && subject.test(candidate.subject));
    await until(() => find() !== undefined, `an email "${subject}" to ${to} to be caught`, 10_000, 50);
    return find() as CaughtEmail;
  }
}

export interface BrowserBench {
  /** The sample and Chromium of the describe block. */
  readonly sample: SampleInBrowser;
  /** The current test's page, in a context of its own. */
  readonly page: Page;
}

/**
 * Registers the hooks of a describe block of browser tests: the sample and Chromium are started
 * before all and closed after all; each test gets a fresh context and page, closed after it, and
 * fails if any page of that context reported a browser error (see newPage).
 */
export function sampleInBrowser(): BrowserBench {
  let sample: SampleInBrowser | undefined;
  let opened: { context: BrowserContext; page: Page } | undefined;
  let browserErrors: string[] = [];
  beforeAll(async () => {
    sample = await SampleInBrowser.start();
  });
  afterAll(async () => {
    await sample?.close();
  });
  beforeEach(async () => {
    browserErrors = [];
    opened = await bench.sample.newPage(browserErrors);
  });
  afterEach(async () => {
    await opened?.context.close();
    opened = undefined;
    expect(browserErrors).toEqual([]);
  });
  const bench: BrowserBench = {
    get sample() {
      if (!sample) throw new Error('sampleInBrowser: the sample is only there inside the hooks and tests of its describe block.');
      return sample;
    },
    get page() {
      if (!opened) throw new Error('sampleInBrowser: the page is only there inside a test of its describe block.');
      return opened.page;
    },
  };
  return bench;
}

/**
 * Full-page screenshots of a test's steps: `<flow>-<nn>-<step>.png`, numbered in order. The flow's
 * shots of an earlier run are removed first; other flows' (other spec files may be running) are left.
 */
export function screenshots(flow: string): (target: Page | Locator, name: string) => Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const file of readdirSync(ARTIFACTS)) if (file.startsWith(`${flow}-`) && file.endsWith('.png')) rmSync(join(ARTIFACTS, file), { force: true });
  let step = 0;
  return async (target, name) => {
    step += 1;
    const path = join(ARTIFACTS, `${flow}-${String(step).padStart(2, '0')}-${name}.png`);
    // A page is shot whole; an element (scrolled into view first) alone.
    await ('goto' in target ? target.screenshot({ path, fullPage: true }) : target.screenshot({ path }));
  };
}

/** Fills and sends the sign-in form on the current page. */
export async function signIn(target: Page, email: string, password: string): Promise<void> {
  await target.getByLabel('Email').fill(email);
  await target.getByLabel('Password').fill(password);
  await target.getByRole('button', { name: 'Sign in', exact: true }).click();
  await target.waitForLoadState();
}

/** Clicks a link in the open email's HTML frame; the inbox opens links in a new tab, as a mail client does. */
export async function clickInEmail(target: Page, linkName: string | RegExp): Promise<Page> {
  const opened = target.context().waitForEvent('page');
  await target.frameLocator('[data-testid="email-html-frame"]').getByRole('link', { name: linkName }).first().click();
  const tab = await opened;
  await tab.waitForLoadState();
  return tab;
}
