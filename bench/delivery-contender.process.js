// One process of the delivery bench, so process.cpuUsage() is its CPU alone and no contender's
// timers, pools or garbage weigh on another's rounds. The bench (delivery.bench.js) starts it with a
// JSON config naming its role: a contender that sends on its own (for ours on Redis the worker runs
// in this process too, so its CPU is included), or one process of a deployment split in two roles,
// a producer (queue.worker false: it only queues) or a worker (it never calls send(), it takes the
// producer's jobs from Redis). Over IPC the bench asks it for rounds of `count` emails sent
// `inFlight` at a time ('run'), for its CPU and emails sent so far ('cpu'), and for its memory ('memory').
'use strict';
const { createRequire } = require('node:module');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const config = JSON.parse(process.argv[2]);
// The library measured, and the Nest it runs on, come from config.libraryRoot (default this
// repository), so the bench can measure another checkout's build, e.g. a branch's worktree.
const library = createRequire(join(config.libraryRoot, 'package.json'));

const FROM = 'Acme <no-reply@acme.test>';
const TEMPLATE = 'verify-email';
const BRAND = { name: 'Acme', primaryColor: '#2563eb', supportEmail: 'support@acme.test', postalAddress: '1 Main St, Springfield' };
const CONTEXT = { name: 'Ada Lovelace', link: 'https://app.example.com/verify-email?token=4f9c2b7e1d8a6035c1e2f3a4b5c6d7e8', expiresIn: '24 hours' };
const SECRET = 'bench-secret-of-at-least-32-bytes-0123456789';

class Skipped extends Error {}

/** Runs `operation(0..count-1)`, `inFlight` at a time. */
async function inLanes(count, inFlight, operation) {
  let next = 0;
  const lane = async () => {
    while (next < count) await operation(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
}

async function bootOurs(queue, extraOptions = {}) {
  library('reflect-metadata');
  const { Module } = library('@nestjs/common');
  const { NestFactory } = library('@nestjs/core');
  const ours = library('nestjs-email-workflow');
  class BenchModule {}
  Module({
    imports: [
      ours.EmailWorkflowModule.forRoot({
        transport: { host: '127.0.0.1', port: config.smtpPort, security: 'none', pool: { maxConnections: config.connections } },
        from: FROM,
        brand: BRAND,
        links: { verifyEmail: 'https://app.example.com/v?token={token}', resetPassword: 'https://app.example.com/r?token={token}' },
        queue,
        secret: SECRET,
        ...extraOptions,
      }),
    ],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false, abortOnError: false });
  return { app, ours };
}

function sendAll(emails, count, offset) {
  return inLanes(count, config.inFlight, (i) => emails.send({ template: TEMPLATE, to: `user${offset + i}@example.test`, context: CONTEXT }));
}

/** Ours: send() queues the template name and sealed variables; the worker in this process renders and sends. */
async function ourContender(queue, extraOptions) {
  const { app, ours } = await bootOurs(queue, extraOptions);
  const emails = app.get(ours.EmailWorkflowService);
  const events = app.get(ours.EmailEvents);
  let sent = 0;
  let failure;
  let onSent = () => undefined;
  events.on(ours.EmailEvent.Sent, () => {
    sent++;
    onSent();
  });
  events.on(ours.EmailEvent.Failed, (event) => {
    failure = new Error(`ours: an email failed (${event.kind}): ${event.reason}`);
    onSent();
  });
  return {
    progress: () => ({ sent, failure }),
    async run(count, offset) {
      const target = sent + count;
      const allSent = new Promise((resolve, reject) => {
        onSent = () => (failure ? reject(failure) : sent >= target && resolve());
      });
      await sendAll(emails, count, offset);
      onSent();
      await allSent;
    },
    close: () => app.close(),
  };
}

/** Ours as a producer only (queue.worker false): a round ends once every email is queued; worker processes send them. */
async function producerContender(queue) {
  const { app, ours } = await bootOurs({ ...queue, worker: false });
  const emails = app.get(ours.EmailWorkflowService);
  return { run: (count, offset) => sendAll(emails, count, offset), close: () => app.close() };
}

/** Ours as a worker only: the same module options as every process of the deployment, and it never calls send(). */
async function workerContender(queue) {
  const { progress, close } = await ourContender(queue);
  return { progress, close };
}

/** Pooled nodemailer to the sink, as the raw and hand-written contenders use it. */
function pooledTransport(nodemailer) {
  return nodemailer.createTransport({ host: '127.0.0.1', port: config.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: config.connections });
}

/** Raw nodemailer, pooled, sending HTML and text rendered once beforehand by our templates. */
async function rawContender() {
  const { app, ours } = await bootOurs(false);
  const rendered = app.get(ours.EmailWorkflowService).render({ template: TEMPLATE, context: CONTEXT });
  await app.close();
  const nodemailer = require('nodemailer');
  const transport = pooledTransport(nodemailer);
  const { subject, html, text } = rendered;
  return {
    run: (count, offset) => inLanes(count, config.inFlight, (i) => transport.sendMail({ from: FROM, to: `user${offset + i}@example.test`, subject, html, text })),
    close: async () => transport.close(),
  };
}

/**
 * What a team would otherwise write for durable delivery: a @nestjs/bullmq processor calling pooled
 * nodemailer, the producer rendering HTML and text (our templates, per email, as that code renders per
 * recipient) into the job. Retries as such code sets them; completed jobs kept as many as ours keeps.
 */
async function handWrittenContender() {
  try {
    require.resolve('@nestjs/bullmq');
    require.resolve('bullmq');
  } catch {
    throw new Skipped('@nestjs/bullmq or bullmq is not installed');
  }
  const renderer = await bootOurs(false);
  const templates = renderer.app.get(renderer.ours.EmailWorkflowService);
  require('reflect-metadata');
  const { Module } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const { BullModule, Processor, WorkerHost, getQueueToken } = require('@nestjs/bullmq');
  const nodemailer = require('nodemailer');
  const transport = pooledTransport(nodemailer);
  const QUEUE = 'mail';
  let sent = 0;
  let failure;
  let onSent = () => undefined;
  class MailProcessor extends WorkerHost {
    async process(job) {
      try {
        await transport.sendMail(job.data);
      } catch (error) {
        failure = new Error(`hand-written: an email failed: ${error.message}`);
        onSent();
        throw error;
      }
      sent++;
      onSent();
    }
  }
  Processor(QUEUE, { concurrency: config.inFlight })(MailProcessor);
  const redis = new URL(config.redisUrl);
  class HandWrittenModule {}
  Module({
    imports: [
      BullModule.forRoot({
        connection: { host: redis.hostname, port: Number(redis.port || 6379), db: Number(redis.pathname.slice(1) || 0), password: redis.password || undefined },
        prefix: config.prefix,
      }),
      BullModule.registerQueue({
        name: QUEUE,
        defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: 10_000 },
      }),
    ],
    providers: [MailProcessor],
  })(HandWrittenModule);
  const app = await NestFactory.createApplicationContext(HandWrittenModule, { logger: false, abortOnError: false });
  const queue = app.get(getQueueToken(QUEUE));
  const enqueue = (i, offset) => {
    const { subject, html, text } = templates.render({ template: TEMPLATE, context: CONTEXT });
    return queue.add('send', { from: FROM, to: `user${offset + i}@example.test`, subject, html, text });
  };
  return {
    async run(count, offset) {
      const target = sent + count;
      const allSent = new Promise((resolve, reject) => {
        onSent = () => (failure ? reject(failure) : sent >= target && resolve());
      });
      await inLanes(count, config.inFlight, (i) => enqueue(i, offset));
      onSent();
      await allSent;
    },
    close: async () => {
      await app.close();
      await renderer.app.close();
      transport.close();
    },
  };
}

/**
 * The peer: @nestjs-modules/mailer with its MjmlAdapter (Handlebars, then mjml2html on every send),
 * on the same template source in the same layout as ours, at its defaults otherwise.
 */
async function peerContender() {
  require('reflect-metadata');
  const { Module } = require('@nestjs/common');
  const { NestFactory } = require('@nestjs/core');
  const { MailerModule, MailerService } = require('@nestjs-modules/mailer');
  const { MjmlAdapter } = require('@nestjs-modules/mailer/adapters/mjml.adapter');
  const { wrapInLayout } = require(join(config.libraryRoot, 'dist', 'templates', 'template.layout.js'));
  const source = join(config.libraryRoot, 'lib', 'templates', 'built-in', `${TEMPLATE}.mjml`);
  const body = readFileSync(source, 'utf8').replace(/^---\r?\n[\s\S]*?\r?\n---\r?\n?/, '');
  const dir = mkdtempSync(join(tmpdir(), 'delivery-bench-peer-'));
  writeFileSync(join(dir, `${TEMPLATE}.hbs`), wrapInLayout(body, { primaryColor: BRAND.primaryColor, hasLogo: false }));
  class PeerModule {}
  Module({
    imports: [
      MailerModule.forRoot({
        transport: { host: '127.0.0.1', port: config.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: config.connections },
        defaults: { from: FROM },
        // As the mailer's README shows it: its CSS inlining runs before MJML and would break the MJML source.
        template: { dir, adapter: new MjmlAdapter('handlebars', { inlineCssEnabled: false }), options: { strict: true } },
      }),
    ],
  })(PeerModule);
  const app = await NestFactory.createApplicationContext(PeerModule, { logger: false, abortOnError: false });
  const mailer = app.get(MailerService);
  const subject = `Confirm your email address for ${BRAND.name}`;
  const context = { ...CONTEXT, brand: BRAND };
  return {
    run: (count, offset) => inLanes(count, config.inFlight, (i) => mailer.sendMail({ to: `user${offset + i}@example.test`, subject, template: TEMPLATE, context })),
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Ours on BullMQ, when this build has the driver and its packages are installed beside it; else why not. */
async function bullmqContender(queue) {
  try {
    library.resolve('bullmq');
  } catch {
    throw new Skipped(`bullmq is not installed in ${config.libraryRoot}`);
  }
  try {
    return await ourContender({ ...queue, driver: 'bullmq' });
  } catch (error) {
    if (error && error.name === 'InvalidOptionsError' && /driver/.test(error.message)) {
      const problem = error.message.split('\n').find((line) => line.includes('driver'));
      throw new Skipped(`this build of the library does not accept queue.driver 'bullmq' (${problem.trim().replace(/^- /, '')})`);
    }
    if (error && error.name === 'DependencyMissingError') throw new Skipped(error.message.split('\n')[0]);
    throw error;
  }
}

function start() {
  const redisQueue = { redis: config.redisUrl, prefix: config.prefix, concurrency: config.inFlight };
  switch (config.contender) {
    case 'raw':
      return rawContender();
    case 'in-process':
      return ourContender({ redis: false, concurrency: config.inFlight });
    case 'in-process-qp':
      return ourContender({ redis: false, concurrency: config.inFlight }, { htmlEncoding: 'quoted-printable' });
    case 'bull':
      return ourContender(redisQueue);
    case 'bullmq':
      return bullmqContender(redisQueue);
    case 'bull-producer':
      return producerContender(redisQueue);
    case 'bull-worker':
      return workerContender(redisQueue);
    case 'peer':
      return peerContender();
    case 'hand-written':
      return handWrittenContender();
    default:
      throw new Error(`unknown contender ${config.contender}`);
  }
}

/** CPU ms of this process since `before` (a process.cpuUsage() value), or since it started. */
function cpuMs(before) {
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1_000;
}

async function main() {
  let contender;
  try {
    contender = await start();
  } catch (error) {
    if (error instanceof Skipped) return process.send({ type: 'skipped', reason: error.message }, () => process.exit(0));
    throw error;
  }
  process.on('message', (message) => {
    if (message.type === 'run') {
      const before = process.cpuUsage();
      contender.run(message.count, message.offset).then(
        () => process.send({ type: 'done', cpuMs: cpuMs(before) }),
        (error) => process.send({ type: 'error', message: String((error && error.stack) || error) }),
      );
    } else if (message.type === 'cpu') {
      // A worker's failed email surfaces here: the bench asks every worker this while a round runs.
      const { sent, failure } = contender.progress ? contender.progress() : {};
      if (failure) process.send({ type: 'error', message: failure.message });
      else process.send({ type: 'cpu', cpuMs: cpuMs(), sent });
    } else if (message.type === 'memory') {
      // With --expose-gc, what is still reachable, not how much garbage the last chunk left behind.
      if (global.gc) global.gc();
      const { rss, heapUsed } = process.memoryUsage();
      process.send({ type: 'memory', rss, heapUsed });
    } else if (message.type === 'stop') {
      contender.close().finally(() => process.exit(0));
    }
  });
  process.send({ type: 'ready' });
}

// The bench owns this process: if it goes away without a stop, so does the contender.
process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  process.send({ type: 'error', message: String((error && error.stack) || error) });
  process.exitCode = 1;
});
