// Delivery end to end: emails per second and CPU per email from send to an SMTP sink, for raw pooled
// nodemailer (HTML and text rendered beforehand), ours with the in-process queue, ours on Redis with
// Bull and with BullMQ (when the build and node_modules have it), what a team would otherwise write for
// durable delivery (a @nestjs/bullmq processor calling pooled nodemailer, HTML and text rendered into
// each job), ours on Bull split the way a deployment runs it (a producer process with queue.worker false,
// and one or two worker-only processes, each with the single-process row's concurrency and pool), and
// @nestjs-modules/mailer with its MjmlAdapter: same template, same sink, same concurrency, interleaved in
// rounds; it prints the medians, the CPU of a split deployment by process, and the ratios. Each contender
// (and each producer and worker) and the sink run in their own processes; only emails the sink received count.
// Then a memory phase: BENCH_DELIVERY_RSS_COUNT emails (default 15,000, as many as fit the budget)
// through the single-process Bull contender in 10 chunks, its RSS and heap used (after gc()) and Redis's
// used_memory after each, and whether RSS grew from the sample at a fifth of them to the last.
// Run with `npm run bench` (it builds dist first; the Redis rows and the memory phase need Redis,
// REDIS_URL, default redis://127.0.0.1:6379). BENCH_DELIVERY_COUNT, _ROUNDS, _WARM_UP, _IN_FLIGHT,
// _CONNECTIONS, _RSS_COUNT (0 skips the memory phase), _ROUNDS_BUDGET (seconds by which the rounds
// end, to leave the memory phase its time), _BUDGET (seconds for the whole bench) and _CONTENDERS (keys,
// comma-separated: only those run) change the parameters; BENCH_LIBRARY=/path/to/checkout measures that
// checkout's dist (and its node_modules).
// `npm run bench` keeps this bench short, for the whole run to end within 3 minutes; for the memory
// phase over 50,000 emails: BENCH_DELIVERY_RSS_COUNT=50000 BENCH_DELIVERY_BUDGET=130 node bench/delivery.bench.js
'use strict';
const { median, table } = require('./report');
const os = require('node:os');
const { join, resolve } = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const Redis = require('ioredis');
const { deleteKeys, redisAnswers } = require('./redis');
const { children, nextMessage, start, tell, stopChildren, runWithCleanup } = require('./children');

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const COUNT = Number(process.env.BENCH_DELIVERY_COUNT || 500);
const ROUNDS = Number(process.env.BENCH_DELIVERY_ROUNDS || 5);
const WARM_UP = Number(process.env.BENCH_DELIVERY_WARM_UP || 200);
const IN_FLIGHT = Number(process.env.BENCH_DELIVERY_IN_FLIGHT || 50);
const CONNECTIONS = Number(process.env.BENCH_DELIVERY_CONNECTIONS || 5);
const RSS_COUNT = Number(process.env.BENCH_DELIVERY_RSS_COUNT ?? 15_000);
const RSS_CHUNKS = 10;
/** Seconds the whole bench may take: no memory chunk (nor, without the memory phase, round) starts that the last one's length says would overrun it. */
const BUDGET_SECONDS = Number(process.env.BENCH_DELIVERY_BUDGET || 65);
/**
 * Seconds from the start by which the rounds end when the memory phase follows (15,000 emails take 20-25 s here, 50,000 65-85 s),
 * else the whole budget: no round starts that the last one's length says would end later. At least one round runs.
 */
const ROUNDS_BUDGET_SECONDS = RSS_COUNT > 0 ? Number(process.env.BENCH_DELIVERY_ROUNDS_BUDGET || 35) : BUDGET_SECONDS;
const LIBRARY_ROOT = resolve(process.env.BENCH_LIBRARY || join(__dirname, '..'));
const PREFIX = `bench-delivery-${process.pid}`;
/** How often, in ms, a round of a split deployment asks its workers how many they have sent. */
const WORKER_POLL_INTERVAL = 20;

/** Most ms a round of `count` emails may take before the bench gives up on it (the peer is the slowest, ~250/s here). */
function roundTimeout(count) {
  return 60_000 + count * 10;
}

/** BENCH_DELIVERY_CONTENDERS=bullmq,hand-written: only those (to profile them: node --cpu-prof --cpu-prof-dir=/tmp/prof bench/delivery.bench.js). */
const ONLY = process.env.BENCH_DELIVERY_CONTENDERS ? process.env.BENCH_DELIVERY_CONTENDERS.split(',') : undefined;
/**
 * `workers`: a producer process (queue.worker false) and that many worker-only processes on one
 * prefix, instead of one process doing both. The memory phase runs on `bull`, which holds both code paths.
 */
const CONTENDERS = [
  { key: 'raw', label: 'raw nodemailer, pooled, pre-rendered HTML+text' },
  { key: 'in-process', label: 'ours, in-process queue' },
  { key: 'in-process-qp', label: "ours, in-process, htmlEncoding 'quoted-printable'" },
  { key: 'bull', label: 'ours, Redis, Bull', redis: true },
  { key: 'bullmq', label: 'ours, Redis, BullMQ', redis: true },
  { key: 'hand-written', label: 'hand-written durable: @nestjs/bullmq, HTML in job', redis: true },
  { key: 'bull-1-worker', label: 'ours, Bull, producer + 1 worker process', redis: true, workers: 1 },
  { key: 'bull-2-workers', label: 'ours, Bull, producer + 2 worker processes', redis: true, workers: 2 },
  { key: 'peer', label: '@nestjs-modules/mailer, MjmlAdapter' },
].filter((contender) => !ONLY || ONLY.includes(contender.key));
const REDIS_PREFIXES = CONTENDERS.filter((c) => c.redis).map((c) => `${PREFIX}-${c.key}`);

/** Redis's INFO `section`, as a reader of its numeric fields. */
async function redisInfo(redis, section) {
  const info = await redis.info(section);
  return (name) => Number((info.match(new RegExp(`^${name}:([\\d.]+)`, 'm')) || [])[1] || 0);
}

async function redisCpuMs(redis) {
  if (!redis) return 0;
  const field = await redisInfo(redis, 'cpu');
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1_000;
}

async function redisUsedMemory(redis) {
  return (await redisInfo(redis, 'memory'))('used_memory');
}

/** Asks a contender process for its CPU so far and, for ours, the emails it has sent. */
function processCpu(child, name) {
  const answer = nextMessage(child, name, (m) => (m.type === 'cpu' ? m : undefined), 10_000);
  tell(child, name, { type: 'cpu' });
  return answer;
}

const megabytes = (bytes) => (bytes / 1024 / 1024).toFixed(1);



async function main() {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1_000).toFixed(1)} s`;
  console.log(
    `Delivery end to end: Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} CPUs; template verify-email; ` +
      `${ROUNDS} rounds (fewer if they would end after ${ROUNDS_BUDGET_SECONDS} s) of ${COUNT} emails per contender, interleaved, after a ${WARM_UP}-email warm-up each; ` +
      `${IN_FLIGHT} in flight, ${CONNECTIONS} pooled SMTP connections per sending process; then ${RSS_COUNT} emails for memory (all of the bench within ${BUDGET_SECONDS} s); library ${join(LIBRARY_ROOT, 'dist')}`,
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

    /** Starts a contender's processes (a producer and its workers, or one process); says why not if one is skipped. */
    async function boot(contender) {
      const base = { smtpPort, inFlight: IN_FLIGHT, connections: CONNECTIONS, redisUrl: REDIS_URL, prefix: `${PREFIX}-${contender.key}`, libraryRoot: LIBRARY_ROOT };
      const roles = contender.workers
        ? [{ part: 'producer', role: 'bull-producer' }, ...Array.from({ length: contender.workers }, (_, i) => ({ part: `worker ${i + 1}`, role: 'bull-worker' }))]
        : [{ role: contender.key }];
      const processes = [];
      for (const { part, role } of roles) {
        const name = part ? `${contender.key} ${part}` : contender.key;
        // The memory phase samples this contender's heap after gc().
        const execArgv = contender.key === 'bull' ? ['--expose-gc'] : [];
        const child = start('delivery-contender.process.js', [JSON.stringify({ ...base, contender: role })], execArgv);
        const answer = await nextMessage(child, name, (m) => (m.type === 'ready' || m.type === 'skipped' ? m : undefined), 60_000);
        if (answer.type === 'skipped') return { skipped: answer.reason };
        processes.push({ name, part, child });
      }
      return { processes };
    }

    // All at once: booting takes seconds of the budget, and no round runs yet.
    const booted = await Promise.all(CONTENDERS.map((contender) => (contender.redis && !haveRedis ? { skipped: `no Redis at ${REDIS_URL}` } : boot(contender))));
    console.log(`${children.size - 1} contender processes booted (${elapsed()})`);
    const active = [];
    const results = new Map();
    for (const [index, contender] of CONTENDERS.entries()) {
      const { skipped, processes } = booted[index];
      if (skipped) {
        console.log(`  ${contender.key}: skipped: ${skipped}`);
        results.set(contender.key, { skipped });
        continue;
      }
      // `child` is the process that sends: the producer of a split deployment.
      active.push({ ...contender, child: processes[0].child, processes });
      results.set(contender.key, { rates: [], cpu: [], cpuByProcess: processes.map(() => []), redisCpu: [], sinkCpuMs: 0, wallMs: 0 });
    }

    /** Asks the worker processes until together they have sent `target` emails; resolves with their last answers. */
    async function allSent(workers, target, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const answers = await Promise.all(workers.map(({ child, name }) => processCpu(child, name)));
        if (answers.reduce((sum, answer) => sum + answer.sent, 0) >= target) return answers;
        if (Date.now() > deadline) throw new Error(`workers: ${target} emails not sent within ${ms} ms`);
        await sleep(WORKER_POLL_INTERVAL);
      }
    }

    /**
     * One round of `count` emails from one contender: wall time until the sink has them all, and the
     * CPU of each of its processes until its worker(s) have seen every email sent.
     */
    async function round(contender, count) {
      const timeout = roundTimeout(count);
      const sinkBefore = await sinkCpu();
      const redisBefore = contender.redis ? await redisCpuMs(redis) : 0;
      const workerProcesses = contender.processes.slice(1);
      const cpuBefore = contender.workers ? await Promise.all(contender.processes.map(({ child, name }) => processCpu(child, name))) : [];
      const sentBefore = cpuBefore.slice(1).reduce((sum, answer) => sum + answer.sent, 0);
      expected += count;
      const reached = nextMessage(sink, 'sink', (m) => (m.type === 'reached' && m.total === expected ? m : undefined), timeout);
      tell(sink, 'sink', { type: 'await', total: expected });
      const done = nextMessage(contender.child, contender.key, (m) => (m.type === 'done' ? m.cpuMs : undefined), timeout);
      const begin = process.hrtime.bigint();
      let wallMs = 0;
      tell(contender.child, contender.key, { type: 'run', count, offset: expected - count });
      const [arrival, cpuMs, workersAfter] = await Promise.all([
        reached.then((message) => {
          wallMs = Number(process.hrtime.bigint() - begin) / 1e6;
          return message;
        }),
        done,
        contender.workers ? allSent(workerProcesses, sentBefore + count, timeout) : undefined,
      ]);
      let cpuByProcess = [cpuMs];
      if (contender.workers) {
        const after = [await processCpu(contender.child, contender.processes[0].name), ...workersAfter];
        cpuByProcess = after.map((answer, i) => answer.cpuMs - cpuBefore[i].cpuMs);
      }
      const redisMs = contender.redis ? (await redisCpuMs(redis)) - redisBefore : 0;
      if (arrival.received > expected) throw new Error(`the sink received ${arrival.received - expected} emails more than were sent`);
      return { wallMs, cpuByProcess, redisMs, sinkMs: arrival.cpuMs - sinkBefore };
    }

    /** RSS_COUNT emails through one contender in chunks, its memory and Redis's after each; whether RSS grew. */
    async function memoryPhase(contender) {
      const chunk = Math.ceil(RSS_COUNT / RSS_CHUNKS);
      const sample = async (sent) => {
        const answer = nextMessage(contender.child, contender.key, (m) => (m.type === 'memory' ? m : undefined), 10_000);
        tell(contender.child, contender.key, { type: 'memory' });
        const { rss, heapUsed } = await answer;
        return { sent, rss, heapUsed, redisMemory: await redisUsedMemory(redis) };
      };
      console.log(
        `\nmemory: ${RSS_COUNT} emails through ${contender.label} (producer and worker in one process) in chunks of ${chunk}, ` +
          `sampling its RSS and heap used after gc() (it runs with --expose-gc), and Redis used_memory (${elapsed()})`,
      );
      const samples = [await sample(0)];
      let lastChunkMs = 0;
      for (let sent = 0; sent < RSS_COUNT; ) {
        if (Date.now() - started + lastChunkMs > BUDGET_SECONDS * 1_000) {
          console.log(`  stopping after ${sent} of ${RSS_COUNT} emails: another chunk would overrun the ${BUDGET_SECONDS} s budget`);
          break;
        }
        const chunkStart = Date.now();
        const count = Math.min(chunk, RSS_COUNT - sent);
        const { wallMs } = await round(contender, count);
        lastChunkMs = Date.now() - chunkStart;
        sent += count;
        samples.push(await sample(sent));
        console.log(`  ${sent} emails sent, ${Math.round((count / wallMs) * 1_000)}/s, RSS ${megabytes(samples.at(-1).rss)} MB (${elapsed()})`);
      }
      const memoryRows = [['emails sent', 'RSS MB', 'heap used MB', 'redis used_memory MB']];
      for (const { sent, rss, heapUsed, redisMemory } of samples) {
        memoryRows.push([sent === 0 ? '0 (after the rounds)' : String(sent), megabytes(rss), megabytes(heapUsed), megabytes(redisMemory)]);
      }
      console.log(table(memoryRows));
      // From a fifth of the way in, so the pools, compiled templates and JIT have settled.
      const from = samples[Math.min(Math.ceil(RSS_CHUNKS / 5), samples.length - 1)];
      const last = samples.at(-1);
      const change = (field) => {
        const growth = last[field] - from[field];
        const percent = (growth / from[field]) * 100;
        const signed = (value) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
        return { percent, text: `${signed(growth / 1024 / 1024)} MB (${signed(percent)}%)` };
      };
      if (from === last) {
        console.log(`no verdict on RSS: the budget let only ${samples.length - 1} of ${RSS_CHUNKS} chunks run (a busy machine?)`);
      } else {
        const rss = change('rss');
        console.log(`RSS from ${from.sent} to ${last.sent} emails: ${rss.text}: ${rss.percent <= 10 ? 'flat' : 'GROWING'} (flat: grew by 10% or less)`);
        // RSS also holds what the allocator has freed but kept; the heap after gc() is only what is still reachable.
        console.log(`heap used after gc() from ${from.sent} to ${last.sent} emails: ${change('heapUsed').text}`);
      }
      console.log(
        `Redis used_memory: ${megabytes(samples[0].redisMemory)} MB before, ${megabytes(last.redisMemory)} MB after ` +
          '(the last 10000 completed jobs of each prefix are kept, removeOnComplete, so it rises to a plateau)',
      );
    }

    const memoryContender = RSS_COUNT > 0 ? active.find((contender) => contender.key === 'bull') : undefined;

    console.log(`warm-up: ${WARM_UP} emails each (${elapsed()})`);
    for (const contender of active) await round(contender, WARM_UP);
    let rounds = 0;
    let lastRoundMs = 0;
    for (let r = 1; r <= ROUNDS; r++) {
      if (r > 1 && Date.now() - started + lastRoundMs > ROUNDS_BUDGET_SECONDS * 1_000) {
        console.log(`stopping after ${rounds} rounds: another would end after the rounds' ${ROUNDS_BUDGET_SECONDS} s budget`);
        break;
      }
      const roundStart = Date.now();
      const line = [];
      for (const contender of active) {
        const { wallMs, cpuByProcess, redisMs, sinkMs } = await round(contender, COUNT);
        const result = results.get(contender.key);
        result.rates.push((COUNT / wallMs) * 1_000);
        result.cpu.push(cpuByProcess.reduce((sum, ms) => sum + ms, 0) / COUNT);
        cpuByProcess.forEach((ms, i) => result.cpuByProcess[i].push(ms / COUNT));
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
    console.log(
      'CPU ms/email: the sending process (for ours: producer and worker, one process; for a producer and its workers: summed over them, split below); ' +
        'sink CPU: % of one core while that contender ran.',
    );
    for (const contender of active.filter((c) => c.workers)) {
      const split = contender.processes.map(({ part }, i) => `${part} ${median(results.get(contender.key).cpuByProcess[i]).toFixed(3)}`);
      console.log(`  ${contender.label}, CPU ms/email by process: ${split.join(', ')}`);
    }
    if (active.some((c) => c.workers)) {
      console.log(
        `  each worker process has concurrency ${IN_FLIGHT} and a pool of ${CONNECTIONS} SMTP connections, as every process of a deployment would, ` +
          `so 2 workers send up to ${2 * IN_FLIGHT} at once over ${2 * CONNECTIONS} connections; the producer queues ${IN_FLIGHT} at a time.`,
      );
    }

    const rate = (key) => (results.get(key)?.rates ? median(results.get(key).rates) : undefined);
    const cpu = (key) => median(results.get(key).cpu);
    const ratio = (label, a, b) => {
      if (!results.has(a) || !results.has(b)) return;
      const [x, y] = [rate(a), rate(b)];
      const text = x && y ? `${(x / y).toFixed(2)}x emails/s, ${(cpu(a) / cpu(b)).toFixed(2)}x CPU per email` : `n/a (${x ? b : a} skipped)`;
      console.log(`  ${label.padEnd(30)} ${text}`);
    };
    console.log('\nratios of the medians (CPU per email: the sending processes, all of them for 1 or 2 workers; on a busy machine it varies less than emails/s):');
    for (const [name, key] of [['in-process', 'in-process'], ['Bull', 'bull'], ['BullMQ', 'bullmq']]) ratio(`ours ${name} / raw`, key, 'raw');
    ratio('in-process, HTML base64 / QP', 'in-process', 'in-process-qp');
    for (const [name, key] of [['in-process', 'in-process'], ['Bull', 'bull'], ['BullMQ', 'bullmq']]) ratio(`ours ${name} / peer`, key, 'peer');
    for (const [name, key] of [['BullMQ', 'bullmq'], ['Bull', 'bull']]) ratio(`ours ${name} / hand-written`, key, 'hand-written');
    ratio('BullMQ / Bull', 'bullmq', 'bull');
    ratio('2 workers / 1 worker', 'bull-2-workers', 'bull-1-worker');

    if (memoryContender) await memoryPhase(memoryContender);
    else console.log(`\nmemory phase skipped: ${RSS_COUNT > 0 ? (results.get('bull')?.skipped ?? 'bull not run') : 'BENCH_DELIVERY_RSS_COUNT is 0'}`);
    console.log(`\ndone in ${elapsed()}`);
  } finally {
    await stopChildren();
    if (redis) redis.disconnect();
    if (haveRedis) await deleteKeys(REDIS_URL, REDIS_PREFIXES);
  }
}

runWithCleanup(main, () => deleteKeys(REDIS_URL, REDIS_PREFIXES));
