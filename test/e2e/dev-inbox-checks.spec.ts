/**
 * The message checks in the dev inbox, over real HTTP on Express and Fastify: each caught email shows its
 * template's findings (the list counts them, the email's page lists them, escaped), and the template
 * previews show each template's.
 */
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { SendEmailRequest } from 'nestjs-email-workflow';
import { CaughtEmail } from 'nestjs-email-workflow/dev-inbox';
import { bootDevInboxApp } from '../support/dev-inbox-app';
import type { DevInboxApp } from '../support/dev-inbox-app';
import { decodeEntities } from '../support/smtp-sink';
import { until } from '../support/wait';

const FIXTURES = join(__dirname, '..', 'fixtures', 'templates', 'message-checks');
const SCRIPT = '<script>alert(1)</script>';

type Booted = DevInboxApp;

function boot(adapter: ExpressAdapter | FastifyAdapter): Promise<Booted> {
  return bootDevInboxApp(adapter, { templates: { dir: FIXTURES } });
}

/** Sends through the workflow and resolves with the email the inbox caught, once the log says it was sent. */
async function sendAndCatch(booted: Booted, request: SendEmailRequest): Promise<CaughtEmail> {
  const { messageId } = await booted.emails.send(request);
  await until(async () => (await booted.log.get(messageId))?.status === 'sent', `${request.template} to be sent`);
  const caught = booted.inbox.messages().find((email) => email.messageId === messageId);
  if (!caught) throw new Error(`the inbox did not catch ${messageId}`);
  return caught;
}

async function getPage(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

/** The element carrying `data-testid="<testId>"` (or `data-id="<id>"`) from its opening tag to the end of its line. */
function lines(html: string, attribute: string): string[] {
  return [...html.matchAll(new RegExp(`<[^>]*${attribute}[^\\n]*`, 'g'))].map((match) => match[0]);
}

const textOf = (html: string) => decodeEntities(html.replace(/<[^>]+>/g, '')).trim();

/** The checks cell of the inbox row of the email `id`. */
function checksCellOf(list: string, id: string): string {
  const row = list.slice(list.indexOf(`data-id="${id}"`), list.indexOf('</tr>', list.indexOf(`data-id="${id}"`)));
  return lines(row, 'data-testid="inbox-row-checks"')[0];
}

/** One template's section of the previews page, up to the next one. */
function previewOf(page: string, template: string): string {
  const start = page.indexOf(`data-testid="template-preview" data-template="${template}" data-locale=""`);
  expect(start).toBeGreaterThan(0);
  const next = page.indexOf('data-testid="template-preview"', start + 1);
  return page.slice(start, next < 0 ? undefined : next);
}

const platforms = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('dev inbox message checks on %s', (platform, adapter) => {
  let booted: Booted;
  let flagged: CaughtEmail;
  let clean: CaughtEmail;
  let outside: CaughtEmail;

  beforeAll(async () => {
    booted = await boot(adapter());
    flagged = await sendAndCatch(booted, { template: 'http-link', to: 'ada@example.test', context: { name: 'Ada' } });
    clean = await sendAndCatch(booted, { template: 'welcome', to: 'grace@example.test', locale: 'fr-CA', context: { name: 'Grace', link: 'https://app.acme.test' } });
    // Not sent by the workflow: the delivery log does not know it, so neither does anyone its template.
    const direct = createTransport(booted.inbox.transport());
    await direct.sendMail({ from: 'other@acme.test', to: 'linus@example.test', subject: 'Sent around the workflow', text: 'Hi' });
    direct.close();
    await until(() => booted.inbox.messages().some((email) => email.subject === 'Sent around the workflow'), 'the direct email to be caught');
    outside = booted.inbox.messages().find((email) => email.subject === 'Sent around the workflow')!;
  });

  afterAll(async () => {
    await booted?.app.close();
  });

  it('the inbox list shows next to each email its template’s warnings, linked to them', async () => {
    expect(booted.app.getHttpAdapter().getType()).toBe(platform.toLowerCase());
    const listUrl = `${booted.origin}/dev/inbox`;
    const list = await getPage(listUrl);
    expect(list).toContain('<th>Checks</th>');

    const flaggedCell = checksCellOf(list, flagged.id);
    expect(textOf(flaggedCell)).toBe('⚠ 1 warning');
    const href = decodeEntities(/href="([^"]+)"/.exec(flaggedCell)![1]);
    expect(new URL(href, listUrl).href).toBe(`${booted.origin}/dev/inbox/${flagged.id}#checks`);
    expect(textOf(checksCellOf(list, clean.id))).toBe('✓ passes');
    expect(textOf(checksCellOf(list, outside.id))).toBe('—');
  });

  it('the email’s page lists its template’s findings with check id and fix, escaped', async () => {
    const page = await getPage(`${booted.origin}/dev/inbox/${flagged.id}`);
    const [heading] = lines(page, 'data-testid="email-checks"');
    expect(textOf(heading)).toBe('Message checks: 1 warning for template http-link');
    const findings = lines(page, 'data-testid="finding"');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toContain('data-check="link-https"');
    const text = textOf(findings[0]);
    expect(text).toMatch(/^link-https A link is not https: "http:\/\/promo\.example\.com\/deals\?week=48&tag=<script>alert\(1\)<\/script>"/);
    expect(text).toContain('Fix: Use https://promo.example.com/deals?week=48&tag=');
    // The URL reaches the page escaped, never as markup.
    expect(findings[0]).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain(SCRIPT);
  });

  it('an email whose template passes says so, naming the variant sent (fr for fr-CA); one the log does not know says why', async () => {
    const passing = await getPage(`${booted.origin}/dev/inbox/${clean.id}`);
    expect(textOf(lines(passing, 'data-testid="email-checks"')[0])).toBe('Message checks Template welcome (fr) passes every message check.');
    expect(lines(passing, 'data-testid="finding"')).toEqual([]);

    const unknown = await getPage(`${booted.origin}/dev/inbox/${outside.id}`);
    expect(lines(unknown, 'data-testid="email-checks"')).toEqual([]);
    expect(textOf(lines(unknown, 'data-testid="email-checks-unknown"')[0])).toContain('this email is not in the delivery log');
  });

  it('the template previews show each template’s findings, and none for the built-ins', async () => {
    const page = await getPage(`${booted.origin}/dev/templates`);
    const checksOf = (template: string) => lines(previewOf(page, template), 'data-testid="finding"').map((finding) => /data-check="([^"]+)"/.exec(finding)![1]);
    expect(checksOf('http-link')).toEqual(['link-https']);
    expect(checksOf('no-alt')).toEqual(['image-alt']);
    expect(checksOf('oversized')).toEqual(['html-size']);
    expect(checksOf('clean')).toEqual([]);
    expect(checksOf('welcome')).toEqual([]);
    expect(lines(page, 'data-testid="template-checks"')).toHaveLength(3);
    expect(page).not.toContain(SCRIPT);
  });
});
