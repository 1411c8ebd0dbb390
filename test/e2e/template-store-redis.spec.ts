/**
 * Stored templates across processes: the test process runs one app, a forked child process (the built
 * library, test/support/template-store-process.js) runs another on the same Redis prefix. They share
 * nothing but Redis: each has its own store object and connections, its own compiled-template cache.
 */
import Redis from 'ioredis';
import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { EmailEvent, EmailTemplates } from 'nestjs-email-workflow';
import type { EmailTemplateStore, StoredTemplate } from 'nestjs-email-workflow';
import { deleteKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';
import { SmtpSink } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';
import { BootedWorkflow, bootRedisWorkflow } from '../support/workflow';

const CONTEXT = { name: 'Ada', link: 'https://app.example.com/reset-password?token=t', expiresIn: '1 hour', brand: { name: 'Acme' } };
/** Long enough that only a reload can make either process see an edit within the test. */
const CACHE_TTL = 600_000;

function stored(words: string, version: string): StoredTemplate {
  return {
    subject: `${words} for {{brand.name}}`,
    mjml: `<mj-section><mj-column><mj-text>${words}, {{name}}.</mj-text><mj-button href="{{link}}">Reset</mj-button></mj-column></mj-section>`,
    version,
  };
}

/** The app's store over a Redis hash, through a connection of its own. */
class RedisHashStore implements EmailTemplateStore {
  calls = 0;
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}
  async get(name: string, locale: string): Promise<StoredTemplate | null> {
    this.calls++;
    const value = await this.redis.hget(this.key, `${name}:${locale}`);
    return value ? (JSON.parse(value) as StoredTemplate) : null;
  }
}

interface Rendered {
  subject?: string;
  text?: string;
  version?: string;
  origin?: string;
  storeCalls?: number;
  error?: string;
}

/** The child app: asked over IPC to render, reporting each email.sent. */
class TemplateProcess {
  readonly sent: Array<{ messageId: string; templateVersion?: string }> = [];
  private readonly waiting = new Map<number, (rendered: Rendered) => void>();
  private requests = 0;
  readonly ready: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (message: { type: string; request?: number; message?: string } & Rendered & { messageId: string; templateVersion?: string }) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'error') reject(new Error(message.message));
        else if (message.type === 'sent') this.sent.push({ messageId: message.messageId, templateVersion: message.templateVersion });
        else if (message.type === 'rendered') this.waiting.get(message.request!)?.(message);
      });
      child.once('exit', (code) => reject(new Error(`the template process exited (${code})`)));
    });
  }

  static start(settings: Record<string, unknown>): TemplateProcess {
    const child = fork(join(__dirname, '..', 'support', 'template-store-process.js'), [], {
      env: { ...process.env, TEMPLATE_PROCESS_SETTINGS: JSON.stringify(settings) },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new TemplateProcess(child);
  }

  render(name: string, locale = 'en'): Promise<Rendered> {
    const request = ++this.requests;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the template process did not answer within 5 s')), 5_000);
      this.waiting.set(request, (rendered) => {
        clearTimeout(timer);
        this.waiting.delete(request);
        resolve(rendered);
      });
      this.child.send({ type: 'render', request, name, locale });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    // Killed if it has not exited within 10 s; the timer is cleared so that it does not hold Jest open.
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    this.child.send({ type: 'close' });
    await exited;
    clearTimeout(killer);
  }
}

describe('stored templates with Redis: every process hears reload()', () => {
  let sink: SmtpSink;
  let prefix: string;
  let storeKey: string;
  let admin: Redis;
  let local: BootedWorkflow;
  let localStore: RedisHashStore;
  let storeConnection: Redis;
  let other: TemplateProcess;
  let templates: EmailTemplates;

  const save = (template: StoredTemplate) => admin.hset(storeKey, 'reset-password:en', JSON.stringify(template));

  beforeAll(async () => {
    sink = await SmtpSink.start();
    prefix = uniquePrefix();
    storeKey = `${prefix}:test-templates`;
    admin = new Redis(REDIS_URL);
    await save(stored('First words', 'v1'));
    storeConnection = new Redis(REDIS_URL);
    localStore = new RedisHashStore(storeConnection, storeKey);
    // This process only queues: the child process sends every email.
    local = await bootRedisWorkflow(sink.port, prefix, { worker: false }, { templates: { store: localStore, cacheTtl: CACHE_TTL } });
    templates = local.moduleRef.get(EmailTemplates);
    other = TemplateProcess.start({ smtpPort: sink.port, redis: REDIS_URL, prefix, secret: TEST_SECRET, storeKey, cacheTtl: CACHE_TTL });
    await other.ready;
  }, 60_000);

  afterAll(async () => {
    await other?.close();
    await local?.moduleRef.close();
    storeConnection?.disconnect();
    await deleteKeys(prefix);
    admin?.disconnect();
    await sink?.close();
  });

  it('an edit reaches every process within 1 s of reload(), and the next send uses it with its version in email.sent', async () => {
    expect((await templates.render('reset-password', CONTEXT, 'en')).text).toContain('First words, Ada.');
    expect(await other.render('reset-password')).toMatchObject({ version: 'v1', origin: 'store' });

    await save(stored('Second words', 'v2'));
    // Without a reload both keep the compiled v1 (cacheTtl is 10 minutes).
    await sleep(300);
    expect((await templates.render('reset-password', CONTEXT, 'en')).version).toBe('v1');
    expect((await other.render('reset-password')).version).toBe('v1');

    await templates.reload('reset-password');
    const reloadedAt = Date.now();
    expect((await templates.render('reset-password', CONTEXT, 'en')).version).toBe('v2');
    let seen: Rendered = {};
    await until(async () => (seen = await other.render('reset-password')).version === 'v2', () => `the other process on v2, it renders ${JSON.stringify(seen)}`, 1_000, 10);
    expect(Date.now() - reloadedAt).toBeLessThan(1_000);
    expect(seen.text).toContain('Second words, Ada.');

    const { messageId } = await local.emails.send({ template: 'reset-password', to: 'ada@example.test', context: { name: 'Ada', link: CONTEXT.link } });
    const mail = await sink.mailWithId(messageId);
    expect(mail.subject).toBe('Second words for Acme');
    expect(mail.text).toContain('Second words, Ada.');
    await until(() => other.sent.some((sent) => sent.messageId === messageId), 'the other process to report email.sent');
    expect(other.sent.find((sent) => sent.messageId === messageId)).toEqual({ messageId, templateVersion: 'v2' });
    expect(local.events.seen[EmailEvent.Sent]).toEqual([]);
  });

  it('a message forged on the reload channel carries no template: at most the store is asked again', async () => {
    const channels = (await admin.pubsub('CHANNELS', `${prefix}*templates*`)) as string[];
    expect(channels).toHaveLength(1);
    const before = await other.render('reset-password');
    await admin.publish(channels[0], stored('Forged words', 'v666').mjml!);
    await admin.publish(channels[0], JSON.stringify(stored('Forged words', 'v666')));
    await admin.publish(channels[0], 'reset-password');
    // The valid name drops the cache: the child asks its store again and gets the same version.
    await until(async () => (await other.render('reset-password')).storeCalls! > before.storeCalls!, 'the other process to ask its store again', 1_000, 10);
    const after = await other.render('reset-password');
    expect(after).toMatchObject({ version: before.version, text: before.text, subject: before.subject });
    expect(after.text).not.toContain('Forged');
    // Only the one valid name cost a store call (reset-password's locale chain: en).
    expect(after.storeCalls! - before.storeCalls!).toBe(1);
  });
});
