import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevInboxInProductionError, EmailWorkflowModule, EmailWorkflowService, SendEmailRequest } from 'nestjs-email-workflow';
import { CaughtEmail, DevInbox, EmailDevInboxModule, EmailDevInboxOptions } from 'nestjs-email-workflow/dev-inbox';
import { localOptions } from '../support/module-options';
import { decodeEntities } from '../support/smtp-sink';
import { until } from '../support/wait';

const ROOT = join(__dirname, '..', '..');
const BUILT_INS = [
  'confirm-email-change',
  'email-change-requested',
  'new-sign-in',
  'password-changed',
  'reset-password',
  'sign-in',
  'test-email',
  'verify-email',
  'welcome',
];
const SANDBOX = 'allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation';

const WELCOME_OVERRIDE = `---
subject: Our welcome, {{name}}
---
<mj-section>
  <mj-column>
    <mj-text>Welcome aboard, {{name}}. Version one.</mj-text>
  </mj-column>
</mj-section>
`;

/** A template of the app's own, with a link, to send through the inbox. */
const HELLO_TEMPLATE = `---
subject: Hello {{name}}
---
<mj-section>
  <mj-column>
    <mj-text>Hi {{name}}, your order is ready.</mj-text>
    <mj-button href="{{link}}">See your order</mj-button>
  </mj-column>
</mj-section>
`;

interface Booted {
  app: INestApplication;
  inbox: DevInbox;
  emails: EmailWorkflowService;
  /** The app's origin, `http://127.0.0.1:<port>`. */
  origin: string;
}

/** The documented wiring: the global dev inbox injected into EmailWorkflowModule's options factory, over real HTTP. */
async function boot(templatesDir: string, inboxOptions?: EmailDevInboxOptions, globalPrefix?: string): Promise<Booted> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      EmailDevInboxModule.forRoot(inboxOptions),
      EmailWorkflowModule.forRootAsync({
        inject: [DevInbox],
        useFactory: (inbox: DevInbox) => ({ ...localOptions(0), transport: inbox.transport(), templates: { dir: templatesDir }, queue: false }),
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  if (globalPrefix) app.setGlobalPrefix(globalPrefix);
  await app.listen(0, '127.0.0.1');
  return { app, inbox: app.get(DevInbox), emails: app.get(EmailWorkflowService), origin: await app.getUrl() };
}

/** Sends one email and resolves once the inbox caught it, so emails arrive in the order they are sent. */
async function sendAndCatch(booted: Booted, request: SendEmailRequest, timeoutMs = 10_000): Promise<CaughtEmail> {
  const { messageId } = await booted.emails.send(request);
  const find = () => booted.inbox.messages().find((email) => email.raw.includes(`Message-ID: ${messageId}`));
  await until(() => find() !== undefined, `the inbox to catch ${messageId}`, timeoutMs);
  return find() as CaughtEmail;
}

async function getPage(url: string): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text(), headers: response.headers };
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

/** The `<section>` carrying `data-testid="<testId>"`, to its end. */
function sectionByTestId(html: string, testId: string): string {
  const start = html.indexOf(`data-testid="${testId}"`);
  if (start < 0) throw new Error(`no section ${testId}`);
  return html.slice(start, html.indexOf('</section>', start));
}

/** The preview section of one template and locale on the templates page. */
function previewOf(page: string, name: string, locale = ''): string {
  const start = page.indexOf(`data-template="${name}" data-locale="${locale}"`);
  if (start < 0) throw new Error(`no preview of ${name} (${locale || 'no locale'})`);
  return page.slice(start, page.indexOf('</section>', start));
}

describe('EmailDevInboxModule', () => {
  let templatesDir: string;
  let booted: Booted;

  beforeAll(async () => {
    templatesDir = mkdtempSync(join(tmpdir(), 'dev-inbox-templates-'));
    writeFileSync(join(templatesDir, 'welcome.mjml'), WELCOME_OVERRIDE);
    writeFileSync(join(templatesDir, 'hello.mjml'), HELLO_TEMPLATE);
    booted = await boot(templatesDir);
  });

  afterAll(async () => {
    await booted?.app.close();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    booted.inbox.clear();
  });

  describe('inbox', () => {
    it('is injectable into forRootAsync and catches what EmailWorkflowService sends', async () => {
      expect(booted.inbox.transport()).toEqual({ host: '127.0.0.1', port: expect.any(Number), security: 'none', pool: false });
      const email = await sendAndCatch(booted, { template: 'test-email', to: { address: 'ada@example.test', name: 'Ada' } });
      expect(booted.inbox.messages()).toEqual([email]);
      expect(email).toMatchObject({ from: 'Acme <no-reply@acme.test>', to: 'Ada <ada@example.test>', subject: 'Test email from Acme' });
      expect(email.receivedAt).toBeInstanceOf(Date);
      expect(email.html).toContain('It works');
      expect(email.text).toContain('It works');
      expect(email.raw).toContain('Subject: Test email from Acme');
    });

    it('lists caught emails newest first with time, recipient and subject', async () => {
      await sendAndCatch(booted, { template: 'test-email', to: 'ada@example.test' });
      await sendAndCatch(booted, { template: 'hello', to: 'grace@example.test', context: { name: 'Grace', link: 'https://shop.example.com/orders/7' } });
      const caught = booted.inbox.messages();
      expect(caught.map((email) => email.subject)).toEqual(['Hello Grace', 'Test email from Acme']);

      const list = await getPage(`${booted.origin}/dev/inbox`);
      expect(list.status).toBe(200);
      expect(list.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const rows = elementsByTestId(list.body, 'inbox-row');
      expect(rows.map((row) => attribute(row, 'data-id'))).toEqual(caught.map((email) => email.id));
      expect(elementsByTestId(list.body, 'inbox-row-to').map((cell) => cell.replace(/<[^>]+>/g, ''))).toEqual([
        'grace@example.test',
        'ada@example.test',
      ]);
      expect(elementsByTestId(list.body, 'inbox-row-subject').map((cell) => cell.replace(/<[^>]+>/g, ''))).toEqual([
        'Hello Grace',
        'Test email from Acme',
      ]);
      expect(list.body).toMatch(/<time datetime="\d{4}-\d\d-\d\dT/);
    });

    it('shows an email’s text and raw source, and serves its HTML (with the link) to a sandboxed frame', async () => {
      const link = 'https://shop.example.com/orders/7?ref=mail&x=1';
      const email = await sendAndCatch(booted, { template: 'hello', to: 'grace@example.test', context: { name: 'Grace', link } });
      const listUrl = `${booted.origin}/dev/inbox`;
      const list = await getPage(listUrl);
      const detailUrl = new URL(attribute(elementsByTestId(list.body, 'inbox-row-subject')[0], 'href'), listUrl);
      expect(detailUrl.pathname).toBe(`/dev/inbox/${email.id}`);

      const detail = await getPage(detailUrl.href);
      expect(detail.status).toBe(200);
      expect(detail.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(sectionByTestId(detail.body, 'view-text')).toContain('Hi Grace, your order is ready.');
      const raw = sectionByTestId(detail.body, 'view-raw');
      expect(raw).toContain(`Subject: Hello Grace`);
      expect(raw).toContain('Content-Type: multipart/alternative');
      for (const tab of ['tab-html', 'tab-text', 'tab-raw']) expect(elementsByTestId(detail.body, tab)).toHaveLength(1);
      expect(new URL(attribute(elementsByTestId(detail.body, 'back-to-inbox')[0], 'href'), detailUrl).href).toBe(listUrl);

      const frame = elementsByTestId(detail.body, 'email-html-frame')[0];
      expect(attribute(frame, 'sandbox')).toBe(SANDBOX);
      const htmlUrl = new URL(attribute(frame, 'src'), detailUrl);
      expect(htmlUrl.pathname).toBe(`/dev/inbox/${email.id}/html`);
      const html = await getPage(htmlUrl.href);
      expect(html.status).toBe(200);
      expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(html.headers.get('content-security-policy')).toBe(`sandbox ${SANDBOX}`);
      expect([...html.body.matchAll(/href="([^"]+)"/g)].map((match) => decodeEntities(match[1]))).toContain(link);
      expect(html.body).toContain('<base target="_blank">');
    });

    it('escapes HTML from a subject and a recipient name on its pages', async () => {
      const email = await sendAndCatch(booted, {
        template: 'hello',
        to: { address: 'ada@example.test', name: '<b onclick="x()">Ada</b>' },
        context: { name: '<img src=x onerror=alert(1)>', link: 'https://shop.example.com' },
      });
      expect(email.subject).toBe('Hello <img src=x onerror=alert(1)>');
      const list = await getPage(`${booted.origin}/dev/inbox`);
      const detail = await getPage(`${booted.origin}/dev/inbox/${email.id}`);
      for (const page of [list.body, detail.body]) {
        expect(page).not.toContain('<img src=x');
        expect(page).not.toContain('<b onclick');
        expect(page).toContain('Hello &lt;img src=x onerror=alert(1)&gt;');
        expect(page).toContain('&lt;b onclick=&quot;x()&quot;&gt;Ada&lt;/b&gt; &lt;ada@example.test&gt;');
      }
    });

    it('answers 404 for an unknown email, and clear() empties the inbox', async () => {
      const email = await sendAndCatch(booted, { template: 'test-email', to: 'ada@example.test' });
      expect((await getPage(`${booted.origin}/dev/inbox/no-such-id`)).status).toBe(404);
      expect((await getPage(`${booted.origin}/dev/inbox/no-such-id/html`)).status).toBe(404);
      booted.inbox.clear();
      expect(booted.inbox.messages()).toEqual([]);
      expect((await getPage(`${booted.origin}/dev/inbox/${email.id}`)).status).toBe(404);
      const list = await getPage(`${booted.origin}/dev/inbox`);
      expect(elementsByTestId(list.body, 'inbox-row')).toEqual([]);
      expect(elementsByTestId(list.body, 'inbox-empty')).toHaveLength(1);
    });
  });

  describe('template previews', () => {
    const welcomeFile = (): string => join(templatesDir, 'welcome.mjml');

    afterEach(() => {
      writeFileSync(welcomeFile(), WELCOME_OVERRIDE);
    });

    it('lists every built-in and the templates.dir files, each at 600 and 375 px with subject and text', async () => {
      const page = await getPage(`${booted.origin}/dev/templates`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const previews = elementsByTestId(page.body, 'template-preview').map((section) => attribute(section, 'data-template'));
      // Each built-in in five languages, but welcome: the folder's welcome.mjml replaces it and its translations.
      expect([...new Set(previews)]).toEqual([...BUILT_INS, 'hello'].sort());
      expect(previews.filter((name) => name === 'verify-email')).toHaveLength(5);
      expect(previews.filter((name) => name === 'welcome')).toHaveLength(1);
      for (const name of new Set(previews)) {
        const preview = previewOf(page.body, name);
        expect(elementsByTestId(preview, 'template-error')).toEqual([]);
        const [desktop] = elementsByTestId(preview, 'preview-desktop');
        const [mobile] = elementsByTestId(preview, 'preview-mobile');
        expect(attribute(desktop, 'width')).toBe('600');
        expect(attribute(mobile, 'width')).toBe('375');
        for (const frame of [desktop, mobile]) {
          expect(attribute(frame, 'sandbox')).toBe(SANDBOX);
          expect(attribute(frame, 'srcdoc')).toMatch(/^<!doctype html>/i);
        }
        expect(elementsByTestId(preview, 'template-subject')).toHaveLength(1);
        expect(elementsByTestId(preview, 'template-text')).toHaveLength(1);
      }
      const welcome = previewOf(page.body, 'welcome');
      expect(welcome).toContain('templates.dir');
      expect(welcome).toContain('Our welcome, Ada Lovelace');
      expect(welcome).toContain('Welcome aboard, Ada Lovelace. Version one.');
      expect(previewOf(page.body, 'verify-email')).toContain('built-in');
    });

    it('shows an edited override on the next request, without a restart', async () => {
      writeFileSync(welcomeFile(), WELCOME_OVERRIDE.replace('Version one.', 'Version two, edited.'));
      const welcome = previewOf((await getPage(`${booted.origin}/dev/templates`)).body, 'welcome');
      expect(welcome).toContain('Welcome aboard, Ada Lovelace. Version two, edited.');
      expect(welcome).not.toContain('Version one.');
    });

    it('shows an error box for an override that does not compile, and still renders the others', async () => {
      writeFileSync(welcomeFile(), WELCOME_OVERRIDE.replace('<mj-column>', '<mj-colum>').replace('</mj-column>', '</mj-colum>'));
      const page = (await getPage(`${booted.origin}/dev/templates`)).body;
      const [error] = elementsByTestId(previewOf(page, 'welcome'), 'template-error');
      expect(error).toContain('mj-colum');
      expect(elementsByTestId(previewOf(page, 'welcome'), 'preview-desktop')).toEqual([]);
      for (const name of [...BUILT_INS.filter((builtIn) => builtIn !== 'welcome'), 'hello']) {
        const preview = previewOf(page, name);
        expect(elementsByTestId(preview, 'template-error')).toEqual([]);
        expect(elementsByTestId(preview, 'preview-desktop')).toHaveLength(1);
      }
    });
  });
});

describe('EmailDevInboxModule options and lifecycle', () => {
  it('serves its pages at the configured paths, links correctly under a global prefix and keeps maxMessages', async () => {
    const templatesDir = mkdtempSync(join(tmpdir(), 'dev-inbox-templates-'));
    const booted = await boot(templatesDir, { inboxPath: '/mail', templatesPath: '/mail-templates', maxMessages: 2 }, 'api');
    try {
      for (const name of ['Ada', 'Grace', 'Edsger']) {
        await sendAndCatch(booted, { template: 'welcome', to: `${name.toLowerCase()}@example.test`, context: { name } });
      }
      const caught = booted.inbox.messages();
      expect(caught.map((email) => email.to)).toEqual(['edsger@example.test', 'grace@example.test']);

      const listUrl = `${booted.origin}/api/mail`;
      const list = await getPage(listUrl);
      expect(list.status).toBe(200);
      const detailUrl = new URL(attribute(elementsByTestId(list.body, 'inbox-row-subject')[0], 'href'), listUrl);
      expect(detailUrl.pathname).toBe(`/api/mail/${caught[0].id}`);
      const detail = await getPage(detailUrl.href);
      expect(detail.status).toBe(200);
      const htmlUrl = new URL(attribute(elementsByTestId(detail.body, 'email-html-frame')[0], 'src'), detailUrl);
      expect((await getPage(htmlUrl.href)).status).toBe(200);
      expect(new URL(attribute(elementsByTestId(detail.body, 'back-to-inbox')[0], 'href'), detailUrl).href).toBe(listUrl);
      expect((await getPage(`${booted.origin}/api/mail-templates`)).body).toContain('data-template="welcome"');
      expect((await getPage(`${booted.origin}/api/dev/inbox`)).status).toBe(404);
    } finally {
      await booted.app.close();
      rmSync(templatesDir, { recursive: true, force: true });
    }
  });

  it('closes its SMTP catcher when the app shuts down', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [EmailDevInboxModule.forRoot()] }).compile();
    const port = moduleRef.get(DevInbox).transport().port as number;
    await moduleRef.close();
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  /** Runs `body` with NODE_ENV set to `value` (deleted for undefined), restoring it afterwards. */
  async function withNodeEnv<T>(value: string | undefined, body: () => Promise<T>): Promise<T> {
    const previous = process.env.NODE_ENV;
    if (value === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = value;
    try {
      return await body();
    } finally {
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
    }
  }

  it.each([['production'], [undefined], ['Production'], ['prod'], ['staging'], [''], [' production ']])(
    'refuses to start with NODE_ENV=%p, saying to set NODE_ENV=development',
    async (nodeEnv) => {
      const error = await withNodeEnv(nodeEnv, () =>
        Test.createTestingModule({ imports: [EmailDevInboxModule.forRoot()] })
          .compile()
          .catch((e: unknown) => e),
      );
      expect(error).toBeInstanceOf(DevInboxInProductionError);
      await expect(withNodeEnv(nodeEnv, async () => EmailDevInboxModule.isAllowed())).resolves.toBe(false);
      expect((error as DevInboxInProductionError).code).toBe('EMAIL_WORKFLOW_DEV_INBOX_IN_PRODUCTION');
      expect((error as Error).message).toContain('Fix: import EmailDevInboxModule only in development');
      expect((error as Error).message).toContain('set NODE_ENV=development');
      expect((error as Error).message).toContain(nodeEnv === undefined ? 'NODE_ENV is unset' : `NODE_ENV is ${JSON.stringify(nodeEnv)}`);
    },
  );

  it.each([['development'], ['test'], [' Development '], ['TEST']])('starts with NODE_ENV=%p', async (nodeEnv) => {
    const moduleRef = await withNodeEnv(nodeEnv, () => Test.createTestingModule({ imports: [EmailDevInboxModule.forRoot()] }).compile());
    try {
      expect(moduleRef.get(DevInbox).transport().port).toBeGreaterThan(0);
      expect(EmailDevInboxModule.isAllowed(nodeEnv)).toBe(true);
    } finally {
      await moduleRef.close();
    }
  });

  it('names the packages to install when smtp-server is missing', async () => {
    let error: unknown;
    await jest.isolateModulesAsync(async () => {
      jest.doMock('smtp-server', () => {
        throw Object.assign(new Error("Cannot find module 'smtp-server' from 'smtp.catcher.ts'"), { code: 'MODULE_NOT_FOUND' });
      });
      const { EmailDevInboxModule: IsolatedModule } = require('nestjs-email-workflow/dev-inbox') as typeof import('nestjs-email-workflow/dev-inbox');
      const { Test: IsolatedTest } = require('@nestjs/testing') as typeof import('@nestjs/testing');
      error = await IsolatedTest.createTestingModule({ imports: [IsolatedModule.forRoot()] })
        .compile()
        .catch((e: unknown) => e);
    });
    jest.dontMock('smtp-server');
    expect((error as { code?: string }).code).toBe('EMAIL_WORKFLOW_DEV_INBOX_DEPENDENCY_MISSING');
    expect((error as Error).message).toContain('npm install -D smtp-server mailparser');
  });

  it('does not load smtp-server or mailparser when an app imports the library', async () => {
    // dist/ is built from lib/ by the jest global setup.
    const script = `
      require('reflect-metadata');
      require('./dist/index.js');
      const loaded = Object.keys(require.cache).filter((file) => /node_modules[\\\\/](smtp-server|mailparser)[\\\\/]/.test(file));
      console.log(JSON.stringify(loaded));
    `;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { cwd: ROOT }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('lives behind nestjs-email-workflow/dev-inbox, whose import loads neither smtp-server nor mailparser', async () => {
    const script = `
      require('reflect-metadata');
      const main = require('nestjs-email-workflow');
      const devInbox = require('nestjs-email-workflow/dev-inbox');
      const loaded = Object.keys(require.cache).filter((file) => /node_modules[\\\\/](smtp-server|mailparser)[\\\\/]/.test(file));
      console.log(JSON.stringify({ main: Object.keys(main), devInbox: Object.keys(devInbox).sort(), loaded }));
    `;
    // Resolved through package.json "exports" (the package's self-reference), as an app resolves it.
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { cwd: ROOT }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    const report = JSON.parse(stdout) as { main: string[]; devInbox: string[]; loaded: string[] };
    expect(report.devInbox).toEqual(['DevInbox', 'EmailDevInboxModule']);
    expect(report.main).not.toContain('EmailDevInboxModule');
    expect(report.main).not.toContain('DevInbox');
    expect(report.loaded).toEqual([]);
  });
});
