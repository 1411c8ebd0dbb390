import { Page } from 'playwright-core';
import { CaughtEmail, DevInbox } from 'nestjs-email-workflow/dev-inbox';
import { UsersStore } from '../../sample-app/src/users.store';
import { linkIn } from '../support/smtp-sink';
import { clickInEmail, SampleInBrowser, sampleInBrowser, screenshots, signIn } from './sample-browser';

// The sample app's sign-up, password reset, link-scanner and limit flows in Chromium; the passwordless
// sign-in, email change and languages are in sample-flows.spec.ts, the template previews in
// sample-templates.spec.ts. Screenshots of every step go to test-artifacts/browser/.

describe('sample app in a real browser', () => {
  const bench = sampleInBrowser();
  let sample: SampleInBrowser;
  let app: SampleInBrowser['app'];
  let base: string;
  let inbox: DevInbox;
  let page: Page;

  beforeEach(() => {
    ({ sample, page } = bench);
    ({ app, base, inbox } = sample);
  });

  const openEmail = (target: Page, to: string, subject: RegExp): Promise<void> => sample.openEmail(target, to, subject);
  const caught = (to: string, subject: RegExp): Promise<CaughtEmail> => sample.caught(to, subject);

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
});
