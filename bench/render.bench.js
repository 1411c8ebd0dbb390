// Render throughput: this library's templates, compiled once at boot, against MJML compiled on every
// render the way @nestjs-modules/mailer does it. Run with `npm run bench` (it builds dist first).
// BENCH_SECONDS sets how long each variant runs (default 1.5, so that the whole of `npm run bench` ends within 3 minutes).
'use strict';
require('reflect-metadata');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const Handlebars = require('handlebars');
const mjml2html = require('mjml');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { EmailWorkflowModule, EmailWorkflowService } = require('nestjs-email-workflow');
const { wrapInLayout } = require('../dist/templates/template.layout.js');

const SECONDS = Number(process.env.BENCH_SECONDS || 1.5);
const TEMPLATE = 'verify-email';
const BRAND = { name: 'Acme', primaryColor: '#2563eb', supportEmail: 'support@acme.test', postalAddress: '1 Main St, Springfield' };
const VARIABLES = {
  name: 'Ada Lovelace',
  link: 'https://app.example.com/verify-email?token=4f9c2b7e1d8a6035c1e2f3a4b5c6d7e8',
  expiresIn: '24 hours',
};

/** Runs `render` `warmup` times, then for SECONDS; returns renders per second. Awaits only promises. */
async function measure(render, warmup) {
  const batch = async (size) => {
    for (let i = 0; i < size; i++) {
      const result = render();
      if (result instanceof Promise) await result;
    }
  };
  await batch(warmup);
  const budget = SECONDS * 1e9;
  const start = process.hrtime.bigint();
  let count = 0;
  let elapsed = 0;
  do {
    await batch(20);
    count += 20;
    elapsed = Number(process.hrtime.bigint() - start);
  } while (elapsed < budget);
  return count / (elapsed / 1e9);
}

/** (a) Ours: the module compiles every template at boot; render only fills in the variables. */
async function bootLibrary() {
  class BenchModule {}
  Module({
    imports: [
      EmailWorkflowModule.forRoot({
        // Render opens no SMTP connection: nothing listens on port 9 and nothing is sent.
        transport: { host: '127.0.0.1', port: 9, security: 'none', pool: false },
        from: 'Acme <no-reply@acme.test>',
        brand: BRAND,
        links: {
          verifyEmail: 'https://app.example.com/verify-email?token={token}',
          resetPassword: 'https://app.example.com/reset-password?token={token}',
        },
      }),
    ],
  })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
}

/**
 * (b) The peer: the same template source in the same layout, with MJML compiled on every render.
 * @nestjs-modules/mailer's MjmlAdapter renders the (cached) Handlebars template, then runs mjml2html
 * on the result; the other order (mjml2html, then Handlebars on its output) is measured too.
 * The mailer's CSS inlining pass is left out, which only flatters the peer.
 */
function peerRenderers() {
  const file = join(__dirname, '..', 'lib', 'templates', 'built-in', `${TEMPLATE}.mjml`);
  const body = readFileSync(file, 'utf8').replace(/^---\r?\n[\s\S]*?\r?\n---\r?\n?/, '');
  const source = wrapInLayout(body, { primaryColor: BRAND.primaryColor, hasLogo: false });
  const handlebars = Handlebars.create();
  const template = handlebars.compile(source);
  const context = { ...VARIABLES, brand: BRAND };
  return {
    handlebarsFirst: async () => (await mjml2html(template(context))).html,
    mjmlFirst: async () => handlebars.compile((await mjml2html(source)).html)(context),
  };
}

function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  return [line(rows[0]), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main() {
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}; ${SECONDS} s per variant after warm-up`);
  console.log(`Template "${TEMPLATE}", variables: ${JSON.stringify(VARIABLES)}, brand: ${JSON.stringify(BRAND)}\n`);

  const app = await bootLibrary();
  const service = app.get(EmailWorkflowService);
  const ours = () => service.render({ template: TEMPLATE, context: VARIABLES });
  const peer = peerRenderers();

  // Each must produce the email we mean, or the numbers compare nothing.
  for (const [label, html] of [['ours', ours().html], ['peer', await peer.handlebarsFirst()], ['peer', await peer.mjmlFirst()]]) {
    if (!html.includes(VARIABLES.link.replace(/=/g, '&#x3D;')) && !html.includes(VARIABLES.link)) {
      throw new Error(`${label}: rendered HTML lacks the link`);
    }
  }

  const oursRate = await measure(ours, 2_000);
  const peerRates = [await measure(peer.handlebarsFirst, 20), await measure(peer.mjmlFirst, 20)];
  await app.close();

  const format = (rate) => Math.round(rate).toLocaleString('en-US');
  console.log(
    table([
      ['variant', 'renders/s', 'µs/render'],
      ['ours: EmailWorkflowService.render (compiled at boot)', format(oursRate), (1e6 / oursRate).toFixed(1)],
      ['peer: Handlebars, then mjml2html (mailer MjmlAdapter)', format(peerRates[0]), (1e6 / peerRates[0]).toFixed(1)],
      ['peer: mjml2html, then Handlebars', format(peerRates[1]), (1e6 / peerRates[1]).toFixed(1)],
    ]),
  );
  // Against the faster peer variant.
  const ratio = oursRate / Math.max(...peerRates);
  console.log(`\nratio: ours is ${ratio.toFixed(0)}x faster (acceptance: at least 100x) ${ratio >= 100 ? 'PASS' : 'FAIL'}`);
  if (ratio < 100) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
