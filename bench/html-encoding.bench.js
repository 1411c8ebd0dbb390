// The HTML part's transfer encoding (`htmlEncoding`): message size and the CPU nodemailer spends
// building the message, base64 against quoted-printable, over every built-in template in every
// language (the previews' sample variables). Built as the worker's messages are: HTML as a content
// object with its encoding named, the text part left to nodemailer. Sending adds the same socket work
// to both; the delivery bench after this one shows whole deliveries on the default.
// Interleaved rounds, medians printed. Run with `npm run bench` (it builds dist first).
// BENCH_SECONDS sets how long each encoding runs in all (default 1.5, so that the whole of `npm run bench` ends within 3 minutes).
'use strict';
require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const MailComposer = require('nodemailer/lib/mail-composer');
const { EmailWorkflowModule, EmailWorkflowService } = require('nestjs-email-workflow');

const SECONDS = Number(process.env.BENCH_SECONDS || 1.5);
const ENCODINGS = ['base64', 'quoted-printable'];
const ROUNDS = 9;

function message(rendered, encoding) {
  return {
    from: 'Acme <no-reply@acme.test>',
    to: 'Ada Lovelace <ada@example.test>',
    subject: rendered.subject,
    html: { content: rendered.html, contentTransferEncoding: encoding },
    text: rendered.text,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const build = (rendered, encoding) => new MailComposer(message(rendered, encoding)).compile().build();

/** CPU ms per message of building every preview's message in turn, for `seconds`. */
async function cpuPerMessage(previews, encoding, seconds) {
  const started = Date.now();
  const before = process.cpuUsage();
  let built = 0;
  while (Date.now() - started < seconds * 1_000) {
    for (const rendered of previews) await build(rendered, encoding);
    built += previews.length;
  }
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1_000 / built;
}

async function main() {
  class BenchModule {}
  Module({
    imports: [
      EmailWorkflowModule.forRoot({
        transport: { host: '127.0.0.1', port: 2525, security: 'none' },
        from: 'Acme <no-reply@acme.test>',
        brand: { name: 'Acme', supportEmail: 'support@acme.test', postalAddress: '1 Main St, Springfield' },
        links: { verifyEmail: 'https://app.example.com/v?token={token}', resetPassword: 'https://app.example.com/r?token={token}' },
      }),
    ],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  const previews = (await app.get(EmailWorkflowService).previewTemplates()).filter((preview) => preview.rendered).map((preview) => preview.rendered);
  await app.close();

  const bytes = {};
  for (const encoding of ENCODINGS) {
    const sizes = await Promise.all(previews.map(async (rendered) => (await build(rendered, encoding)).length));
    bytes[encoding] = sizes.reduce((sum, size) => sum + size, 0) / sizes.length;
  }
  const htmlBytes = previews.reduce((sum, rendered) => sum + Buffer.byteLength(rendered.html), 0) / previews.length;
  console.log(`\nHTML transfer encoding: ${previews.length} built-in templates and languages, HTML ${Math.round(htmlBytes)} bytes on average; ${SECONDS} s per encoding in ${ROUNDS} alternating rounds, medians`);
  // Both warmed up first, then alternated, so neither pays the JIT and a garbage-collection phase alone.
  for (const encoding of ENCODINGS) await cpuPerMessage(previews, encoding, 0.3);
  const rounds = Object.fromEntries(ENCODINGS.map((encoding) => [encoding, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const encoding of ENCODINGS) rounds[encoding].push(await cpuPerMessage(previews, encoding, SECONDS / ROUNDS));
  }
  const cpu = Object.fromEntries(ENCODINGS.map((encoding) => [encoding, median(rounds[encoding])]));
  for (const encoding of ENCODINGS) {
    console.log(`  ${encoding.padEnd(17)} ${Math.round(bytes[encoding]).toString().padStart(6)} bytes per message   ${cpu[encoding].toFixed(3)} CPU ms to build`);
  }
  console.log(
    `  base64 / quoted-printable: ${(bytes.base64 / bytes['quoted-printable']).toFixed(2)}x the bytes, ${(cpu.base64 / cpu['quoted-printable']).toFixed(2)}x the CPU to build`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
