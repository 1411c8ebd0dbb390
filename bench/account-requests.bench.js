// Answer time of requestPasswordReset on a Redis queue, for an address with an account and one
// without, interleaved: the answer must not tell them apart. Two set-ups: an API process that only
// enqueues (worker: false), and one whose own worker carries the requests out (looks the account up,
// issues the token, sends to a local SMTP sink) while it answers. Run with `npm run bench` (needs Redis;
// REDIS_URL, default redis://127.0.0.1:6379).
'use strict';
require('reflect-metadata');
const { deleteKeys, redisAnswers } = require('./redis');
const { SMTPServer } = require('smtp-server');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { EmailWorkflowModule, EmailWorkflowService } = require('nestjs-email-workflow');

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const COUNT = Number(process.env.BENCH_ACCOUNT_REQUEST_COUNT || 1000);
const WARM_UP = 50;
const PREFIX = `bench-${process.pid}`;
const UNLIMITED = { limit: 1_000_000_000, windowSeconds: 3_600 };

/** Every known address has an account; every unknown one is asked for once, like the known ones. */
function directory() {
  const users = new Map();
  for (let i = 0; i < COUNT + WARM_UP; i++) users.set(`known${i}@example.test`, { id: `u${i}`, email: `known${i}@example.test`, name: `User ${i}` });
  return {
    findByEmail: async (email) => users.get(email),
    findById: async (id) => [...users.values()].find((user) => user.id === id),
    markEmailVerified: async () => undefined,
  };
}

let delivered = 0;

async function startSink() {
  const onData = (stream, _session, done) =>
    stream.resume().on('end', () => {
      delivered++;
      done();
    });
  const sink = new SMTPServer({ authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false, onData });
  await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
  return sink;
}

async function boot(prefix, worker, smtpPort) {
  class BenchModule {}
  Module({
    imports: [
      EmailWorkflowModule.forRoot({
        transport: { host: '127.0.0.1', port: smtpPort, security: 'none', pool: false },
        from: 'Acme <no-reply@acme.test>',
        brand: { name: 'Acme' },
        links: { verifyEmail: 'https://app.example.com/v?token={token}', resetPassword: 'https://app.example.com/r?token={token}' },
        queue: { redis: REDIS_URL, prefix, worker, shutdownTimeout: 2_000 },
        secret: 'bench-secret-of-at-least-32-bytes-0123456789',
        users: directory(),
        // Each address is asked for once; the IP is the same for all, so its limit is lifted.
        flows: { resetPassword: { limits: { perIp: UNLIMITED } } },
      }),
    ],
  })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Times one call, in ms. */
async function timed(call) {
  const start = process.hrtime.bigint();
  await call();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** COUNT known and COUNT unknown requests, one after another, alternating which goes first. */
async function measure(emails) {
  const ask = (address) => emails.requestPasswordReset(address, { ip: '198.51.100.7' });
  for (let i = 0; i < WARM_UP; i++) {
    await ask(`known${COUNT + i}@example.test`);
    await ask(`unknown${COUNT + i}@example.test`);
  }
  const known = [];
  const unknown = [];
  for (let i = 0; i < COUNT; i++) {
    const pair = [
      [known, `known${i}@example.test`],
      [unknown, `unknown${i}@example.test`],
    ];
    if (i % 2 === 1) pair.reverse();
    for (const [times, address] of pair) times.push(await timed(() => ask(address)));
  }
  return { known, unknown };
}

async function main() {
  if (!(await redisAnswers(REDIS_URL, 'Account-request'))) return;
  const sink = await startSink();
  const rows = [];
  try {
    for (const [label, worker] of [
      ['API process (worker: false)', false],
      ['worker in the same process', true],
    ]) {
      const prefix = `${PREFIX}-${worker ? 'worker' : 'api'}`;
      const app = await boot(prefix, worker, sink.server.address().port);
      try {
        delivered = 0;
        const { known, unknown } = await measure(app.get(EmailWorkflowService));
        rows.push([label, median(known), median(unknown), percentile(known, 0.9), percentile(unknown, 0.9), delivered]);
      } finally {
        await app.close();
        await deleteKeys(REDIS_URL, [prefix]);
      }
    }
  } finally {
    await new Promise((resolve) => sink.close(resolve));
  }
  console.log(`Node ${process.version}; ${COUNT} requestPasswordReset calls per address kind, interleaved, on Bull at ${new URL(REDIS_URL).host}\n`);
  console.log('set-up                       known median  unknown median  ratio  known p90  unknown p90  reset emails sent meanwhile');
  console.log('---------------------------  ------------  --------------  -----  ---------  -----------  ---------------------------');
  for (const [label, knownMedian, unknownMedian, knownP90, unknownP90, sent] of rows) {
    console.log(
      `${label.padEnd(27)}  ${`${knownMedian.toFixed(3)} ms`.padStart(12)}  ${`${unknownMedian.toFixed(3)} ms`.padStart(14)}  ${(knownMedian / unknownMedian).toFixed(2).padStart(5)}  ${`${knownP90.toFixed(3)} ms`.padStart(9)}  ${`${unknownP90.toFixed(3)} ms`.padStart(11)}  ${String(sent).padStart(27)}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
