import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { DeliveryRecord, SendEmailRequest } from 'nestjs-email-workflow';
import { CaughtEmail, EmailDevInboxModule } from 'nestjs-email-workflow/dev-inbox';
import { bootDevInboxApp } from '../support/dev-inbox-app';
import type { DevInboxApp } from '../support/dev-inbox-app';
import { decodeEntities } from '../support/smtp-sink';
import { until } from '../support/wait';

type Booted = DevInboxApp;

function boot(adapter: ExpressAdapter | FastifyAdapter): Promise<Booted> {
  return bootDevInboxApp(adapter);
}

/** Sends one email and resolves once the log has the catcher's answer (`status`), and the inbox the email. */
async function sendAndLog(booted: Booted, request: SendEmailRequest): Promise<{ messageId: string; caught: CaughtEmail; record: DeliveryRecord }> {
  const { messageId, record } = await sendUntil(booted, request, 'sent');
  const caught = booted.inbox.messages().find((email) => email.messageId === messageId);
  if (!caught) throw new Error(`the inbox did not catch ${messageId}`);
  return { messageId, caught, record };
}

async function sendUntil(booted: Booted, request: SendEmailRequest, status: DeliveryRecord['status']): Promise<{ messageId: string; record: DeliveryRecord }> {
  const { messageId } = await booted.emails.send(request);
  let record: DeliveryRecord | undefined;
  await until(
    async () => (record = await booted.log.get(messageId))?.status === status,
    () => `the log to show ${messageId} ${status} (it shows ${record?.status ?? 'nothing'})`,
  );
  return { messageId, record: record! };
}

async function getPage(url: string | URL): Promise<{ status: number; body: string; headers: Headers; url: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text(), headers: response.headers, url: String(url) };
}

/** Every element carrying `data-testid="<testId>"`, from its opening tag to the end of its line. */
function elementsByTestId(html: string, testId: string): string[] {
  return [...html.matchAll(new RegExp(`<[^>]*data-testid="${testId}"[^\\n]*`, 'g'))].map((match) => match[0]);
}

function attribute(element: string, name: string): string {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(element);
  if (!match) throw new Error(`no ${name} attribute in ${element.slice(0, 200)}`);
  return decodeEntities(match[1]);
}

/** The text of an element (from `elementsByTestId`) up to its closing tag, tags stripped and entities decoded. */
function textOf(element: string): string {
  const tag = /^<(\w+)/.exec(element)![1];
  const end = element.indexOf(`</${tag}>`);
  return decodeEntities((end < 0 ? element : element.slice(0, end)).replace(/<[^>]+>/g, '')).trim();
}

/** The absolute URL of the `href` of the first element carrying `testId`, resolved as a browser does against `page`. */
function linkOf(page: { body: string; url: string }, testId: string): URL {
  const [element] = elementsByTestId(page.body, testId);
  if (!element) throw new Error(`no ${testId} on ${page.url}`);
  return new URL(attribute(element, 'href'), page.url);
}

/** Rows of the list as data: Message-ID, recipient, template, status and queue id, top to bottom. */
function rowsOf(html: string): Array<{ messageId: string; to: string; template: string; status: string; queueId: string }> {
  const cells = (testId: string) => elementsByTestId(html, testId).map(textOf);
  const [to, template, status, queueId] = ['log-row-to', 'log-row-template', 'log-row-status', 'log-row-queue-id'].map(cells);
  return elementsByTestId(html, 'log-row').map((row, i) => ({ messageId: attribute(row, 'data-message-id'), to: to[i], template: template[i], status: status[i], queueId: queueId[i] }));
}

const platforms = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('dev inbox Delivery log page on %s', (platform, adapter) => {
  let booted: Booted;
  let listUrl: string;

  beforeAll(async () => {
    booted = await boot(adapter());
    listUrl = `${booted.origin}/dev/delivery-log`;
  });

  afterAll(async () => {
    await booted?.app.close();
  });

  it('says what to do while the log is empty, and every dev inbox page links to the others', async () => {
    expect(booted.app.getHttpAdapter().getType()).toBe(platform.toLowerCase());
    const list = await getPage(listUrl);
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(list.headers.get('cache-control')).toBe('no-store');
    const [empty] = elementsByTestId(list.body, 'log-empty');
    expect(textOf(empty)).toMatch(/^No emails yet\. Send one, e\.g\. await emails\.send\(\{ template: 'test-email', to: '[^']+' \}\)/);
    expect(elementsByTestId(list.body, 'log-row')).toEqual([]);

    const { caught } = await sendAndLog(booted, { template: 'test-email', to: 'nav@example.test' });
    const pages = [`${booted.origin}/dev/inbox`, `${booted.origin}/dev/inbox/${caught.id}`, `${booted.origin}/dev/templates`, listUrl];
    for (const url of pages) {
      const page = await getPage(url);
      expect(page.status).toBe(200);
      expect(linkOf(page, 'nav-inbox').href).toBe(`${booted.origin}/dev/inbox`);
      expect(linkOf(page, 'nav-templates').href).toBe(`${booted.origin}/dev/templates`);
      expect(linkOf(page, 'nav-delivery-log').href).toBe(listUrl);
    }
    const detail = await getPage(linkOf(await getPage(listUrl), 'log-row-template'));
    expect(detail.status).toBe(200);
    expect(linkOf(detail, 'nav-delivery-log').href).toBe(listUrl);
    expect(linkOf(detail, 'nav-inbox').href).toBe(`${booted.origin}/dev/inbox`);
    expect(attribute(elementsByTestId(detail.body, 'nav-delivery-log')[0], 'aria-current')).toBe('page');
  });

  it('lists the log’s records newest first: time queued, recipient, template, status and the catcher’s queue id', async () => {
    const sent = [
      await sendAndLog(booted, { template: 'test-email', to: 'ada@example.test' }),
      await sendAndLog(booted, { template: 'welcome', to: 'grace@example.test', context: { name: 'Grace' } }),
      await sendAndLog(booted, { template: 'test-email', to: { address: 'ada@example.test', name: 'Ada' } }),
    ].reverse();
    // The catcher answers as Postfix does; its queue id is the caught email's id.
    for (const { record, caught } of sent) {
      const reply = record.steps.find((step) => step.event === 'sent')?.reply;
      expect(reply).toMatch(new RegExp(`^250 .*Ok: queued as ${caught.id}$`));
      expect(record.steps.find((step) => step.event === 'sent')?.queueId).toBe(caught.id);
    }

    const list = await getPage(listUrl);
    expect(list.status).toBe(200);
    const rows = rowsOf(list.body);
    expect(rows.slice(0, 3)).toEqual(
      sent.map(({ messageId, record, caught }) => ({ messageId, to: record.to, template: record.template, status: 'sent', queueId: caught.id })),
    );
    expect(rows.slice(0, 3).map((row) => row.to)).toEqual(['ada@example.test', 'grace@example.test', 'ada@example.test']);
    expect(rows.slice(0, 3).map((row) => row.template)).toEqual(['test-email', 'welcome', 'test-email']);
    // The same records, in the same order, as EmailDeliveryLog.recent gives them.
    expect(rows.map((row) => row.messageId)).toEqual((await booted.log.recent(100)).map((record) => record.messageId));
    expect(list.body).toContain(`<time datetime="${sent[0].record.queuedAt!.toISOString()}">`);
  });

  it('searches by recipient (find): only that address’s emails; a look-alike address with a Cyrillic letter shows none', async () => {
    const ada = [
      await sendAndLog(booted, { template: 'test-email', to: 'ada.search@example.test' }),
      await sendAndLog(booted, { template: 'welcome', to: 'ada.search@example.test', context: { name: 'Ada' } }),
    ].reverse();
    await sendAndLog(booted, { template: 'test-email', to: 'bob.search@example.test' });

    const list = await getPage(listUrl);
    const [form] = elementsByTestId(list.body, 'log-search');
    expect(attribute(form, 'method')).toBe('get');
    expect(new URL(attribute(form, 'action'), listUrl).href).toBe(listUrl);
    expect(list.body).toMatch(/<input id="log-to" name="to" type="search"/);

    // As the form submits it: GET <list>?to=<address>.
    const search = await getPage(`${listUrl}?${new URLSearchParams({ to: 'ada.search@example.test' })}`);
    expect(search.status).toBe(200);
    expect(rowsOf(search.body).map((row) => row.messageId)).toEqual(ada.map((email) => email.messageId));
    expect(rowsOf(search.body).every((row) => row.to === 'ada.search@example.test' && row.status === 'sent')).toBe(true);
    expect(textOf(elementsByTestId(search.body, 'log-searched')[0])).toBe('ada.search@example.test');
    expect(linkOf(search, 'log-show-all').href).toBe(listUrl);
    expect(search.body).toContain('value="ada.search@example.test"');
    // ASCII letter case is not part of the address as the log keys it.
    expect(rowsOf((await getPage(`${listUrl}?to=${encodeURIComponent('Ada.Search@Example.test')}`)).body).map((row) => row.messageId)).toEqual(
      ada.map((email) => email.messageId),
    );

    const lookAlike = 'ada.se\u0430rch@example.test'; // U+0430 CYRILLIC SMALL LETTER A in place of the Latin a
    const spoofed = await getPage(`${listUrl}?to=${encodeURIComponent(lookAlike)}`);
    expect(spoofed.status).toBe(200);
    expect(elementsByTestId(spoofed.body, 'log-row')).toEqual([]);
    expect(textOf(elementsByTestId(spoofed.body, 'log-empty')[0])).toContain(`No emails to ${lookAlike} in the log.`);
    expect(await booted.log.find({ to: lookAlike })).toEqual([]);

    const notAnAddress = await getPage(`${listUrl}?to=ada`);
    expect(notAnAddress.status).toBe(400);
    expect(textOf(elementsByTestId(notAnAddress.body, 'log-problem')[0])).toBe('“ada” is not an email address: enter one, e.g. ada@example.com.');
    // An empty search is the whole list.
    expect(rowsOf((await getPage(`${listUrl}?to=`)).body).length).toBeGreaterThanOrEqual(3);
  });

  it('shows one email’s timeline by its Message-ID, linked to the email the inbox caught', async () => {
    const { messageId, caught } = await sendAndLog(booted, { template: 'test-email', to: 'timeline@example.test' });
    const list = await getPage(`${listUrl}?to=timeline@example.test`);
    const detailUrl = linkOf(list, 'log-row-template');
    expect(detailUrl.pathname).toBe('/dev/delivery-log/email');
    expect(detailUrl.searchParams.get('id')).toBe(messageId);
    expect(detailUrl.search).toBe(`?id=${encodeURIComponent(messageId)}`);

    const detail = await getPage(detailUrl);
    expect(detail.status).toBe(200);
    expect(detail.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(textOf(elementsByTestId(detail.body, 'record-template')[0])).toBe('test-email');
    expect(textOf(elementsByTestId(detail.body, 'record-message-id')[0])).toBe(messageId);
    expect(textOf(elementsByTestId(detail.body, 'record-to')[0])).toBe('timeline@example.test');
    expect(linkOf(detail, 'record-to').href).toBe(`${listUrl}?to=${encodeURIComponent('timeline@example.test')}`);
    expect(elementsByTestId(detail.body, 'record-status')[0]).toContain('data-status="sent"');
    const steps = elementsByTestId(detail.body, 'step');
    expect(steps.map((step) => attribute(step, 'data-event'))).toEqual(['queued', 'sent']);
    expect(steps[1]).toContain('try 1');
    expect(textOf(elementsByTestId(steps[1], 'step-queue-id')[0])).toBe(caught.id);
    expect(textOf(elementsByTestId(steps[1], 'step-reply')[0])).toMatch(new RegExp(`^250 .*Ok: queued as ${caught.id}`));
    expect(linkOf(detail, 'back-to-log').href).toBe(listUrl);
    const caughtUrl = linkOf(detail, 'record-caught');
    expect(caughtUrl.href).toBe(`${booted.origin}/dev/inbox/${caught.id}`);
    expect((await getPage(caughtUrl)).status).toBe(200);
  });

  it('answers an unknown or missing Message-ID with a 404 page that leads back to the list', async () => {
    for (const query of [`?id=${encodeURIComponent('<no-such-email@acme.test>')}`, '', '?id=']) {
      const missing = await getPage(`${listUrl}/email${query}`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(elementsByTestId(missing.body, 'record-missing')).toHaveLength(1);
      expect(linkOf(missing, 'back-to-log').href).toBe(listUrl);
    }
    const missing = await getPage(`${listUrl}/email?id=${encodeURIComponent('<no-such-email@acme.test>')}`);
    expect(textOf(elementsByTestId(missing.body, 'record-missing')[0])).toContain('No email has the Message-ID <no-such-email@acme.test>.');
    expect(missing.body).toContain('&lt;no-such-email@acme.test&gt;');
  });

  it('escapes a recipient, template, reply and Message-ID holding <script>, and links a Message-ID of any characters', async () => {
    // A quoted local part may hold < and >: a valid address, sent for real (the catcher refuses it: 501).
    const address = '"<script>alert(1)</script>"@example.test';
    const { messageId } = await sendUntil(booted, { template: 'test-email', to: address }, 'failed');
    // Template names cannot hold <, and the catcher's replies are its own: a record written as the log's feed writes one.
    const oddId = `<"><script>alert(3)</script>+/?#&%=${'x'.repeat(120)}@acme.test>`;
    await booted.log.start({ messageId: oddId, to: 'escape@example.test', template: '<script>alert(2)</script>' }, 'queued');
    await booted.log.add(oddId, 'failed', { attempt: 1, responseCode: 550, enhancedCode: '5.7.1', reply: '550 5.7.1 <script>alert(4)</script>', reason: 'permanent' });

    const list = await getPage(listUrl);
    const search = await getPage(`${listUrl}?to=${encodeURIComponent(address)}`);
    const detail = await getPage(linkOf(search, 'log-row-template'));
    const oddRow = elementsByTestId(list.body, 'log-row').find((row) => attribute(row, 'data-message-id') === oddId);
    expect(oddRow).toBeDefined();
    const oddDetailUrl = new URL(attribute(elementsByTestId(list.body.slice(list.body.indexOf(oddRow!)), 'log-row-template')[0], 'href'), listUrl);
    expect(oddDetailUrl.searchParams.get('id')).toBe(oddId);
    const oddDetail = await getPage(oddDetailUrl);
    expect(oddDetail.status).toBe(200);
    const echoed = await getPage(`${listUrl}?to=${encodeURIComponent('<script>alert(5)</script>@example.test')}`);

    for (const page of [list, search, detail, oddDetail, echoed]) {
      // The one script is the pages' own, static one (dates in the browser's locale), last in <body>.
      const ownScript = /<script>\(function \(\) \{[\s\S]*?\}\)\(\);<\/script>\n<\/body>/;
      expect(page.body).toMatch(ownScript);
      expect(page.body.replace(ownScript, '</body>')).not.toMatch(/<script/i);
      expect(page.body.match(ownScript)![0]).not.toMatch(/alert/);
    }
    expect(rowsOf(search.body)).toEqual([{ messageId, to: address, template: 'test-email', status: 'failed', queueId: '—' }]);
    expect(textOf(elementsByTestId(detail.body, 'step-reply')[0])).toBe('The SMTP server refused the message for good at RCPT TO: 501 Error: Bad recipient address syntax');
    expect(search.body).toContain('&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;@example.test');
    expect(textOf(elementsByTestId(detail.body, 'record-to')[0])).toBe(address);
    expect(rowsOf(list.body).find((row) => row.messageId === oddId)).toEqual({ messageId: oddId, to: 'escape@example.test', template: '<script>alert(2)</script>', status: 'failed', queueId: '—' });
    expect(textOf(elementsByTestId(oddDetail.body, 'record-template')[0])).toBe('<script>alert(2)</script>');
    expect(textOf(elementsByTestId(oddDetail.body, 'record-message-id')[0])).toBe(oddId);
    expect(textOf(elementsByTestId(oddDetail.body, 'step-reply')[0])).toBe('550 5.7.1 <script>alert(4)</script>');
    expect(elementsByTestId(oddDetail.body, 'step').map((step) => attribute(step, 'data-event'))).toEqual(['queued', 'failed']);
    expect(oddDetail.body).toContain('550 5.7.1');
    expect(oddDetail.body).toContain('reason: permanent');
    expect(echoed.body).toContain('value="&lt;script&gt;alert(5)&lt;/script&gt;@example.test"');
  });
});

describe('dev inbox Delivery log page without EmailWorkflowModule', () => {
  it('says to import EmailWorkflowModule', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [EmailDevInboxModule.forRoot({ deliveryLogPath: '/mail-log' })] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const page = await getPage(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mail-log`);
      expect(page.status).toBe(200);
      expect(textOf(elementsByTestId(page.body, 'log-error')[0])).toContain('Import it beside EmailDevInboxModule.');
    } finally {
      await app.close();
    }
  });
});
