// What a user waits for: requestPasswordReset for known users at a steady offered load (open loop,
// BENCH_LATENCY_RATES calls a second, default 100 and 400, for BENCH_LATENCY_SECONDS each, default 10),
// on ours with the in-process queue, Bull and BullMQ, the worker in the calling process, sending to an
// SMTP sink in its own process through a pool of BENCH_LATENCY_CONNECTIONS (default 5), each replaced after
// BENCH_LATENCY_MAX_MESSAGES emails (default: the library's, 100), concurrency
// BENCH_LATENCY_IN_FLIGHT (default 50). Per call: how long the call took, and the time from the call to
// the sink's end of DATA for that user's reset email (both processes read the machine's monotonic clock).
// It prints p50 / p95 / p99 / max of both, and how late the calls started against their schedule (when
// the calling process is saturated, the offered load is not the load it got). Each set-up runs in its
// own process, on a Redis prefix of its own, and one set-up runs at a time; a short warm-up
// (BENCH_LATENCY_WARM_UP seconds at the lowest rate, default 1) is not counted. BENCH_LATENCY_SET_UPS
// (e.g. bull,bullmq) runs only those set-ups (to profile one: node --cpu-prof --cpu-prof-dir=/tmp/prof bench/latency.bench.js; its children get the flags).
// Run with `npm run bench` (it builds dist first; the Bull and BullMQ rows need Redis, REDIS_URL,
// default redis://127.0.0.1:6379); BENCH_LIBRARY=/path/to/checkout measures that checkout's dist.
'use strict';
const { join, resolve } = require('node:path');
const { table } = require('./report');
const { deleteKeys, redisAnswers } = require('./redis');
const { ask, children, nextMessage, start, tell, stopChildren, runWithCleanup } = require('./children');

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const RATES = (process.env.BENCH_LATENCY_RATES || '100,400').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_LATENCY_SECONDS || 10);
const WARM_UP_SECONDS = Number(process.env.BENCH_LATENCY_WARM_UP || 1);
const IN_FLIGHT = Number(process.env.BENCH_LATENCY_IN_FLIGHT || 50);
const CONNECTIONS = Number(process.env.BENCH_LATENCY_CONNECTIONS || 5);
/** Emails per pooled connection before it is replaced (the library's default, 100, when unset). */
const MAX_MESSAGES = process.env.BENCH_LATENCY_MAX_MESSAGES ? Number(process.env.BENCH_LATENCY_MAX_MESSAGES) : undefined;
const LIBRARY_ROOT = resolve(process.env.BENCH_LIBRARY || join(__dirname, '..'));
const PREFIX = `bench-latency-${process.pid}`;
/** The p99 to the sink at the lowest rate should stay under this, in ms (issue 26's target on a 2-core machine). */
const TARGET_P99_MS = 50;

const ONLY = process.env.BENCH_LATENCY_SET_UPS ? process.env.BENCH_LATENCY_SET_UPS.split(',') : undefined;
const SET_UPS = [
  { key: 'in-process', label: 'ours, in-process queue' },
  { key: 'bull', label: 'ours, Redis, Bull', redis: true },
  { key: 'bullmq', label: 'ours, Redis, BullMQ', redis: true },
].filter((setUp) => !ONLY || ONLY.includes(setUp.key));
const REDIS_PREFIXES = SET_UPS.filter((s) => s.redis).map((s) => `${PREFIX}-${s.key}`);

/** The value below which a fraction `p` of `sorted` (ascending) lies, nearest rank. */
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];
}

const ms = (value) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

async function main() {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1_000).toFixed(1)} s`;
  console.log(
    `Latency of requestPasswordReset (known users): Node ${process.version}; ${RATES.join(' and ')} calls/s offered for ${SECONDS} s each per set-up, ` +
      `after ${WARM_UP_SECONDS} s at ${Math.min(...RATES)}/s not counted; worker in the calling process, concurrency ${IN_FLIGHT}, ${CONNECTIONS} pooled SMTP connections, ${MAX_MESSAGES ?? 100} emails each before a new one; library ${join(LIBRARY_ROOT, 'dist')}`,
  );
  const haveRedis = await redisAnswers(REDIS_URL, 'The Redis rows of the latency');
  try {
    const sink = start('smtp-sink.process.js', []);
    const smtpPort = await nextMessage(sink, 'sink', (m) => (m.type === 'listening' ? m.port : undefined), 10_000);
    // Each set-up has its own directory: every call of its run is for a user not asked for before.
    const users = RATES.reduce((sum, rate) => sum + Math.round(rate * SECONDS), 0) + Math.round(Math.min(...RATES) * WARM_UP_SECONDS);
    const booted = await Promise.all(
      SET_UPS.map(async (setUp) => {
        if (setUp.redis && !haveRedis) return { skipped: `no Redis at ${REDIS_URL}` };
        const args = { driver: setUp.key, smtpPort, redisUrl: REDIS_URL, prefix: `${PREFIX}-${setUp.key}`, libraryRoot: LIBRARY_ROOT, inFlight: IN_FLIGHT, connections: CONNECTIONS, maxMessages: MAX_MESSAGES, users };
        const child = start('latency.process.js', [JSON.stringify(args)]);
        const answer = await nextMessage(child, setUp.key, (m) => (m.type === 'ready' || m.type === 'skipped' ? m : undefined), 60_000);
        return answer.type === 'skipped' ? { skipped: answer.reason } : { child };
      }),
    );
    console.log(`${children.size - 1} set-ups booted, each in its own process; SMTP sink (pid ${sink.pid}) on 127.0.0.1:${smtpPort} (${elapsed()})`);

    let expected = 0;
    /** `rate` calls a second for `seconds` through one set-up; per call, its time and the time to the sink. */
    async function load(setUp, child, rate, seconds, first) {
      const count = Math.round(rate * seconds);
      const timeout = seconds * 1_000 + 60_000;
      expected += count;
      const cpuBefore = (await ask(child, setUp.key, { type: 'cpu' }, 'cpu')).cpuMs;
      tell(sink, 'sink', { type: 'record' });
      const reached = nextMessage(sink, 'sink', (m) => (m.type === 'reached' && m.total === expected ? m : undefined), timeout);
      tell(sink, 'sink', { type: 'await', total: expected });
      const { calls, failure } = await ask(child, setUp.key, { type: 'load', rate, seconds, first }, 'loaded', timeout);
      if (failure) throw new Error(`${setUp.key}: ${failure}`);
      await reached.catch((error) => {
        throw new Error(`${setUp.key} at ${rate}/s: not every reset email reached the sink (${error.message})`);
      });
      const cpuMs = (await ask(child, setUp.key, { type: 'cpu' }, 'cpu')).cpuMs - cpuBefore;
      const arrived = new Map((await ask(sink, 'sink', { type: 'arrivals' }, 'arrivals')).arrivals);
      const queued = new Map((await ask(child, setUp.key, { type: 'queued' }, 'queued')).queued);
      if (arrived.size !== count || queued.size !== count) {
        throw new Error(`${setUp.key} at ${rate}/s: ${queued.size} reset emails queued and ${arrived.size} at the sink for ${count} calls`);
      }
      const sorted = (values) => values.sort((a, b) => a - b);
      return {
        call: sorted(calls.map(([, , callMs]) => callMs)),
        sink: sorted(calls.map(([address, began]) => arrived.get(address) - began)),
        queued: sorted(calls.map(([address, began]) => queued.get(address) - began)),
        queuedToSink: sorted(calls.map(([address]) => arrived.get(address) - queued.get(address))),
        late: sorted(calls.map(([, , , late]) => late)),
        span: calls.at(-1)[1] - calls[0][1],
        cpuPerCall: cpuMs / count,
        count,
      };
    }

    const active = [];
    for (const [index, setUp] of SET_UPS.entries()) {
      if (booted[index].skipped) console.log(`  ${setUp.key}: skipped: ${booted[index].skipped}`);
      else active.push({ ...setUp, child: booted[index].child, next: 0 });
    }
    for (const setUp of active) {
      const { count } = await load(setUp, setUp.child, Math.min(...RATES), WARM_UP_SECONDS, setUp.next);
      setUp.next += count;
    }
    console.log(`warm-up done (${elapsed()})`);
    const rows = [['set-up', 'offered/s', 'calls', 'call p50', 'p95', 'p99', 'max', 'to sink p50', 'p95', 'p99', 'max', 'start late p99', 'CPU ms/reset']];
    const p99AtLowest = [];
    const stages = [['set-up', 'offered/s', 'call to email queued p50', 'p99', 'queued to sink p50', 'p99']];
    for (const rate of RATES) {
      for (const setUp of active) {
        const result = await load(setUp, setUp.child, rate, SECONDS, setUp.next);
        setUp.next += result.count;
        const summary = (values) => [0.5, 0.95, 0.99].map((p) => ms(percentile(values, p))).concat(ms(values.at(-1)));
        rows.push([setUp.label, String(rate), String(result.count), ...summary(result.call), ...summary(result.sink), ms(percentile(result.late, 0.99)), result.cpuPerCall.toFixed(2)]);
        const both = (values) => [ms(percentile(values, 0.5)), ms(percentile(values, 0.99))];
        stages.push([setUp.label, String(rate), ...both(result.queued), ...both(result.queuedToSink)]);
        if (rate === Math.min(...RATES)) p99AtLowest.push(`${setUp.key} ${ms(percentile(result.sink, 0.99))} ms`);
        console.log(`  ${setUp.key} at ${rate}/s: ${result.count} calls over ${(result.span / 1_000).toFixed(1)} s, every reset email at the sink (${elapsed()})`);
      }
    }
    console.log(
      `\nms, from the call's start; "to sink": to the end of DATA of that user's reset email at the sink; "start late": against the call's schedule; ` +
        `CPU: the set-up's process (caller and worker), per reset, from the first call until the sink had every email\n${table(rows)}`,
    );
    console.log(
      '\nwhere the time to the sink goes, ms: "email queued" is the password.reset-requested event (the request taken from the queue, the user ' +
        `found, the token issued, the reset email queued); "queued to sink" the email taken, rendered and sent\n${table(stages)}`,
    );
    console.log(`p99 to the sink at ${Math.min(...RATES)}/s: ${p99AtLowest.join(', ')} (target: under ${TARGET_P99_MS} ms)`);
    console.log(`\ndone in ${elapsed()}`);
  } finally {
    await stopChildren();
    if (haveRedis) await deleteKeys(REDIS_URL, REDIS_PREFIXES);
  }
}

runWithCleanup(main, () => deleteKeys(REDIS_URL, REDIS_PREFIXES));
