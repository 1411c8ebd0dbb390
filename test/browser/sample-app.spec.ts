import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { EmailWorkflowService } from 'nestjs-email-workflow';
import { CaughtEmail, DevInbox } from 'nestjs-email-workflow/dev-inbox';
import { AppModule } from '../../sample-app/src/app.module';
import { UsersStore } from '../../sample-app/src/users.store';
import { freePort } from '../support/free-port';
import { linkIn } from '../support/smtp-sink';
import { until } from '../support/wait';

// The sample app (sample-app/src) booted in this process on a free port, driven by Debian's Chromium
// through playwright-core. Screenshots of every step go to test-artifacts/browser/ (gitignored).

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'browser');
/** Variables the sample reads; unset for the test so it runs on its embedded defaults. */
const SAMPLE_ENV = ['PORT', 'APP_URL', 'SMTP_URL', 'MAIL_FROM', 'REDIS_URL', 'EMAIL_WORKFLOW_SECRET'];

describe('sample app in a real browser', () => {
  let app: INestApplication;
  let browser: Browser;
  let base: string;
  let inbox: DevInbox;
  const savedEnv = new Map<string, string | undefined>();
  let context: BrowserContext;
  let page: Page;
  let browserErrors: string[];

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const name of SAMPLE_ENV) {
      savedEnv.set(name, process.env[name]);
      delete process.env[name];
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    process.env.PORT = String(port);
    process.env.APP_URL = base;
    app = await NestFactory.create(AppModule.forEnvironment(), { logger: ['error'] });
    await app.listen(port, '127.0.0.1');
    inbox = app.get(DevInbox);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    browserErrors = [];
    const documents = new Set<string>();
    // Every page of every test, popups and frames included: a CSP violation, a script error or a
    // missing stylesheet fails the test. Pages answered 400/401 on purpose are checked by the tests
    // themselves; Chromium logs those as "Failed to load resource", so they are skipped here.
    context.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (message.text().startsWith('Failed to load resource: the server responded with a status of 4') && documents.has(message.location().url)) return;
      browserErrors.push(`${message.text()} (${message.location().url})`);
    });
    context.on('request', (request) => {
      if (request.isNavigationRequest()) documents.add(request.url());
    });
    context.on('response', (response) => {
      if (response.status() >= 400 && !response.request().isNavigationRequest()) browserErrors.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    context.on('requestfailed', (request) => {
      // ERR_ABORTED: a navigation cut a pending request short (a favicon, say), which is no fault.
      if (request.failure()?.errorText !== 'net::ERR_ABORTED') browserErrors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
    });
    context.on('weberror', (error) => browserErrors.push(`uncaught: ${error.error().message}`));
  });

  afterEach(async () => {
    await context.close();
    expect(browserErrors).toEqual([]);
  });

  /** Full-page screenshots of a test's steps: `<flow>-<nn>-<step>.png`, numbered in order. */
  function screenshots(flow: string): (target: Page | Locator, name: string) => Promise<void> {
    let step = 0;
    return async (target, name) => {
      step += 1;
      const path = join(ARTIFACTS, `${flow}-${String(step).padStart(2, '0')}-${name}.png`);
      // A page is shot whole; an element (scrolled into view first) alone.
      await ('goto' in target ? target.screenshot({ path, fullPage: true }) : target.screenshot({ path }));
    };
  }

  /** Fills and sends the sign-in form on the current page. */
  async function signIn(target: Page, email: string, password: string): Promise<void> {
    await target.getByLabel('Email').fill(email);
    await target.getByLabel('Password').fill(password);
    await target.getByRole('button', { name: 'Sign in' }).click();
    await target.waitForLoadState();
  }

  /** Reloads the dev inbox until the newest email to `to` with that subject shows, then opens it. */
  async function openEmail(target: Page, to: string, subject: RegExp): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await target.goto(`${base}/dev/inbox`);
      const row = target.getByTestId('inbox-row').filter({ hasText: to }).filter({ hasText: subject }).first();
      if ((await row.count()) > 0) {
        await row.getByRole('link').click();
        await target.getByTestId('email-subject').waitFor();
        return;
      }
      if (Date.now() > deadline) throw new Error(`no email "${subject}" to ${to} reached the dev inbox`);
      await target.waitForTimeout(100);
    }
  }

  /** Clicks a link in the open email's HTML frame; the inbox opens links in a new tab, as a mail client does. */
  async function clickInEmail(target: Page, linkName: string | RegExp): Promise<Page> {
    const opened = target.context().waitForEvent('page');
    await target.frameLocator('[data-testid="email-html-frame"]').getByRole('link', { name: linkName }).click();
    const tab = await opened;
    await tab.waitForLoadState();
    return tab;
  }

  /** The caught email to `to` whose subject matches, once it has arrived. */
  async function caught(to: string, subject: RegExp): Promise<CaughtEmail> {
    const find = () => inbox.messages().find((candidate) => candidate.to.includes(to) && subject.test(candidate.subject));
    await until(() => find() !== undefined, `an email "${subject}" to ${to} to be caught`, 10_000, 50);
    return find() as CaughtEmail;
  }

  it('sign up → dev inbox → verification email → link → confirm → signed in, verified; welcome email sent', async () => {
    const shot = screenshots('sign-up');
    const email = 'ada@example.com';
    await page.goto(`${base}/`);
    await shot(page, 'home');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('analytical-engine');
    await shot(page, 'sign-up');
    await page.getByRole('button', { name: 'Sign up' }).click();

    expect(await page.locator('h1').textContent()).toBe('Check your inbox');
    expect(await page.locator('main').textContent()).toContain(email);
    await shot(page, 'check-inbox');

    await page.getByRole('link', { name: 'Open the dev inbox' }).first().click();
    await openEmail(page, email, /Confirm your email/);
    expect(await page.getByTestId('email-to').textContent()).toContain(email);
    await shot(page, 'verification-email');

    const landing = await clickInEmail(page, /Confirm email address/);
    expect(new URL(landing.url()).pathname).toBe('/verify-email');
    expect(await landing.locator('h1').textContent()).toBe('Confirm your email address');
    await shot(landing, 'verify-landing');

    await landing.getByRole('button', { name: 'Confirm my email' }).click();
    await landing.waitForURL(/\/sign-in\?notice=email-verified-sign-in$/);
    expect(await landing.locator('.notice').textContent()).toContain('Your email address is confirmed');
    await shot(landing, 'confirmed-sign-in');

    await signIn(landing, email, 'analytical-engine');
    expect(new URL(landing.url()).pathname).toBe('/account');
    expect(await landing.getByTestId('email-status').textContent()).toBe('Email verified');
    await shot(landing, 'account-verified');

    await openEmail(landing, email, /Welcome to Sample App/);
    expect(await landing.getByTestId('email-to').textContent()).toContain(email);
    await shot(landing, 'welcome-email');
  });

  it('forgot password → email → reset form → new password works, old fails; password-changed email; used link refused', async () => {
    const shot = screenshots('reset-password');
    const email = 'grace@example.com';
    await app.get(UsersStore).create('Grace Hopper', email, 'old-password-1');

    // Any address gets the same answer, and an unknown one gets no email.
    await page.goto(`${base}/forgot-password`);
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    expect(await page.locator('h1').textContent()).toBe('Check your inbox');
    const unknownAnswer = (await page.locator('main p').first().textContent())!.replace('nobody@example.com', '<address>');

    await page.goto(`${base}/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(email);
    await shot(page, 'forgot-password');
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    expect(await page.locator('h1').textContent()).toBe('Check your inbox');
    expect((await page.locator('main p').first().textContent())!.replace(email, '<address>')).toBe(unknownAnswer);
    await shot(page, 'check-inbox');

    await openEmail(page, email, /Reset your Sample App password/);
    await shot(page, 'reset-email');
    const form = await clickInEmail(page, /Choose a new password/);
    const resetUrl = form.url();
    expect(new URL(resetUrl).pathname).toBe('/reset-password');
    expect(await form.locator('h1').textContent()).toBe('Choose a new password');
    await shot(form, 'reset-form');

    await form.getByLabel('New password').fill('brand-new-password');
    await form.getByRole('button', { name: 'Change my password' }).click();
    await form.waitForURL(/\/sign-in\?notice=password-changed$/);
    expect(await form.locator('.notice').textContent()).toContain('Your password was changed');
    await shot(form, 'password-changed');

    await signIn(form, email, 'old-password-1');
    expect(new URL(form.url()).pathname).toBe('/sign-in');
    expect(await form.getByRole('alert').textContent()).toContain('do not match');
    await shot(form, 'old-password-refused');

    await signIn(form, email, 'brand-new-password');
    expect(new URL(form.url()).pathname).toBe('/account');
    expect(await form.locator('h1').textContent()).toBe('Hello, Grace Hopper');
    await shot(form, 'signed-in-with-new-password');

    await openEmail(form, email, /password was changed/);
    await shot(form, 'password-changed-email');

    const again = await form.goto(resetUrl);
    expect(again?.status()).toBe(400);
    expect(await form.locator('h1').textContent()).toBe('This link was already used');
    expect(await form.getByRole('link', { name: 'Ask for a new link' }).count()).toBe(1);
    await shot(form, 'reset-link-used');

    expect(inbox.messages().filter((message) => message.to.includes('nobody@example.com'))).toEqual([]);
  });

  it('a plain GET of the verification link (a link scanner) does not use it up', async () => {
    const shot = screenshots('link-scanner');
    const email = 'katherine@example.com';
    await page.goto(`${base}/sign-up`);
    await page.getByLabel('Name').fill('Katherine Johnson');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('orbital-mechanics');
    await page.getByRole('button', { name: 'Sign up' }).click();
    const link = linkIn((await caught(email, /Confirm your email/)).html ?? '', `${base}/verify-email?token=`);
    expect(link).toBeDefined();

    // What a mail server's link scanner does: fetch the page, maybe twice, and follow nothing else.
    for (let i = 0; i < 2; i += 1) {
      const scanned = await fetch(link!, { redirect: 'manual' });
      expect(scanned.status).toBe(200);
      expect(await scanned.text()).toContain('Confirm my email');
    }

    // Signed in before confirming: the account says so.
    await page.goto(`${base}/sign-in`);
    await signIn(page, email, 'orbital-mechanics');
    expect(await page.getByTestId('email-status').textContent()).toBe('Email not verified');
    await shot(page, 'account-unverified');

    await page.goto(link!);
    await shot(page, 'verify-landing-after-scan');
    await page.getByRole('button', { name: 'Confirm my email' }).click();
    await page.waitForURL(/\/account\?notice=email-verified$/);
    expect(await page.getByTestId('email-status').textContent()).toBe('Email verified');
    await shot(page, 'account-verified');

    // Now it is used: the GET page says so clearly.
    const used = await fetch(link!);
    expect(used.status).toBe(400);
    expect(await used.text()).toContain('This link was already used');
    await page.goto(link!);
    expect(await page.locator('h1').textContent()).toBe('This link was already used');
    await shot(page, 'verify-link-used');
  });

  it('shows a clear page for a mangled link and never echoes it', async () => {
    const shot = screenshots('bad-links');
    await page.goto(`${base}/verify-email?token=${encodeURIComponent('<b>not-a-token</b>')}`);
    expect(await page.locator('h1').textContent()).toBe('This link is not valid');
    expect(await page.locator('b').count()).toBe(0);
    await shot(page, 'verify-link-invalid');
    await page.goto(`${base}/reset-password`);
    expect(await page.locator('h1').textContent()).toBe('This link is not valid');
    await shot(page, 'reset-link-invalid');
  });

  it('answers a flood of reset requests for one address with a clear "too many requests" page', async () => {
    const shot = screenshots('rate-limit');
    const body = new URLSearchParams({ email: 'flood@example.com' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      statuses.push((await fetch(`${base}/forgot-password`, { method: 'POST', body, redirect: 'manual' })).status);
    }
    expect(statuses).toEqual([303, 303, 303, 303, 303]);
    await page.goto(`${base}/forgot-password`);
    await page.getByLabel('Email').fill('flood@example.com');
    const answer = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    expect((await answer).status()).toBe(429);
    expect(await page.locator('h1').textContent()).toBe('Too many requests');
    expect(await page.locator('main').textContent()).toMatch(/Try again in \d+ minutes?/);
    await shot(page, 'too-many-requests');
  });

  it('/dev/templates renders every template at both widths with no browser errors, iframes included', async () => {
    const shot = screenshots('dev-templates');
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });

    const previews = await app.get(EmailWorkflowService).previewTemplates();
    expect(previews.map((preview) => preview.name)).toEqual(
      expect.arrayContaining(['password-changed', 'reset-password', 'test-email', 'verify-email', 'welcome']),
    );

    await page.goto(`${base}/dev/templates`, { waitUntil: 'load' });
    const sections = page.getByTestId('template-preview');
    expect(await sections.count()).toBe(previews.length);
    expect(await page.getByTestId('template-error').count()).toBe(0);
    for (const preview of previews) {
      const section = page.locator(`[data-testid="template-preview"][data-template="${preview.name}"][data-locale="${preview.locale}"]`);
      expect(await section.getByTestId('template-subject').textContent()).toBe(preview.rendered?.subject);
      for (const [testId, width] of [['preview-desktop', 600], ['preview-mobile', 375]] as const) {
        const frame = section.getByTestId(testId);
        expect((await frame.boundingBox())?.width).toBeCloseTo(width, 0);
        // The frame's document really rendered the email: its heading and footer are there.
        const body = frame.contentFrame().locator('body');
        expect(((await body.innerText()) ?? '').length).toBeGreaterThan(40);
        expect(await body.innerText()).toContain('Sample App');
      }
    }
    expect(page.frames()).toHaveLength(1 + previews.length * 2);
    // Chromium paints the email frames (out-of-process: they are sandboxed) only near the viewport,
    // so a full-page shot would show the lower ones blank: shoot each template on its own.
    for (const preview of previews) {
      await page.locator(`[data-testid="template-preview"][data-template="${preview.name}"][data-locale="${preview.locale}"]`).scrollIntoViewIfNeeded();
      // Give Chromium a moment to paint the frames now in view; only the artifact depends on it.
      await page.waitForTimeout(500);
      await shot(page.locator(`[data-testid="template-preview"][data-template="${preview.name}"][data-locale="${preview.locale}"]`), preview.name + (preview.locale ? `.${preview.locale}` : ''));
    }
    expect(problems).toEqual([]);
  });
});
