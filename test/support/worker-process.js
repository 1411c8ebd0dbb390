// A dedicated delivery worker in a child process, for tests that run several workers on one Redis
// or kill one mid-batch. It runs the BUILT library (dist/, built by test/global-setup.js), as a real
// deployment would.
//
// Start it with child_process.fork() and an IPC channel; settings come as JSON in
// EMAIL_WORKER_SETTINGS:
//   {
//     "smtpPort": 2525,                  // local plaintext SMTP server to send to
//     "driver": "bullmq",                // optional queue.driver (Bull when unset)
//     "redis": "redis://127.0.0.1:6379",
//     "prefix": "ewtest-1234abcd",       // Bull key prefix shared with the producer
//     "secret": "…",                     // module secret, the same as the producer's
//     "concurrency": 5,                  // optional
//     "settings": { "lockDuration": 2000, "stalledInterval": 1000 },  // optional Bull advanced settings
//     "shutdownTimeout": 3000,           // optional
//     "users": [{ "id": "u1", "email": "ada@example.test", "emailVerified": false }],  // optional user directory
//     "holdLookups": true,               // optional: findByEmail reports the look-up and never answers
//     "failLookups": 2,                  // optional: the first 2 findByEmail calls throw (a directory outage)
//     "dieOn": "password.reset-requested" // optional: SIGKILL itself when it emits this event
//   }
// Set EMAIL_WORKER_LOG=1 to see Nest's logs; the worker is silent otherwise.
//
// Messages to the parent:  { type: 'ready', pid }
//                          { type: 'sent', id, messageId }       one per EmailEvent.Sent
//                          { type: 'lookup' }                     one per findByEmail of the user directory
//                          { type: 'event', event, payload }      one per password.reset-requested / email.verification-requested
//                          { type: 'error', message }             boot failed (then exits 1)
//                          { type: 'closed' }                     after { type: 'close' }, just before exit 0
// Messages from the parent: { type: 'close' } — app.close() (in-flight sends finish), then exit.
'use strict';

require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { EmailEvent, EmailEventSubscriptions, EmailWorkflowModule } = require('../../dist');

const settings = JSON.parse(process.env.EMAIL_WORKER_SETTINGS || '{}');
const logging = Boolean(process.env.EMAIL_WORKER_LOG);

function send(message) {
  if (process.connected) process.send(message);
}

// The app's user directory, with `users` from the settings; a held look-up lets a test kill the
// worker while it is carrying out an account request.
let failingLookups = settings.failLookups || 0;
const directory = {
  users: settings.users || [],
  async findByEmail(email) {
    send({ type: 'lookup' });
    if (settings.holdLookups) return new Promise(() => undefined);
    if (failingLookups > 0) {
      failingLookups--;
      throw new Error('the user database is unreachable');
    }
    return this.users.find((user) => user.email.toLowerCase() === email);
  },
  async findById(id) {
    return this.users.find((user) => user.id === id);
  },
  async markEmailVerified(id) {
    const user = this.users.find((candidate) => candidate.id === id);
    if (user) user.emailVerified = true;
  },
};

function moduleOptions() {
  return {
    transport: { host: '127.0.0.1', port: settings.smtpPort, security: 'none', pool: false },
    from: 'Acme <no-reply@acme.test>',
    brand: { name: 'Acme', supportEmail: 'support@acme.test', postalAddress: '1 Main St, Springfield' },
    links: {
      verifyEmail: 'http://localhost:3000/verify-email?token={token}',
      resetPassword: 'http://localhost:3000/reset-password?token={token}',
    },
    secret: settings.secret,
    users: directory,
    queue: {
      redis: settings.redis,
      ...(settings.driver && { driver: settings.driver }),
      prefix: settings.prefix,
      worker: true,
      ...(settings.concurrency !== undefined && { concurrency: settings.concurrency }),
      ...(settings.attempts !== undefined && { attempts: settings.attempts }),
      backoff: settings.backoff ?? { delay: 50, maxDelay: 400 },
      shutdownTimeout: settings.shutdownTimeout ?? 3_000,
      probeInterval: settings.probeInterval ?? 200,
      ...(settings.settings && { settings: settings.settings }),
    },
  };
}

// Subscribing through app.get(EmailEventSubscriptions) after createApplicationContext() would be too late in
// principle: the context's init() runs onApplicationBootstrap, which starts the Bull workers, so a
// send could complete before the listener is there. A factory provider of the root module runs
// while the module graph is instantiated, before any lifecycle hook, so no Sent event is missed.
const SENT_REPORTER = Symbol('SENT_REPORTER');
const WORKFLOW_EVENTS = [EmailEvent.PasswordResetRequested, EmailEvent.VerificationRequested];

function reportEvents(events) {
  for (const event of WORKFLOW_EVENTS) {
    events.on(event, (payload) => {
      send({ type: 'event', event, payload });
      // Synchronous, inside the emit: the process dies before anything after the event happens.
      if (settings.dieOn === event) process.kill(process.pid, 'SIGKILL');
    });
  }
  return events.on(EmailEvent.Sent, ({ id, messageId }) => send({ type: 'sent', id, messageId }));
}

class WorkerRootModule {}
Module({
  imports: [EmailWorkflowModule.forRoot(moduleOptions())],
  providers: [
    {
      provide: SENT_REPORTER,
      useFactory: reportEvents,
      inject: [EmailEventSubscriptions],
    },
  ],
})(WorkerRootModule);

let app;
let closing = false;

async function close(code) {
  if (closing) return;
  closing = true;
  try {
    if (app) await app.close();
  } catch (error) {
    process.stderr.write(`worker ${process.pid}: close failed: ${error && error.stack}\n`);
    code = 1;
  }
  // Exit once the IPC channel has flushed every 'sent' report queued before this one.
  if (process.connected) process.send({ type: 'closed' }, () => process.exit(code));
  else process.exit(code);
}

process.on('message', (message) => {
  if (message && message.type === 'close') void close(0);
});
// The parent (a jest worker) went away: do not linger as an orphan holding Redis jobs.
process.on('disconnect', () => void close(0));

async function main() {
  try {
    app = await NestFactory.createApplicationContext(WorkerRootModule, {
      logger: logging ? ['log', 'error', 'warn'] : false,
      abortOnError: false,
    });
  } catch (error) {
    send({ type: 'error', message: String((error && error.stack) || error) });
    process.stderr.write(`worker ${process.pid}: boot failed: ${(error && error.stack) || error}\n`);
    process.exit(1);
  }
  send({ type: 'ready', pid: process.pid });
}

void main();
