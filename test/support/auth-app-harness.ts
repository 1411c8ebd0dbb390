import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import type { ParsedMail } from 'mailparser';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { AuthAppModule } from '../fixtures/auth-app/auth-app.module';
import { deleteKeys, uniquePrefix } from './redis';
import { linkIn, SmtpSink } from './smtp-sink';
import { until } from './wait';

// The jest hooks and HTTP helpers the end-to-end specs share, so each spec keeps only its own set-up.

/** Where the fixture app's emails link to (localOptions' links). */
const APP_LINKS = 'http://localhost:3000';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export type Overrides = Partial<EmailWorkflowModuleOptions> | ((prefix: string) => Partial<EmailWorkflowModuleOptions>);

export interface MailBench {
  /** One SMTP sink for the describe block, emptied before each test. */
  readonly sink: SmtpSink;
  /** A Redis key prefix of the current test alone; its keys are deleted after it. */
  readonly prefix: string;
}

/**
 * Registers the hooks of a describe block that sends real email over a real Redis: the sink is
 * started before all and closed after all; each test gets an empty sink and a fresh prefix. After
 * each test `cleanup` (closing what the test booted) runs before the prefix's keys are deleted, so
 * nothing writes them again.
 */
export function mailBench(cleanup: () => Promise<unknown> = async () => undefined): MailBench {
  let sink: SmtpSink | undefined;
  let prefix: string | undefined;
  beforeAll(async () => {
    sink = await SmtpSink.start();
  });
  afterAll(async () => {
    await sink?.close();
  });
  beforeEach(() => {
    if (sink) sink.messages.length = 0;
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    await cleanup();
    if (prefix) await deleteKeys(prefix);
  });
  return {
    get sink() {
      if (!sink) throw new Error('mailBench: the sink is only there inside the hooks and tests of its describe block.');
      return sink;
    },
    get prefix() {
      if (!prefix) throw new Error('mailBench: the prefix is only there inside a test of its describe block.');
      return prefix;
    },
  };
}

export interface AuthAppBench extends MailBench {
  /**
   * Boots test/fixtures/auth-app on the Redis queue of this test's prefix, listening on a free port,
   * with `defaults` then `overrides` (a function of the prefix, for options that name it).
   */
  startApp(overrides?: Overrides): Promise<INestApplication>;
  /** Makes `app` (say, a worker booted in place of the answering app) the one closed after the test. */
  adopt(app: INestApplication): INestApplication;
  /** A JSON request to the started app. */
  call(method: 'GET' | 'POST', path: string, body?: object): Promise<Answer>;
  /** The token of the first email to `address` that links to `page`, once it has arrived. */
  tokenSentTo(address: string, page: string): Promise<string>;
}

/** The mail bench plus the fixture auth app, closed after each test. */
export function authAppHarness(defaults: Partial<EmailWorkflowModuleOptions> = {}): AuthAppBench {
  let app: INestApplication | undefined;
  let base = '';
  const bench = mailBench(async () => {
    await app?.close();
    app = undefined;
  });
  return {
    get sink() {
      return bench.sink;
    },
    get prefix() {
      return bench.prefix;
    },
    async startApp(overrides = {}) {
      const { sink, prefix } = bench;
      const options = typeof overrides === 'function' ? overrides(prefix) : overrides;
      const moduleRef = await Test.createTestingModule({ imports: [AuthAppModule.withRedisQueue(sink.port, prefix, { ...defaults, ...options })] }).compile();
      app = moduleRef.createNestApplication({ logger: false });
      await app.listen(0, '127.0.0.1');
      base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
      return app;
    },
    adopt(adopted) {
      app = adopted;
      return adopted;
    },
    async call(method, path, body) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : undefined,
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async tokenSentTo(address, page) {
      const find = () => bench.sink.messages.find((mail) => recipientOf(mail) === address && tokenIn(mail, page) !== undefined);
      await until(() => find() !== undefined, `an email to ${address} with a ${page} link`);
      return tokenIn(find() as ParsedMail, page) as string;
    },
  };
}

/** The one address an email went to. */
export function recipientOf(mail: ParsedMail): string | undefined {
  return mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined;
}

/** The token of the email's link to `page` of the app, or undefined when it has none. */
export function tokenIn(mail: ParsedMail, page: string): string | undefined {
  const link = linkIn(mail.html as string, `${APP_LINKS}/${page}?token=`);
  return link === undefined ? undefined : (new URL(link).searchParams.get('token') as string);
}

/** The token of the email's link to `page`; throws when the email has none. */
export function tokenOf(mail: ParsedMail, page: string): string {
  const token = tokenIn(mail, page);
  if (token === undefined) throw new Error(`no ${page} link in the email`);
  return token;
}
