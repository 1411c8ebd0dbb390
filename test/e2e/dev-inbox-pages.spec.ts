import { ConsoleLogger, Logger } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { bootDevInboxApp } from '../support/dev-inbox-app';
import type { DevInboxApp } from '../support/dev-inbox-app';
import { CapturingLogger } from '../support/capturing-logger';
import { until } from '../support/wait';

// Stale ids answer an HTML page, not Nest's JSON (which, under the pages' text/html type, made the
// adapters warn "Content-Type doesn't match Reply body"), and the inbox's live-update poll.

const platforms = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('dev inbox pages on %s', (_platform, adapter) => {
  let booted: DevInboxApp;
  let logger: CapturingLogger;

  beforeAll(async () => {
    booted = await bootDevInboxApp(adapter());
  });
  beforeEach(() => {
    // After the boot: createNestApplication({ logger: false }) sets its own.
    logger = new CapturingLogger();
    Logger.overrideLogger(logger);
  });
  afterEach(() => Logger.overrideLogger(new ConsoleLogger()));
  afterAll(() => booted?.app.close());

  /** Reads every body to its end: a response left unread can keep its connection busy, and app.close() waiting. */
  async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: string }> {
    const response = await fetch(`${booted.origin}${path}`, { headers });
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
  }

  async function sendOne(): Promise<string> {
    const before = booted.inbox.version;
    await booted.emails.send({ template: 'test-email', to: 'ada@example.com' });
    await until(() => booted.inbox.version > before, 'the inbox to catch the email');
    return booted.inbox.messages()[0].id;
  }

  it('captures what Nest logs (the check below is not vacuous)', () => {
    Logger.warn('probe', 'Probe');
    expect(logger.warnings()).toEqual(['probe']);
  });

  it.each([
    ['an unknown email', '/dev/inbox/no-such-id', 'email-missing'],
    ['an unknown email’s HTML part', '/dev/inbox/no-such-id/html', undefined],
    ['an unknown delivery-log Message-ID', `/dev/delivery-log/email?id=${encodeURIComponent('<gone@example.com>')}`, undefined],
  ])('answers %s with a 404 HTML page and logs no warning', async (_what, path, testId) => {
    const { status, type, body } = await get(path);
    expect(status).toBe(404);
    expect(type).toMatch(/^text\/html/);
    expect(body).toMatch(/^<!doctype html>/i);
    expect(() => JSON.parse(body)).toThrow();
    if (testId) expect(body).toContain(`data-testid="${testId}"`);
    expect(logger.entries.filter((entry) => entry.level === 'warn' || entry.level === 'error')).toEqual([]);
  });

  it('escapes the id it echoes on the 404 page, and links back to the inbox', async () => {
    const { status, body } = await get(`/dev/inbox/${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    expect(status).toBe(404);
    expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(body).not.toContain('<img src=x');
    expect(body).toMatch(/<a href="\.\.\/inbox" data-testid="back-to-inbox">/);
  });

  it('an email removed by clear() answers 404 HTML, page and frame alike', async () => {
    const id = await sendOne();
    expect((await get(`/dev/inbox/${id}`)).status).toBe(200);
    booted.inbox.clear();
    for (const path of [`/dev/inbox/${id}`, `/dev/inbox/${id}/html`]) {
      const { status, type } = await get(path);
      expect([status, type]).toEqual([404, 'text/html; charset=utf-8']);
    }
    expect(logger.warnings()).toEqual([]);
  });

  it('answers the live poll 204 while the version shown is current, and the new page once an email lands', async () => {
    const version = /data-live-version="(\d+)"/.exec((await get('/dev/inbox')).body)?.[1];
    expect(version).toBe(String(booted.inbox.version));
    const unchanged = await get('/dev/inbox', { 'x-dev-inbox-version': version! });
    expect([unchanged.status, unchanged.body]).toEqual([204, '']);
    await sendOne();
    const { status, body } = await get('/dev/inbox', { 'x-dev-inbox-version': version! });
    expect(status).toBe(200);
    expect(body).toMatch(new RegExp(`data-live-version="${booted.inbox.version}"`));
    expect(booted.inbox.version).toBeGreaterThan(Number(version));
    expect(body).toContain('data-testid="inbox-row"');
  });

  it('renders dates as <time datetime="ISO"> with a readable UTC fallback for pages without scripts', async () => {
    await sendOne();
    const { body } = await get('/dev/inbox');
    const [, iso, shown] = /<time datetime="([^"]+)">([^<]+)<\/time>/.exec(body)!;
    expect(iso).toBe(booted.inbox.messages()[0].receivedAt.toISOString());
    expect(shown).toBe(`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`);
  });
});
