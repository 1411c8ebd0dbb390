// The delivery log's cost, on a throw-away redis-server of its own (a free loopback port, no persistence,
// stopped at the end) and ours on Bull with its worker in this process, sending to the bench's SMTP sink
// (its own process) answering as Postfix does (`250 Ok: queued as <id>`, so every record holds a real reply):
// 1. bytes per email the log keeps in Redis: BENCH_LOG_BYTES_COUNT emails (default 1000), each to its own
//    address, queued and sent; MEMORY USAGE (SAMPLES 0) of every `<prefix>:log*` key, divided by the emails,
//    split by kind of key; then a Postfix DSN (RFC 3464) for each, through EmailBounceProcessor.process, so each
//    record also has its `bounced` step (and the report's one-time claim), measured again.
// 2. what the log's writes cost per email: after a round not counted, BENCH_LOG_ROUNDS rounds (default 4) with the
//    log on and as many with it off (its event feed unsubscribed: nothing else writes it), interleaved, of BENCH_LOG_COUNT emails each
//    (default 500, BENCH_LOG_IN_FLIGHT at once, default 50), each round ending once every email is sent and
//    every log write has settled. Medians of wall ms, this process's CPU ms and redis-server's CPU ms per email.
// Run with `npm run bench` (it builds dist first); needs redis-server on the PATH (else it says so and skips).
'use strict';
const { median, table } = require('./report');
require('reflect-metadata');
const { fork, spawn } = require('node:child_process');
const { createServer } = require('node:net');
const { join } = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const Redis = require('ioredis');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { EmailBounceProcessor, EmailEvent, EmailEvents, EmailWorkflowModule, EmailWorkflowService } = require('nestjs-email-workflow');
// Not public: the bench turns the log's writes off and on to price them (the same module instance as the package's).
const { DeliveryLogFeed } = require('../dist/delivery-log');

const BYTES_COUNT = Number(process.env.BENCH_LOG_BYTES_COUNT || 1000);
const ROUNDS = Number(process.env.BENCH_LOG_ROUNDS || 4);
const COUNT = Number(process.env.BENCH_LOG_COUNT || 500);
const IN_FLIGHT = Number(process.env.BENCH_LOG_IN_FLIGHT || 50);
const CONTEXT = { name: 'Ada Lovelace', link: 'https://app.example.com/verify-email?token=4f9c2b7e1d8a6035c1e2f3a4b5c6d7e8', expiresIn: '24 hours' };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of the bench's own, or undefined (and why) when none can be started. */
async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise((resolve) => child.once('error', (error) => resolve(error)));
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  for (let i = 0; i < 50; i++) {
    const error = await Promise.race([failed, sleep(100)]);
    if (error) return { skipped: `redis-server could not start (${error.code || error.message})` };
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return { port, stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))) };
    } catch {
      client.disconnect();
    }
  }
  child.kill('SIGKILL');
  return { skipped: 'redis-server did not answer within 5 s' };
}

async function startSink() {
  const sink = fork(join(__dirname, 'smtp-sink.process.js'), [JSON.stringify({ queueIds: true })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    sink.once('message', (message) => (message.type === 'listening' ? resolve(message.port) : reject(new Error(`sink: ${JSON.stringify(message)}`))));
    sink.once('exit', (code) => reject(new Error(`sink exited (${code})`)));
  });
  return { port, stop: () => new Promise((resolve) => (sink.exitCode !== null ? resolve() : (sink.once('exit', resolve), sink.kill('SIGTERM')))) };
}

async function boot(redisPort, smtpPort) {
  class BenchModule {}
  Module({
    imports: [
      EmailWorkflowModule.forRoot({
        transport: { host: '127.0.0.1', port: smtpPort, security: 'none', pool: { maxConnections: 5 } },
        from: 'Acme <no-reply@acme.test>',
        brand: { name: 'Acme' },
        links: { verifyEmail: 'https://app.example.com/v?token={token}', resetPassword: 'https://app.example.com/r?token={token}' },
        queue: { redis: `redis://127.0.0.1:${redisPort}`, prefix: 'bench-log', concurrency: IN_FLIGHT },
        secret: 'bench-secret-of-at-least-32-bytes-0123456789',
      }),
    ],
  })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

/** A Postfix DSN for an email we sent (found by the Message-ID it returns: no bounce address is set). */
function dsn(to, messageId, i) {
  const boundary = `B${i}.1748858403/mail.relay.test`;
  return [
    'Return-Path: <>',
    'From: MAILER-DAEMON@mail.relay.test (Mail Delivery System)',
    'To: no-reply@acme.test',
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    `Message-Id: <dsn-${i}@mail.relay.test>`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mail.relay.test. Your message could not be delivered.',
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mail.relay.test',
    '',
    `Final-Recipient: rfc822; ${to}`,
    'Action: failed',
    'Status: 5.1.1',
    `Diagnostic-Code: smtp; 550 5.1.1 <${to}>: Recipient address rejected: User unknown in local recipient table`,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    'From: Acme <no-reply@acme.test>',
    `To: ${to}`,
    'Subject: Confirm your email address',
    `Message-ID: ${messageId}`,
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

/** Every key under the log's prefix, its kind and MEMORY USAGE; the prefix found from the one recent-list key. */
async function logMemory(redis) {
  const [recent] = await redis.keys('*:log-recent');
  if (!recent) throw new Error('no <prefix>:log-recent key: the log wrote nothing');
  const prefix = recent.slice(0, -':log-recent'.length);
  const kinds = { 'log:': 'records', 'log-to:': 'address index', 'log-queue-id:': 'queue-id index', 'log-recent': 'recent list', 'log-seen:': 'report claims' };
  const bytes = { records: 0, 'address index': 0, 'queue-id index': 0, 'recent list': 0, 'report claims': 0 };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:log*`, 'COUNT', 1000);
    cursor = next;
    const sizes = await Promise.all(keys.map((key) => redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')));
    keys.forEach((key, i) => {
      const kind = Object.entries(kinds).find(([start]) => key.slice(prefix.length + 1).startsWith(start));
      if (!kind) throw new Error(`unexpected key ${key}`);
      bytes[kind[1]] += Number(sizes[i]);
    });
  } while (cursor !== '0');
  return { prefix, bytes, total: Object.values(bytes).reduce((sum, value) => sum + value, 0) };
}

async function redisCounters(redis) {
  const info = await redis.info();
  const field = (name) => Number((info.match(new RegExp(`^${name}:([\\d.]+)`, 'm')) || [])[1] || 0);
  return { cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1_000, commands: field('total_commands_processed') };
}



async function main() {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1_000).toFixed(1)} s`;
  const redisServer = await startRedis();
  if (redisServer.skipped) return console.log(`Delivery log benchmark skipped: ${redisServer.skipped}.`);
  const sink = await startSink();
  const redis = new Redis({ port: redisServer.port, host: '127.0.0.1' });
  let app;
  try {
    app = await boot(redisServer.port, sink.port);
    const emails = app.get(EmailWorkflowService);
    const feed = app.get(DeliveryLogFeed);
    let sent = 0;
    let failure;
    app.get(EmailEvents).on(EmailEvent.Sent, () => sent++);
    app.get(EmailEvents).on(EmailEvent.Failed, (event) => (failure = new Error(`an email failed (${event.kind}): ${event.reason}`)));
    let offset = 0;
    /** `count` emails, IN_FLIGHT at a time, each to its own address; resolves with their Message-IDs once all are sent. */
    async function sendAll(count) {
      const target = sent + count;
      const ids = new Array(count);
      let next = 0;
      const first = offset;
      offset += count;
      const lane = async () => {
        for (let i = next++; i < count; i = next++) ids[i] = [`user${first + i}@example.test`, (await emails.send({ template: 'verify-email', to: `user${first + i}@example.test`, context: CONTEXT })).messageId];
      };
      await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, lane));
      const deadline = Date.now() + 60_000 + count * 20;
      while (sent < target) {
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error(`${target - sent} emails not sent in time`);
        await sleep(2);
      }
      return ids;
    }
    /** Waits for every log write under way (the feed's shutdown hook awaits them), leaving the log off. */
    const logOff = () => feed.onModuleDestroy();
    const logOn = () => feed.onModuleInit();

    console.log(
      `Delivery log: Node ${process.version}; ours on Bull, worker in this process, ${IN_FLIGHT} in flight; a throw-away redis-server on 127.0.0.1:${redisServer.port}; ` +
        `SMTP sink in its own process answering "250 Ok: queued as <12 hex digits>"`,
    );
    // 1. What the log keeps, from a fresh Redis: the first emails also warm the process up.
    const ids = await sendAll(BYTES_COUNT);
    await logOff();
    const sentOnly = await logMemory(redis);
    const bounces = app.get(EmailBounceProcessor);
    for (let i = 0; i < ids.length; i += IN_FLIGHT) {
      const results = await Promise.all(ids.slice(i, i + IN_FLIGHT).map(([to, messageId], j) => bounces.process(dsn(to, messageId, i + j))));
      const missed = results.find((result) => result.outcome !== 'recorded');
      if (missed) throw new Error(`a bounce was not recorded: ${JSON.stringify(missed)}`);
    }
    const bounced = await logMemory(redis);
    const perEmail = (bytes) => `${Math.round(bytes / BYTES_COUNT)} B`;
    const rows = [['emails', 'records', 'address index', 'queue-id index', 'recent list (≤ 500 entries)', 'report claims', 'all <prefix>:log* keys']];
    for (const [label, { bytes, total }] of [
      ['queued + sent', sentOnly],
      ['queued + sent + bounced', bounced],
    ]) {
      const kinds = ['records', 'address index', 'queue-id index', 'recent list', 'report claims'];
      rows.push([label, ...kinds.map((kind) => perEmail(bytes[kind])), perEmail(total)]);
    }
    console.log(
      `\nbytes per email the delivery log keeps in Redis (MEMORY USAGE SAMPLES 0 of every ${sentOnly.prefix}:log* key / ${BYTES_COUNT} emails, each to its own address) (${elapsed()}):\n${table(rows)}`,
    );
    const steady = ({ bytes, total }) => Math.round((total - bytes['recent list']) / BYTES_COUNT);
    console.log(
      `  without the recent list (a fixed cost, at most 500 refs): ${steady(sentOnly)} B per email sent, ${steady(bounced)} B per email sent and bounced; ` +
        `x 100,000 emails kept for the 30-day retention: ${((steady(sentOnly) * 100_000) / 1024 / 1024).toFixed(1)} MB`,
    );

    // 2. What the writes cost: rounds with the log on and off, interleaved (on, off, off, on, ...) so drift hits both.
    const results = { on: { wallMs: [], cpuMs: [], redisMs: [], commands: [] }, off: { wallMs: [], cpuMs: [], redisMs: [], commands: [] } };
    const order = Array.from({ length: ROUNDS * 2 }, (_, i) => (i % 4 === 0 || i % 4 === 3 ? 'on' : 'off'));
    // Not counted: the bounces above left the process and Redis in another state than sending does.
    logOn();
    await sendAll(COUNT);
    await logOff();
    for (const [r, mode] of order.entries()) {
      const redisBefore = await redisCounters(redis);
      const cpuBefore = process.cpuUsage();
      const begin = process.hrtime.bigint();
      if (mode === 'on') logOn();
      await sendAll(COUNT);
      await logOff();
      const wallMs = Number(process.hrtime.bigint() - begin) / 1e6;
      const { user, system } = process.cpuUsage(cpuBefore);
      const redisAfter = await redisCounters(redis);
      const result = results[mode];
      result.wallMs.push(wallMs / COUNT);
      result.cpuMs.push((user + system) / 1_000 / COUNT);
      result.redisMs.push((redisAfter.cpuMs - redisBefore.cpuMs) / COUNT);
      result.commands.push((redisAfter.commands - redisBefore.commands) / COUNT);
      console.log(`  round ${r + 1}/${order.length}, log ${mode.padEnd(3)}: ${Math.round((COUNT / wallMs) * 1_000)} emails/s (${elapsed()})`);
    }
    const figure = (mode, field) => median(results[mode][field]);
    const costRows = [['per email (medians)', 'log on', 'log off', 'on - off', 'on / off']];
    for (const [label, field] of [
      ['wall ms', 'wallMs'],
      ['CPU ms, this process', 'cpuMs'],
      ['CPU ms, redis-server', 'redisMs'],
      ['Redis commands (a script\'s own counted)', 'commands'],
    ]) {
      const [on, off] = [figure('on', field), figure('off', field)];
      const digits = field === 'commands' ? 1 : 3;
      costRows.push([label, on.toFixed(digits), off.toFixed(digits), `${on - off >= 0 ? '+' : ''}${(on - off).toFixed(digits)}`, `${(on / off).toFixed(2)}x`]);
    }
    console.log(`\ncost of the log's writes: ${ROUNDS} rounds of ${COUNT} emails with the log on, ${ROUNDS} with it off (its feed unsubscribed), interleaved:\n${table(costRows)}`);
    console.log(`\ndone in ${elapsed()}`);
  } finally {
    if (app) await app.close();
    redis.disconnect();
    await Promise.all([sink.stop(), redisServer.stop()]);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
