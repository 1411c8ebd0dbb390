// A second app process for the template-store tests: the BUILT library (dist/, built by
// test/global-setup.js) on a Redis queue, with a template store over a Redis hash read through its
// own connection, so it shares nothing in memory with the test process but Redis.
//
// Settings come as JSON in TEMPLATE_PROCESS_SETTINGS: { smtpPort, redis, prefix, secret, storeKey, cacheTtl }.
// Messages to the parent:   { type: 'ready' }  { type: 'error', message }
//                           { type: 'sent', messageId, templateVersion }   one per email.sent
//                           { type: 'rendered', request, subject, text, version, origin, storeCalls }
// Messages from the parent: { type: 'render', request, name, locale }   EmailTemplates.render with sample values
//                           { type: 'close' }
'use strict';

require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const Redis = require('ioredis');
const { EmailEvent, EmailEventSubscriptions, EmailTemplates, EmailWorkflowModule } = require('../../dist');

const settings = JSON.parse(process.env.TEMPLATE_PROCESS_SETTINGS || '{}');

function send(message) {
  if (process.connected) process.send(message);
}

// The app's store: one hash field per `name:locale`, its value the stored template as JSON.
const redis = new Redis(settings.redis);
let storeCalls = 0;
const store = {
  async get(name, locale) {
    storeCalls++;
    const value = await redis.hget(settings.storeKey, `${name}:${locale}`);
    return value ? JSON.parse(value) : null;
  },
};

const REPORTER = Symbol('REPORTER');

class TemplateProcessModule {}
Module({
  imports: [
    EmailWorkflowModule.forRoot({
      transport: { host: '127.0.0.1', port: settings.smtpPort, security: 'none', pool: false },
      from: 'Acme <no-reply@acme.test>',
      brand: { name: 'Acme', supportEmail: 'support@acme.test' },
      links: { verifyEmail: 'http://localhost:3000/verify-email?token={token}', resetPassword: 'http://localhost:3000/reset-password?token={token}' },
      secret: settings.secret,
      templates: { store, cacheTtl: settings.cacheTtl },
      queue: { redis: settings.redis, prefix: settings.prefix, worker: true, backoff: { delay: 50, maxDelay: 400 }, shutdownTimeout: 3_000 },
    }),
  ],
  providers: [
    {
      // Subscribed while the module graph is built, before the workers start: no email.sent is missed.
      provide: REPORTER,
      useFactory: (events) => events.on(EmailEvent.Sent, ({ messageId, templateVersion }) => send({ type: 'sent', messageId, templateVersion })),
      inject: [EmailEventSubscriptions],
    },
  ],
})(TemplateProcessModule);

let app;

process.on('message', async (message) => {
  if (message.type === 'close') {
    await app.close().catch(() => undefined);
    redis.disconnect();
    send({ type: 'closed' });
    process.exit(0);
  }
  if (message.type === 'render') {
    const context = { name: 'Ada', link: 'https://app.example.com/reset-password?token=t', expiresIn: '1 hour', brand: { name: 'Acme' } };
    try {
      const rendered = await app.get(EmailTemplates).render(message.name, context, message.locale);
      send({ type: 'rendered', request: message.request, subject: rendered.subject, text: rendered.text, version: rendered.version, origin: rendered.origin, storeCalls });
    } catch (error) {
      send({ type: 'rendered', request: message.request, error: String(error && error.message) });
    }
  }
});

NestFactory.createApplicationContext(TemplateProcessModule, { logger: process.env.EMAIL_WORKER_LOG ? undefined : false })
  .then((context) => {
    app = context;
    send({ type: 'ready' });
  })
  .catch((error) => {
    send({ type: 'error', message: String(error && error.stack) });
    process.exit(1);
  });
