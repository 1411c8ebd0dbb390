// One set-up of the latency bench (latency.bench.js) in its own process: ours with the worker in this
// process, on the queue named by its JSON config (in-process, Bull or BullMQ), a user directory of known
// users, and a pooled transport to the bench's SMTP sink. Asked for a 'load' ({ rate, seconds, first }),
// it calls requestPasswordReset for known users at that steady rate (open loop: each call starts on its
// schedule, whether or not the ones before have answered) and answers with, per call, the address, when
// it started (ms on the machine's monotonic clock, which the sink reads too), how long it took, and how
// late it started against its schedule. Asked for 'queued', it answers with when each reset email was
// queued (the password.reset-requested event: the request taken, the user found, the token issued);
// for 'cpu', with its CPU time so far.
'use strict';
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const config = JSON.parse(process.argv[2]);
const library = createRequire(join(config.libraryRoot, 'package.json'));

const IP = '198.51.100.7';
// Every call is for a different known address, all from one IP, so the per-IP limit is lifted.
const UNLIMITED = { limit: 1_000_000_000, windowSeconds: 3_600 };

class Skipped extends Error {}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** `config.users` known users, `lat<i>@example.test`, found as fast as an indexed table would find them. */
function directory() {
  const byEmail = new Map();
  const byId = new Map();
  for (let i = 0; i < config.users; i++) {
    const user = { id: `u${i}`, email: `lat${i}@example.test`, name: `User ${i}` };
    byEmail.set(user.email, user);
    byId.set(user.id, user);
  }
  return {
    findByEmail: async (email) => byEmail.get(email),
    findById: async (id) => byId.get(id),
    markEmailVerified: async () => undefined,
  };
}

function queueOptions() {
  const durable = { redis: config.redisUrl, prefix: config.prefix, concurrency: config.inFlight };
  switch (config.driver) {
    case 'in-process':
      return { redis: false, concurrency: config.inFlight };
    case 'bull':
      return durable;
    case 'bullmq':
      try {
        library.resolve('bullmq');
      } catch {
        throw new Skipped(`bullmq is not installed in ${config.libraryRoot}`);
      }
      return { ...durable, driver: 'bullmq' };
    default:
      throw new Error(`unknown driver ${config.driver}`);
  }
}

async function boot() {
  library('reflect-metadata');
  const { Module } = library('@nestjs/common');
  const { NestFactory } = library('@nestjs/core');
  const ours = library('nestjs-email-workflow');
  class LatencyModule {}
  Module({
    imports: [
      ours.EmailWorkflowModule.forRoot({
        transport: { host: '127.0.0.1', port: config.smtpPort, security: 'none', pool: { maxConnections: config.connections, ...(config.maxMessages ? { maxMessages: config.maxMessages } : {}) } },
        from: 'Acme <no-reply@acme.test>',
        brand: { name: 'Acme' },
        links: { verifyEmail: 'https://app.example.com/v?token={token}', resetPassword: 'https://app.example.com/r?token={token}' },
        queue: queueOptions(),
        secret: 'bench-secret-of-at-least-32-bytes-0123456789',
        users: directory(),
        flows: { resetPassword: { limits: { perIp: UNLIMITED } } },
      }),
    ],
  })(LatencyModule);
  const app = await NestFactory.createApplicationContext(LatencyModule, { logger: false, abortOnError: false });
  const events = app.get(ours.EmailEvents);
  let failure;
  events.on(ours.EmailEvent.Failed, (event) => (failure = `an email failed (${event.kind}): ${event.reason}`));
  const queued = new Map();
  events.on(ours.EmailEvent.PasswordResetRequested, (event) => queued.set(event.email, now()));
  return { app, emails: app.get(ours.EmailWorkflowService), failure: () => failure, queued };
}

/** `rate` calls a second for `seconds`, for users `first`, `first + 1`…; resolves once every call has answered. */
async function offer(emails, { rate, seconds, first }) {
  const total = Math.round(rate * seconds);
  const interval = 1_000 / rate;
  const calls = new Array(total);
  const answers = [];
  const start = now() + 2;
  for (let i = 0; i < total; ) {
    const wait = start + i * interval - now();
    if (wait > 0) {
      await sleep(wait);
      continue;
    }
    // Every call now due, in one go: a late timer must not thin the offered load.
    for (; i < total && start + i * interval <= now(); i++) {
      const address = `lat${first + i}@example.test`;
      const began = now();
      const late = began - (start + i * interval);
      const index = i;
      answers.push(emails.requestPasswordReset(address, { ip: IP }).then(() => (calls[index] = [address, began, now() - began, late])));
    }
  }
  await Promise.all(answers);
  return calls;
}

async function main() {
  let set;
  try {
    set = await boot();
  } catch (error) {
    const missing = error && (error.name === 'DependencyMissingError' || (error.name === 'InvalidOptionsError' && /driver/.test(error.message)));
    if (error instanceof Skipped || missing) return process.send({ type: 'skipped', reason: error.message.split('\n')[0] }, () => process.exit(0));
    throw error;
  }
  process.on('message', (message) => {
    if (message.type === 'load') {
      offer(set.emails, message).then(
        (calls) => process.send({ type: 'loaded', calls, failure: set.failure() }),
        (error) => process.send({ type: 'error', message: String((error && error.stack) || error) }),
      );
    } else if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ type: 'cpu', cpuMs: (user + system) / 1_000 });
    } else if (message.type === 'queued') {
      process.send({ type: 'queued', queued: [...set.queued] });
      set.queued.clear();
    } else if (message.type === 'stop') {
      set.app.close().finally(() => process.exit(0));
    }
  });
  process.send({ type: 'ready' });
}

// The bench owns this process: if it goes away without a stop, so does this one.
process.on('disconnect', () => process.exit(0));
main().catch((error) => {
  process.send({ type: 'error', message: String((error && error.stack) || error) });
  process.exitCode = 1;
});
