// Enqueue cost: this library queues the template name and sealed variables (the worker renders);
// the common peer pattern renders first and queues the HTML (on Bull). Ours on each driver (Bull,
// BullMQ) and the peer's on the same Redis, side by side in one run. Run with `npm run bench` (needs Redis; REDIS_URL, default redis://127.0.0.1:6379).
'use strict';
require('reflect-metadata');
const Bull = require('bull');
const Redis = require('ioredis');
const { deleteKeys, redisAnswers } = require('./redis');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { EmailWorkflowModule, EmailWorkflowService } = require('nestjs-email-workflow');

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const COUNT = Number(process.env.BENCH_ENQUEUE_COUNT || 2000);
const PREFIX = `bench-${process.pid}`;
const CONTEXT = { name: 'Ada Lovelace', link: 'https://app.example.com/verify-email?token=4f9c2b7e1d8a6035c1e2f3a4b5c6d7e8', expiresIn: '24 hours' };

const DRIVERS = ['bull', 'bullmq'];

async function boot(driver) {
  class BenchModule {}
  Module({
    imports: [
      EmailWorkflowModule.forRoot({
        transport: { host: '127.0.0.1', port: 9, security: 'none', pool: false },
        from: 'Acme <no-reply@acme.test>',
        brand: { name: 'Acme' },
        links: { verifyEmail: 'https://app.example.com/v?token={token}', resetPassword: 'https://app.example.com/r?token={token}' },
        queue: { redis: REDIS_URL, driver, prefix: `${PREFIX}-${driver}`, worker: false },
        secret: 'bench-secret-of-at-least-32-bytes-0123456789',
      }),
    ],
  })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

/** Runs `count` operations, `inFlight` at a time (1: one after another, as a single request handler does); ops/s. */
async function measure(count, inFlight, operation) {
  for (let i = 0; i < 100; i++) await operation(i);
  let next = 0;
  const lane = async () => {
    while (next < count) await operation(next++);
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Bytes of job data Bull stores per email, read back from Redis. */
async function bytesPerJob(prefix, queueName) {
  const redis = new Redis(REDIS_URL);
  try {
    const ids = await redis.lrange(`${prefix}:${queueName}:wait`, 0, 99);
    const data = await Promise.all(ids.map((id) => redis.hget(`${prefix}:${queueName}:${id}`, 'data')));
    return Math.round(data.reduce((sum, value) => sum + Buffer.byteLength(value ?? ''), 0) / Math.max(1, data.length));
  } finally {
    redis.disconnect();
  }
}

async function main() {
  if (!(await redisAnswers(REDIS_URL, 'Enqueue'))) return;
  const apps = await Promise.all(DRIVERS.map(boot));
  const emails = apps.map((app) => app.get(EmailWorkflowService));
  const peerQueue = new Bull('peer-email', REDIS_URL, { prefix: `${PREFIX}-peer` });
  try {
    const ourSend = (service) => (i) => service.send({ template: 'verify-email', to: `user${i}@example.test`, context: CONTEXT });
    const peerSend = (i) => peerQueue.add({ to: `user${i}@example.test`, ...emails[0].render({ template: 'verify-email', context: CONTEXT }) });
    const rows = [];
    for (const inFlight of [1, 32]) {
      const ours = [];
      for (const service of emails) ours.push(await measure(COUNT, inFlight, ourSend(service)));
      rows.push([inFlight, ...ours, await measure(COUNT, inFlight, peerSend)]);
    }
    const ourBytes = await Promise.all(DRIVERS.map((driver) => bytesPerJob(`${PREFIX}-${driver}`, 'email-workflow')));
    const peerBytes = await bytesPerJob(`${PREFIX}-peer`, 'peer-email');
    console.log(`Node ${process.version}; ${COUNT} enqueues per variant on ${new URL(REDIS_URL).host}, template verify-email\n`);
    console.log('in flight  ours on Bull: template + sealed  ours on BullMQ  peer on Bull: rendered HTML  Bull/peer');
    console.log('---------  ---------------------------  --------------  --------------------------  ---------');
    for (const [inFlight, bull, bullmq, peer] of rows) {
      const cell = (rate, width) => `${rate.toFixed(0)} enqueues/s`.padStart(width);
      console.log(`${String(inFlight).padStart(9)}  ${cell(bull, 27)}  ${cell(bullmq, 14)}  ${cell(peer, 26)}  ${`${(bull / peer).toFixed(2)}x`.padStart(9)}`);
    }
    console.log(`\njob data stored per email: ours ${ourBytes[0]} B on Bull, ${ourBytes[1]} B on BullMQ; peer ${peerBytes} B (${(peerBytes / Math.max(1, ourBytes[0])).toFixed(1)}x more)`);
  } finally {
    await peerQueue.close();
    await Promise.all(apps.map((app) => app.close()));
    await deleteKeys(REDIS_URL, [...DRIVERS.map((driver) => `${PREFIX}-${driver}`), `${PREFIX}-peer`]);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
