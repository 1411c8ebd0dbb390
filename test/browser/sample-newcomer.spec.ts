import { EmailWorkflowService } from 'nestjs-email-workflow';
import { CaughtEmail } from 'nestjs-email-workflow/dev-inbox';
import type { Page, Request } from 'playwright-core';
import { UsersStore } from '../../sample-app/src/users.store';
import { until } from '../support/wait';
import { sampleInBrowser, screenshots, signIn } from './sample-browser';

// Issue 25, the sample's side: HTML error pages without logged stacks, POST-redirect-GET on the
// forms, a way out of a used-up code, a readable "Member since" and a spaces-only password refused.

describe('sample app in a real browser: what a newcomer trips over (issue 25)', () => {
  const bench = sampleInBrowser();
  /** What the server wrote to stdout and stderr during the current test (Nest's logger writes there). */
  let logged: string[];
  let restore: Array<() => void>;

  beforeEach(() => {
    logged = [];
    restore = [];
    for (const stream of [process.stdout, process.stderr]) {
      const write = jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
        logged.push(String(chunk));
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      });
      restore.push(() => write.mockRestore());
    }
  });

  afterEach(() => {
    for (const undo of restore) undo();
  });

  /** The log of the test so far, which must hold no stack trace and no error line. */
  function expectNothingLogged(): void {
    const text = logged.join('');
    expect(text).not.toMatch(/\n\s+at /);
    expect(text).not.toMatch(/ERROR|PayloadTooLargeError|SyntaxError/);
  }

  async function expectErrorPage(page: Page, heading: string): Promise<void> {
    expect(await page.locator('h1').textContent()).toBe(heading);
    const home = page.getByRole('link', { name: 'Go to the home page' });
    expect(await home.getAttribute('href')).toBe('/');
    expect(await page.locator('body').textContent()).not.toContain('statusCode');
  }

  it('GET /nope: an HTML 404 page with a link home, not Nest\'s JSON, and nothing logged', async () => {
    const { page, sample } = bench;
    const shot = screenshots('error-404');
    const answer = await page.goto(`${sample.base}/nope`);
    expect(answer?.status()).toBe(404);
    expect(answer?.headers()['content-type']).toMatch(/^text\/html/);
    expect(answer?.headers()['x-content-type-options']).toBe('nosniff');
    await expectErrorPage(page, 'Page not found');
    await shot(page, 'not-found');
    await page.getByRole('link', { name: 'Go to the home page' }).click();
    await page.waitForURL(`${sample.base}/`);
    expect(await page.locator('h1').textContent()).toBe('Sign-up emails, end to end');
    expectNothingLogged();
  });

  it('an oversized form POST: an HTML 413 page, and no PayloadTooLargeError stack logged', async () => {
    const { page, sample } = bench;
    const shot = screenshots('error-413');
    await page.goto(`${sample.base}/sign-up`);
    // More than the 100 kB express.urlencoded takes, in a field the browser really sends.
    await page.locator('input[name="name"]').evaluate((input: { removeAttribute(name: string): void; value: string }) => {
      input.removeAttribute('maxlength');
      input.value = 'x'.repeat(200_000);
    });
    await page.getByLabel('Email').fill('big@example.com');
    await page.getByLabel('Password').fill('a long enough password');
    const answer = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign up' }).click();
    expect((await answer).status()).toBe(413);
    await page.waitForLoadState();
    await expectErrorPage(page, 'That was too much to send');
    await shot(page, 'too-large');
    expect(sample.inbox.messages().filter((message) => message.to.includes('big@example.com'))).toEqual([]);
    expectNothingLogged();
  });

  it('malformed JSON: an HTML 400 page (not the parser\'s "Expected property name…"), nothing logged', async () => {
    const { page, sample } = bench;
    const answer = await fetch(`${sample.base}/sign-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{name: "Ada"' });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
    const body = await answer.text();
    expect(body).not.toContain('Expected property name');
    await page.setContent(body);
    expect(await page.locator('h1').textContent()).toBe('We could not read that request');
    expect(await page.getByRole('link', { name: 'Go to the home page' }).getAttribute('href')).toBe('/');
    expectNothingLogged();
  });

  it('a code used up by 5 wrong tries: the page says so, and "Send me a new code" delivers one that works', async () => {
    const { page, sample } = bench;
    const shot = screenshots('code-used-up');
    const email = 'katherine@example.com';
    await sample.app.get(UsersStore).create('Katherine Johnson', email, 'orbital-mechanics');
    const subject = (await sample.app.get(EmailWorkflowService).previewTemplates()).find((preview) => preview.name === 'sign-in' && (!preview.locale || preview.locale === 'en'))
      ?.rendered?.subject;
    expect(subject).toBeDefined();
    const signInMails = () => sample.inbox.messages().filter((message) => message.to.includes(email) && message.subject === subject);

    await page.goto(`${sample.base}/sign-in`);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Email me a sign-in link or code' }).click();
    await page.waitForURL(/\/check-inbox\?/);
    // Every code page offers a new code, before any try.
    expect(await page.getByRole('button', { name: 'Send me a new code' }).count()).toBe(1);
    await until(() => signInMails().length === 1, 'the first sign-in email', 10_000, 50);
    const first = signInMails()[0];
    const code = codeIn(first);
    const wrong = code === '000000' ? '000001' : '000000';

    for (let attempt = 1; attempt <= 5; attempt += 1) {
      await page.getByLabel('Code').fill(wrong);
      await page.getByRole('button', { name: 'Sign in with this code' }).click();
      await page.waitForLoadState();
      expect(new URL(page.url()).pathname).toBe('/check-inbox');
      const alert = await page.getByRole('alert').textContent();
      if (attempt < 5) expect(alert).toContain('That code does not work');
      else expect(alert).toContain('That code is used up: after 5 wrong tries');
    }
    expect(await page.locator('main p').first().textContent()).toContain('can no longer be used');
    expect(await page.locator('main').textContent()).not.toContain('on their way');
    await shot(page, 'used-up');

    // The library's limit stands: the right code is refused now too, and the page still says why.
    await page.getByLabel('Code').fill(code);
    await page.getByRole('button', { name: 'Sign in with this code' }).click();
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe('/check-inbox');
    expect(await page.getByRole('alert').textContent()).toContain('That code is used up');

    await page.getByRole('button', { name: 'Send me a new code' }).click();
    await page.waitForURL(/\/check-inbox\?.*again=1/);
    expect(await page.locator('main p').first().textContent()).toContain('a new email with a sign-in link and a 6-digit code is on its way');
    expect(await page.getByRole('alert').count()).toBe(0);
    await until(() => signInMails().length === 2, 'the second sign-in email', 10_000, 50);
    const second = signInMails().find((message) => message.id !== first.id)!;
    await shot(page, 'new-code-sent');

    expect(await page.getByLabel('Email').inputValue()).toBe(email);
    await page.getByLabel('Code').fill(codeIn(second));
    await page.getByRole('button', { name: 'Sign in with this code' }).click();
    await page.waitForURL(/\/account\?notice=signed-in$/);
    expect(await page.locator('h1').textContent()).toBe('Hello, Katherine Johnson');
  });

  it('Back after a refused form shows the form again, by GET: no "Confirm Form Resubmission", no POST re-sent', async () => {
    const { page, sample } = bench;
    const email = 'annie@example.com';
    await sample.app.get(UsersStore).create('Annie Easley', email, 'centaur-rocket-1962');
    const posts: Request[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(request);
    });

    await page.goto(`${sample.base}/sign-in`);
    await signIn(page, email, 'not her password');
    // Refused, then shown by a GET of the form: the typed address kept, the password not.
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(await page.getByRole('alert').textContent()).toBe('That email and password do not match an account.');
    expect(await page.getByLabel('Email').inputValue()).toBe(email);
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    expect(posts.map((request) => request.url())).toEqual([`${sample.base}/sign-in`]);
    expect((await posts[0].response())?.status()).toBe(303);

    await signIn(page, email, 'centaur-rocket-1962');
    await page.waitForURL(/\/account$/);
    expect(posts).toHaveLength(2);

    const back = await page.goBack();
    expect(back?.request().method()).toBe('GET');
    expect(back?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(await page.locator('h1').textContent()).toBe('Sign in');
    expect(await page.getByLabel('Password').count()).toBe(1);
    expect(posts).toHaveLength(2);
    // The message was shown once: a page seen again by Back is the plain form.
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('the account page shows "Member since" as a date a person reads, not an HTTP date', async () => {
    const { page, sample } = bench;
    const email = 'christine@example.com';
    const user = await sample.app.get(UsersStore).create('Christine Darden', email, 'sonic-boom-1983');
    await page.goto(`${sample.base}/sign-in`);
    await signIn(page, email, 'sonic-boom-1983');
    await page.waitForURL(/\/account$/);
    const since = (await page.getByTestId('member-since').textContent())!.trim();
    const created = user!.createdAt;
    const month = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][created.getUTCMonth()];
    expect(since).toBe(`${created.getUTCDate()} ${month} ${created.getUTCFullYear()}`);
    expect(since).not.toMatch(/GMT|\d\d:\d\d/);
    expect(await page.getByTestId('member-since').locator('time').getAttribute('datetime')).toBe(created.toISOString());
  });

  it('a password of only spaces is refused by the sign-up form with a clear message, and no account is made', async () => {
    const { page, sample } = bench;
    const email = 'mary.w@example.com';
    await page.goto(`${sample.base}/sign-up`);
    await page.getByLabel('Name').fill('Mary Winston');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('        ');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe('/sign-up');
    expect(await page.getByRole('alert').textContent()).toBe('That password is only spaces: use letters, digits or symbols too.');
    expect(await page.getByLabel('Name').inputValue()).toBe('Mary Winston');
    expect(await page.getByLabel('Email').inputValue()).toBe(email);
    expect(await sample.app.get(UsersStore).authenticate(email, '        ')).toBeUndefined();
    expect(sample.inbox.messages().filter((message) => message.to.includes(email))).toEqual([]);
  });
});

/** The one-time code of an email: the run of 6 digits standing on a line of its own in the text part. */
function codeIn(email: CaughtEmail): string {
  const code = /^\s*(\d{6})\s*$/m.exec(email.text ?? '')?.[1];
  if (!code) throw new Error(`no code in "${email.subject}"`);
  return code;
}
