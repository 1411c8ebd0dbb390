import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { bootDevInboxApp } from '../support/dev-inbox-app';
import type { DevInboxApp } from '../support/dev-inbox-app';
import { until } from '../support/wait';

// The dev inbox in Chromium on a phone-sized screen (360 × 740): an email sent while the page is open
// shows without a reload, nothing scrolls sideways, the subject link is on screen and takes the tap,
// dates follow the browser's locale, and an open page does not hold app.close() up.

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const PHONE = { width: 360, height: 740 };
/** Long enough to overflow a 360 px row if the page let it. */
const LONG_TO = 'ada.lovelace.analytical-engine-notes-1843@a-rather-long-subdomain.example.com';

/** The browser's globals as the evaluations below use them: this file compiles without the DOM library. */
interface InBrowser {
  marker?: string;
  document: {
    documentElement: { scrollWidth: number };
    elementFromPoint(x: number, y: number): { closest(selector: string): unknown } | null;
  };
}

const platforms = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
afterAll(() => browser?.close());

describe.each(platforms)('dev inbox in Chromium at 360 px on %s', (_platform, adapter) => {
  let booted: DevInboxApp;
  let context: BrowserContext;
  let errors: string[];

  beforeAll(async () => {
    booted = await bootDevInboxApp(adapter());
  });
  afterAll(async () => {
    await context?.close();
    await booted?.app.close();
  });

  async function phone(locale = 'en-US'): Promise<Page> {
    await context?.close();
    context = await browser.newContext({ viewport: PHONE, locale, timezoneId: 'UTC', hasTouch: true, isMobile: true });
    context.setDefaultTimeout(10_000);
    errors = [];
    context.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
    context.on('weberror', (error) => void errors.push(`uncaught: ${error.error().message}`));
    return context.newPage();
  }

  async function send(): Promise<void> {
    const before = booted.inbox.version;
    await booted.emails.send({ template: 'test-email', to: LONG_TO });
    await until(() => booted.inbox.version > before, 'the inbox to catch the email');
  }

  it('shows an email sent after the page opened, without a reload; no sideways scroll; the subject link takes the tap', async () => {
    booted.inbox.clear();
    const page = await phone();
    await page.goto(`${booted.origin}/dev/inbox`);
    await page.getByTestId('inbox-empty').waitFor();
    // Survives only if the document is never reloaded or navigated.
    await page.evaluate(() => ((globalThis as unknown as InBrowser).marker = 'same document'));

    await send();
    const row = page.getByTestId('inbox-row').first();
    await row.waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as unknown as InBrowser).marker)).toBe('same document');
    expect(await page.getByTestId('inbox-empty').count()).toBe(0);

    expect(await page.evaluate(() => (globalThis as unknown as InBrowser).document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    const link = row.getByTestId('inbox-row-subject').getByRole('link');
    const box = (await link.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
    expect(box.height).toBeGreaterThanOrEqual(24);
    // What is under the middle of the link is the link, not the To cell.
    const hit = await page.evaluate(({ x, y }) => Boolean((globalThis as unknown as InBrowser).document.elementFromPoint(x, y)?.closest('[data-testid="inbox-row-subject"] a')), {
      x: box.x + box.width / 2,
      y: box.y + box.height / 2,
    });
    expect(hit).toBe(true);
    const subject = (await link.textContent())!.trim();
    expect(subject).not.toBe('');

    await page.screenshot({ path: `test-artifacts/browser/dev-inbox-360-${_platform.toLowerCase()}.png`, fullPage: true });
    await link.tap();
    await page.getByTestId('email-subject').waitFor();
    expect(new URL(page.url()).pathname).toBe(`/dev/inbox/${booted.inbox.messages()[0].id}`);
    expect((await page.getByTestId('email-subject').textContent())!.trim()).toBe(subject);
    expect(await page.evaluate(() => (globalThis as unknown as InBrowser).document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
  });

  it('shows dates in the browser’s locale: en-US and de-DE differ, each in its own format', async () => {
    if (booted.inbox.messages().length === 0) await send();
    const iso = booted.inbox.messages()[0].receivedAt.toISOString();
    const shown: Record<string, string> = {};
    for (const locale of ['en-US', 'de-DE']) {
      const page = await phone(locale);
      await page.goto(`${booted.origin}/dev/inbox`);
      const time = page.locator(`time[datetime="${iso}"]`).first();
      await until(async () => !(await time.textContent())!.endsWith('UTC'), `the script to format the date in ${locale}`, 5_000);
      shown[locale] = (await time.textContent())!.replace(/\s/g, ' ');
      expect(await time.getAttribute('title')).toBe(iso);
    }
    const [date, clock] = [iso.slice(0, 10).split('-').map(Number), iso.slice(11, 19)];
    const [year, month, day] = date;
    const monthName = new Date(iso).toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
    expect(shown['en-US']).toMatch(new RegExp(`^${monthName} ${day}, ${year}, \\d{1,2}:${clock.slice(3)} (AM|PM)$`));
    expect(shown['de-DE']).toBe(`${String(day).padStart(2, '0')}.${String(month).padStart(2, '0')}.${year}, ${clock}`);
    expect(shown['en-US']).not.toBe(shown['de-DE']);
  });

  it('an open, polling inbox page does not hold app.close() up', async () => {
    const page = await phone();
    await page.goto(`${booted.origin}/dev/inbox`);
    // One poll done: the page's keep-alive connection to the app exists.
    await page.waitForResponse((response) => response.request().headers()['x-dev-inbox-version'] !== undefined, { timeout: 5_000 });
    const started = Date.now();
    const closed = await Promise.race([booted.app.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 5_000).unref())]);
    expect(closed).toBe('closed');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
