import { BrowserContext, Page } from 'playwright-core';
import { EmailWorkflowService } from 'nestjs-email-workflow';
import { CaughtEmail } from 'nestjs-email-workflow/dev-inbox';
import { UsersStore } from '../../sample-app/src/users.store';
import { linkIn } from '../support/smtp-sink';
import { clickInEmail, SampleInBrowser, screenshots, signIn } from './sample-browser';

// The sample's issue-13 flows in Chromium: sign-in by link and by code, the new-sign-in notice, the
// email change with its revert from the old inbox, and the language of the emails.

describe('sample app flows in a real browser: passwordless sign-in, email change, languages', () => {
  let sample: SampleInBrowser;
  let browserErrors: string[];
  let contexts: BrowserContext[];
  let page: Page;
  /** Subjects as the templates render them, by `name` or `name.locale`, so no wording is copied here. */
  const subjects = new Map<string, string>();

  beforeAll(async () => {
    sample = await SampleInBrowser.start();
    for (const preview of await sample.app.get(EmailWorkflowService).previewTemplates()) {
      if (preview.rendered) subjects.set(preview.locale && preview.locale !== 'en' ? `${preview.name}.${preview.locale}` : preview.name, preview.rendered.subject);
    }
  });

  afterAll(async () => {
    await sample?.close();
  });

  beforeEach(async () => {
    browserErrors = [];
    contexts = [];
    page = await newDevice();
  });

  afterEach(async () => {
    for (const context of contexts) await context.close();
    expect(browserErrors).toEqual([]);
  });

  /** A page in a browser context of its own: another device, with its own session cookie. */
  async function newDevice(): Promise<Page> {
    const opened = await sample.newPage(browserErrors);
    contexts.push(opened.context);
    return opened.page;
  }

  /** The subject of a built-in template in a locale (English by default), as a pattern (the inbox row holds more). */
  function subject(template: string, locale?: string): RegExp {
    const text = subjects.get(locale ? `${template}.${locale}` : template);
    if (!text) throw new Error(`no preview of ${template} ${locale ?? ''}`);
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }

  /** The one-time code of an email: the run of 6 digits standing on a line of its own in the text part. */
  function codeIn(email: CaughtEmail): string {
    const code = /^\s*(\d{6})\s*$/m.exec(email.text ?? '')?.[1];
    if (!code) throw new Error(`no code in "${email.subject}"`);
    return code;
  }

  /** The sign-in form's second button, which needs no password. */
  async function askForSignInEmail(target: Page, email: string): Promise<void> {
    await target.goto(`${sample.base}/sign-in`);
    await target.getByLabel('Email').fill(email);
    await target.getByRole('button', { name: 'Email me a sign-in link or code' }).click();
    await target.waitForLoadState();
  }

  async function userWith(name: string, email: string, password: string): Promise<void> {
    await sample.app.get(UsersStore).create(name, email, password);
  }

  it('sign in by link: sign-in page → check inbox → email → GET page (a scanner uses nothing) → "Sign me in" → account, verified; used twice → refused', async () => {
    const shot = screenshots('sign-in-link');
    const email = 'mary@example.com';
    await userWith('Mary Jackson', email, 'wind-tunnel-1958');

    // An unknown address gets the same page, and no email.
    await askForSignInEmail(page, 'nobody-here@example.com');
    expect(await page.locator('h1').textContent()).toBe('Check your inbox');
    const unknownAnswer = (await page.locator('main p').first().textContent())!.replace('nobody-here@example.com', '<address>');

    await askForSignInEmail(page, email);
    expect(await page.locator('h1').textContent()).toBe('Check your inbox');
    expect((await page.locator('main p').first().textContent())!.replace(email, '<address>')).toBe(unknownAnswer);
    await shot(page, 'check-inbox');

    await sample.openEmail(page, email, subject('sign-in'));
    await shot(page, 'sign-in-email');
    const link = linkIn((await sample.caught(email, subject('sign-in'))).html ?? '', `${sample.base}/sign-in/link?token=`);
    expect(link).toBeDefined();
    for (let i = 0; i < 2; i += 1) {
      const scanned = await fetch(link!, { redirect: 'manual' });
      expect(scanned.status).toBe(200);
      expect(await scanned.text()).toContain('Sign me in');
    }

    const landing = await clickInEmail(page, /^Sign in$/);
    expect(new URL(landing.url()).pathname).toBe('/sign-in/link');
    expect(await landing.locator('h1').textContent()).toBe('Sign in to Sample App');
    await shot(landing, 'link-landing');
    await landing.getByRole('button', { name: 'Sign me in' }).click();
    await landing.waitForURL(/\/account\?notice=signed-in$/);
    expect(await landing.locator('h1').textContent()).toBe('Hello, Mary Jackson');
    // The link proved the address, as a verification link would have.
    expect(await landing.getByTestId('email-status').textContent()).toBe('Email verified');
    await shot(landing, 'signed-in');

    // Used: the GET page says so, on this device and on another one, and the POST signs nobody in.
    const other = await newDevice();
    const again = await other.goto(link!);
    expect(again?.status()).toBe(400);
    expect(await other.locator('h1').textContent()).toBe('This link was already used');
    expect(await other.getByRole('link', { name: 'Ask for a new link' }).count()).toBe(1);
    await shot(other, 'link-used');
    const replay = await fetch(`${sample.base}/sign-in/link`, { method: 'POST', body: new URLSearchParams({ token: new URL(link!).searchParams.get('token')! }), redirect: 'manual' });
    // Refused, and sent back (POST-redirect-GET) to the link's page, which says why; no session cookie.
    expect(replay.status).toBe(303);
    expect(new URL(replay.headers.get('location')!, sample.base).pathname).toBe('/sign-in/link');
    expect(replay.headers.get('set-cookie') ?? '').not.toMatch(/(^|, )sid=/);

    expect(sample.inbox.messages().filter((message) => message.to.includes('nobody-here@example.com'))).toEqual([]);
  });

  it('sign in by code: the code from the email, typed on the check-inbox page; a wrong one is refused first; the link of that email is then void', async () => {
    const shot = screenshots('sign-in-code');
    const email = 'dorothy@example.com';
    await userWith('Dorothy Vaughan', email, 'fortran-for-all');

    await askForSignInEmail(page, email);
    const mail = await sample.caught(email, subject('sign-in'));
    const code = codeIn(mail);
    const link = linkIn(mail.html ?? '', `${sample.base}/sign-in/link?token=`);

    expect(await page.getByLabel('Email').inputValue()).toBe(email);
    const wrong = code === '000000' ? '000001' : '000000';
    await page.getByLabel('Code').fill(wrong);
    const refused = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in with this code' }).click();
    // POST-redirect-GET: the refusal is shown by the page's GET, so Back never re-sends the code.
    expect((await refused).status()).toBe(303);
    await page.waitForLoadState();
    expect(await page.getByRole('alert').textContent()).toContain('That code does not work');
    await shot(page, 'wrong-code');

    await page.getByLabel('Code').fill(code);
    await shot(page, 'code-entered');
    await page.getByRole('button', { name: 'Sign in with this code' }).click();
    await page.waitForURL(/\/account\?notice=signed-in$/);
    expect(await page.locator('h1').textContent()).toBe('Hello, Dorothy Vaughan');
    await shot(page, 'signed-in');

    // The code and the link were siblings: one used, the other is void.
    const other = await newDevice();
    const voided = await other.goto(link!);
    expect(voided?.status()).toBe(400);
    expect(await other.locator('h1').textContent()).toBe('This link has expired');
    expect(await other.getByRole('button', { name: 'Sign me in' }).count()).toBe(0);
    await shot(other, 'link-void-after-code');
  });

  it('the new-sign-in notice arrives after a password sign-in, says where from, and links to the secure-account page', async () => {
    const shot = screenshots('new-sign-in');
    const email = 'annie@example.com';
    await userWith('Annie Easley', email, 'centaur-rocket');
    await page.goto(`${sample.base}/sign-in`);
    await signIn(page, email, 'centaur-rocket');
    expect(new URL(page.url()).pathname).toBe('/account');

    const notice = await sample.caught(email, subject('new-sign-in'));
    expect(notice.text).toContain('127.0.0.1');
    // The device as bowser reads Chromium's User-Agent, never the header itself (issue 25).
    expect(notice.text).toContain('Device: Chrome on Linux');
    expect(notice.text).not.toContain('Mozilla');
    await sample.openEmail(page, email, subject('new-sign-in'));
    await shot(page, 'notice-email');
    const secure = await clickInEmail(page, /Secure my account/);
    expect(new URL(secure.url()).pathname).toBe('/secure-account');
    expect(await secure.locator('h1').textContent()).toBe('Secure your account');
    expect(await secure.getByRole('link', { name: 'Choose a new password' }).getAttribute('href')).toBe('/forgot-password');
    await shot(secure, 'secure-account');
  });

  it('change email → confirm from the new inbox → "this wasn\'t me" from the old inbox → old address back, every session ended', async () => {
    const shot = screenshots('email-change');
    const oldEmail = 'christine@example.com';
    const newEmail = 'christine.darden@example.org';
    await userWith('Christine Darden', oldEmail, 'sonic-boom-1967');
    await page.goto(`${sample.base}/sign-in`);
    await signIn(page, oldEmail, 'sonic-boom-1967');
    // A second device signed in too: the revert must end its session as well.
    const laptop = await newDevice();
    await laptop.goto(`${sample.base}/sign-in`);
    await signIn(laptop, oldEmail, 'sonic-boom-1967');
    expect(new URL(laptop.url()).pathname).toBe('/account');

    await page.goto(`${sample.base}/account`);
    await page.getByLabel('New address').fill(newEmail);
    await shot(page, 'account-form');
    await page.getByRole('button', { name: 'Send a confirmation link' }).click();
    expect(await page.locator('h1').textContent()).toBe('Check your new inbox');
    expect(await page.locator('main').textContent()).toContain(newEmail);
    await shot(page, 'check-new-inbox');

    await sample.openEmail(page, newEmail, subject('confirm-email-change'));
    await shot(page, 'confirm-email');
    const confirm = await clickInEmail(page, /Confirm new address/);
    expect(new URL(confirm.url()).pathname).toBe('/confirm-email-change');
    expect(await confirm.locator('h1').textContent()).toBe('Confirm your new email address');
    await shot(confirm, 'confirm-landing');
    await confirm.getByRole('button', { name: 'Use my new address' }).click();
    await confirm.waitForURL(/\/account\?notice=email-changed$/);
    expect(await confirm.getByTestId('account-email').textContent()).toBe(newEmail);
    await shot(confirm, 'account-new-address');

    await sample.openEmail(confirm, oldEmail, subject('email-change-requested'));
    expect(await confirm.getByTestId('email-to').textContent()).toContain(oldEmail);
    await shot(confirm, 'old-inbox-notice');
    const revert = await clickInEmail(confirm, /undo the change/);
    const revertUrl = revert.url();
    expect(new URL(revertUrl).pathname).toBe('/revert-email-change');
    expect(await revert.locator('h1').textContent()).toBe('Undo the change to your email address');
    await shot(revert, 'revert-landing');
    await revert.getByRole('button', { name: 'Put my old address back' }).click();
    await revert.waitForURL(/\/sign-in\?notice=email-change-reverted$/);
    expect(await revert.getByRole('alert').textContent()).toContain('Your previous email address is back');
    expect(await revert.getByRole('link', { name: 'Choose a new password' }).getAttribute('href')).toBe('/forgot-password');
    await shot(revert, 'reverted-signed-out');

    // Every session ended: this browser's and the laptop's.
    for (const device of [revert, laptop]) {
      await device.goto(`${sample.base}/account`);
      expect(new URL(device.url()).pathname + new URL(device.url()).search).toBe('/sign-in?notice=sign-in-required');
    }

    // The old address signs in again; the new one no longer does.
    await signIn(revert, newEmail, 'sonic-boom-1967');
    expect(new URL(revert.url()).pathname).toBe('/sign-in');
    await signIn(revert, oldEmail, 'sonic-boom-1967');
    expect(await revert.getByTestId('account-email').textContent()).toBe(oldEmail);
    await shot(revert, 'account-old-address');

    const used = await revert.goto(revertUrl);
    expect(used?.status()).toBe(400);
    expect(await revert.locator('h1').textContent()).toBe('This link was already used');
    await shot(revert, 'revert-link-used');
  });

  it('the language picked on the account page (fr) is used for the next email; sign-up takes one too (de)', async () => {
    const shot = screenshots('language');
    const email = 'evelyn@example.com';
    await userWith('Evelyn Boyd Granville', email, 'project-mercury');
    await page.goto(`${sample.base}/sign-in`);
    await signIn(page, email, 'project-mercury');
    // Before the switch the user's emails are in English.
    expect((await sample.caught(email, subject('new-sign-in'))).subject).toMatch(subject('new-sign-in'));

    await page.getByLabel('Language').selectOption({ label: 'Français' });
    await shot(page, 'account-language');
    await page.getByRole('button', { name: 'Save language' }).click();
    await page.waitForURL(/\/account\?notice=language-saved$/);
    expect(await page.getByTestId('account-language').textContent()).toBe('Français');
    expect(subject('verify-email', 'fr').source).not.toBe(subject('verify-email').source);
    await page.getByRole('button', { name: 'Send a new confirmation link' }).click();
    await page.waitForURL(/\/account\?notice=verification-sent$/);
    await sample.openEmail(page, email, subject('verify-email', 'fr'));
    await shot(page, 'french-email');

    const newcomer = 'lise@example.com';
    await page.goto(`${sample.base}/sign-up`);
    await page.getByLabel('Name').fill('Lise Meitner');
    await page.getByLabel('Email').fill(newcomer);
    await page.getByLabel('Password').fill('kernspaltung-1938');
    await page.getByLabel('Language').selectOption({ label: 'Deutsch' });
    await page.getByRole('button', { name: 'Sign up' }).click();
    expect(await page.locator('h1').textContent()).toBe('Check your inbox');
    expect((await sample.caught(newcomer, /./)).subject).toMatch(subject('verify-email', 'de'));
    await sample.openEmail(page, newcomer, subject('verify-email', 'de'));
    await shot(page, 'german-email');
  });
});
