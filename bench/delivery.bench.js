// Delivery end to end: emails per second and CPU per email from send to an SMTP sink, for raw pooled
// nodemailer (HTML and text rendered beforehand), ours with the in-process queue, ours on Redis with
// Bull and with BullMQ (when the build and node_modules have it), and @nestjs-modules/mailer with its
// MjmlAdapter: same template, same sink, same concurrency, interleaved in rounds, medians printed.
// Each contender and the sink run in their own processes; only emails the sink received count.
// Run with `npm run bench` (it builds dist first; the Redis rows need Redis, REDIS_URL, default
// redis://127.0.0.1:6379). BENCH_DELIVERY_COUNT, _ROUNDS, _WARM_UP, _IN_FLIGHT, _CONNECTIONS, _BUDGET
// (seconds) change the parameters; BENCH_LIBRARY=/path/to/checkout measures that checkout's dist (and its node_modules).
'use strict';
const { fork } = require('node:child_process');
const os = require('node:os');
const { join, resolve } = require('node:path');
const Redis = require('ioredis');
const { deleteKeys, redisAnswers } = require('./redis');

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const COUNT = Number(process.env.BENCH_DELIVERY_COUNT || 1000);
const ROUNDS = Number(process.env.BENCH_DELIVERY_ROUNDS || 5);
const WARM_UP = Number(process.env.BENCH_DELIVERY_WARM_UP || 300);
const IN_FLIGHT = Number(process.env.BENCH_DELIVERY_IN_FLIGHT || 50);
const CONNECTIONS = Number(process.env.BENCH_DELIVERY_CONNECTIONS || 5);
/** Seconds the whole bench may take: no round starts that the last one's length says would overrun it. */
const BUDGET_SECONDS = Number(process.env.BENCH_DELIVERY_BUDGET || 90);
const LIBRARY_ROOT = resolve(process.env.BENCH_LIBRARY || join(__dirname, '..'));
/** Most ms one round may take before the bench gives up on it (the peer is the slowest, ~400/s here). */
const ROUND_TIMEOUT = 60_000 + COUNT * 10;
const PREFIX = `bench-delivery-${process.pid}`;

const CONTENDERS = [
  { key: 'raw', label: 'raw nodemailer, pooled, pre-rendered HTML+text' },
  { key: 'in-process', label: 'ours, in-process queue' },
  { key: 'bull', label: 'ours, Redis, Bull', redis: true },
  { key: 'bullmq', label: 'ours, Redis, BullMQ', redis: true },
  { key: 'peer', label: '@nestjs-modules/mailer, MjmlAdapter' },
];

const children = new Set();

/** Resolves with the first message of `child` that `accept` returns a value for; rejects on exit, an error message or after `ms`. */
function nextMessage(child, name, accept, ms) {
  const answer = new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => finish(reject, new Error(`${name}: no answer within ${ms} ms`)), ms);
    // A wait left pending by another one's failure must not hold the bench open.
    timer.unref();
    const onMessage = (message) => {
      if (message.type === 'error') return finish(reject, new Error(`${name}: ${message.message}`));
      const value = accept(message);
      if (value !== undefined) finish(resolvePromise, value);
    };
    const onExit = (code, signal) => finish(reject, new Error(`${name}: exited (${signal || code}) unexpectedly`));
    function finish(settle, value) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle(value);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
  // Awaiting it still throws; a wait nobody reaches any more (another failed first) must not crash the clean-up.
  answer.catch(() => undefined);
  return answer;
}

function start(file, args, env) {
  const child = fork(join(__dirname, file), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  // A send to a child that has died emits 'error'; the waits on it fail on its exit instead.
  child.on('error', () => undefined);
  return child;
}

/** Sends `message` to `child`, or throws when it is gone (the waits on it would otherwise hang till their timeout). */
function tell(child, name, message) {
  if (!child.connected) throw new Error(`${name}: exited unexpectedly`);
  child.send(message);
}

/** Ends every child still running: a stop (contenders close their app and pools), then a kill after 5 s. */
async function stopChildren() {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise((resolvePromise) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolvePromise();
          });
          if (child.connected) child.send({ type: 'stop' });
          else child.kill('SIGTERM');
        }),
    ),
  );
}

async function redisCpuMs(redis) {
  if (!redis) return 0;
  const info = await redis.info('cpu');
  const field = (name) => Number((info.match(new RegExp(`${name}:([\\d.]+)`)) || [])[1] || 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1_000;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  return [line(rows[0]), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main() {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1_000).toFixed(1)} s`;
  console.log(
    `Delivery end to end: Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} CPUs; template verify-email; ` +
      `${ROUNDS} rounds (fewer if they would overrun ${BUDGET_SECONDS} s) of ${COUNT} emails per contender, interleaved, after a ${WARM_UP}-email warm-up each; ` +
      `${IN_FLIGHT} in flight, ${CONNECTIONS} pooled SMTP connections; library ${join(LIBRARY_ROOT, 'dist')}`,
  );
  const haveRedis = await redisAnswers(REDIS_URL, 'The Redis rows of the delivery');
  const redis = haveRedis ? new Redis(REDIS_URL) : undefined;
  try {
    const sink = start('smtp-sink.process.js', []);
    const smtpPort = await nextMessage(sink, 'sink', (m) => (m.type === 'listening' ? m.port : undefined), 10_000);
    console.log(`SMTP sink: smtp-server in its own process (pid ${sink.pid}) on 127.0.0.1:${smtpPort}, DATA discarded unparsed`);
    let expected = 0;
    const sinkCpu = () => {
      const answer = nextMessage(sink, 'sink', (m) => (m.type === 'cpu' ? m.cpuMs : undefined), 10_000);
      tell(sink, 'sink', { type: 'cpu' });
      return answer;
    };

    const active = [];
    const results = new Map();
    for (const contender of CONTENDERS) {
      if (contender.redis && !haveRedis) {
        results.set(contender.key, { skipped: `no Redis at ${REDIS_URL}` });
        continue;
      }
      const config = { contender: contender.key, smtpPort, inFlight: IN_FLIGHT, connections: CONNECTIONS, redisUrl: REDIS_URL, prefix: `${PREFIX}-${contender.key}`, libraryRoot: LIBRARY_ROOT };
      const child = start('delivery-contender.process.js', [JSON.stringify(config)]);
      const answer = await nextMessage(child, contender.key, (m) => (m.type === 'ready' || m.type === 'skipped' ? m : undefined), 60_000);
      if (answer.type === 'skipped') {
        console.log(`  ${contender.key}: skipped: ${answer.reason}`);
        results.set(contender.key, { skipped: answer.reason });
        continue;
      }
      console.log(`  ${contender.key}: booted (${elapsed()})`);
      active.push({ ...contender, child });
      results.set(contender.key, { rates: [], cpu: [], redisCpu: [], sinkCpuMs: 0, wallMs: 0 });
    }

    /** One round of `count` emails from one contender: wall time until the sink has them all, and CPU. */
    async function round(contender, count) {
      const sinkBefore = await sinkCpu();
      const redisBefore = contender.redis ? await redisCpuMs(redis) : 0;
      expected += count;
      const reached = nextMessage(sink, 'sink', (m) => (m.type === 'reached' && m.total === expected ? m : undefined), ROUND_TIMEOUT);
      tell(sink, 'sink', { type: 'await', total: expected });
      const done = nextMessage(contender.child, contender.key, (m) => (m.type === 'done' ? m.cpuMs : undefined), ROUND_TIMEOUT);
      const begin = process.hrtime.bigint();
      let wallMs = 0;
      tell(contender.child, contender.key, { type: 'run', count, offset: expected - count });
      const [arrival, cpuMs] = await Promise.all([
        reached.then((message) => {
          wallMs = Number(process.hrtime.bigint() - begin) / 1e6;
          return message;
        }),
        done,
      ]);
      const redisMs = contender.redis ? (await redisCpuMs(redis)) - redisBefore : 0;
      return { wallMs, cpuMs, redisMs, sinkMs: arrival.cpuMs - sinkBefore, surplus: arrival.received - expected };
    }

    console.log(`warm-up: ${WARM_UP} emails each (${elapsed()})`);
    for (const contender of active) await round(contender, WARM_UP);
    let rounds = 0;
    let lastRoundMs = 0;
    for (let r = 1; r <= ROUNDS; r++) {
      if (r > 1 && Date.now() - started + lastRoundMs > BUDGET_SECONDS * 1_000) {
        console.log(`stopping after ${rounds} rounds: another would overrun the ${BUDGET_SECONDS} s budget`);
        break;
      }
      const roundStart = Date.now();
      const line = [];
      for (const contender of active) {
        const { wallMs, cpuMs, redisMs, sinkMs, surplus } = await round(contender, COUNT);
        if (surplus > 0) throw new Error(`the sink received ${surplus} emails more than were sent`);
        const result = results.get(contender.key);
        result.rates.push((COUNT / wallMs) * 1_000);
        result.cpu.push(cpuMs / COUNT);
        result.redisCpu.push(redisMs / COUNT);
        result.sinkCpuMs += sinkMs;
        result.wallMs += wallMs;
        line.push(`${contender.key} ${Math.round((COUNT / wallMs) * 1_000)}/s`);
      }
      console.log(`round ${r}/${ROUNDS}: ${line.join(', ')} (${elapsed()})`);
      rounds = r;
      lastRoundMs = Date.now() - roundStart;
    }

    const rows = [['contender', 'emails/s median (min-max)', 'CPU ms/email', 'redis-server CPU ms/email', 'sink CPU']];
    for (const contender of CONTENDERS) {
      const result = results.get(contender.key);
      if (result.skipped) {
        rows.push([contender.label, 'skipped (below)', '', '', '']);
        continue;
      }
      const rates = result.rates;
      rows.push([
        contender.label,
        `${Math.round(median(rates))} (${Math.round(Math.min(...rates))}-${Math.round(Math.max(...rates))})`,
        median(result.cpu).toFixed(3),
        contender.redis ? median(result.redisCpu).toFixed(3) : '-',
        `${Math.round((result.sinkCpuMs / result.wallMs) * 100)}%`,
      ]);
    }
    console.log(`\nmedians of ${rounds} rounds of ${COUNT} emails, counted at the sink:\n${table(rows)}`);
    for (const contender of CONTENDERS) {
      if (results.get(contender.key).skipped) console.log(`${contender.label}: skipped: ${results.get(contender.key).skipped}`);
    }
    console.log('CPU ms/email: the sending process (for ours: producer and worker, one process); sink CPU: % of one core while that contender ran.');

    const rate = (key) => (results.get(key).rates ? median(results.get(key).rates) : undefined);
    const cpu = (key) => median(results.get(key).cpu);
    const ratio = (label, a, b) => {
      const [x, y] = [rate(a), rate(b)];
      const text = x && y ? `${(x / y).toFixed(2)}x emails/s, ${(cpu(a) / cpu(b)).toFixed(2)}x CPU per email` : `n/a (${x ? b : a} skipped)`;
      console.log(`  ${label.padEnd(24)} ${text}`);
    };
    console.log('\nratios of the medians (CPU per email: the sending process; on a busy machine it varies less than emails/s):');
    for (const [name, key] of [['in-process', 'in-process'], ['Bull', 'bull'], ['BullMQ', 'bullmq']]) ratio(`ours ${name} / raw`, key, 'raw');
    for (const [name, key] of [['in-process', 'in-process'], ['Bull', 'bull'], ['BullMQ', 'bullmq']]) ratio(`ours ${name} / peer`, key, 'peer');
    ratio('BullMQ / Bull', 'bullmq', 'bull');
    console.log(`\ndone in ${elapsed()}`);
  } finally {
    await stopChildren();
    if (redis) redis.disconnect();
    if (haveRedis) await deleteKeys(REDIS_URL, CONTENDERS.filter((c) => c.redis).map((c) => `${PREFIX}-${c.key}`));
  }
}

/** Stops the children and removes the run's Redis keys, then exits: on a signal, or on an error thrown outside main's flow. */
function abort(why, code) {
  stopChildren()
    .then(() => deleteKeys(REDIS_URL, CONTENDERS.filter((c) => c.redis).map((c) => `${PREFIX}-${c.key}`)))
    .catch(() => undefined)
    .finally(() => {
      console.log(`\n${why}: children stopped, Redis keys removed`);
      process.exit(code);
    });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => abort(signal, 130));
process.once('uncaughtException', (error) => {
  console.error(error);
  abort('uncaught exception', 1);
});

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
