#!/usr/bin/env node
// Screenshots of every built-in email at 600 px (desktop client) and 375 px (phone) wide, for the
// gallery (docs/gallery.md): docs/emails/<template>-600.png and <template>-375.png, in English (the
// locale-neutral files) and in the languages of GALLERY_LOCALES (default "fr"), whose shots add
// .<locale> after the name. Every variant is still rendered and checked, shot or not.
//
//   npm run screenshots                        builds dist/ first, then runs this file
//   GALLERY_LOCALES=fr,de npm run screenshots  French and German shots too
//
// It boots the BUILT library through its public entry point (the package's self-reference), with
// the in-process queue, and screenshots `previewTemplates()` — the same sample data the dev
// template preview page uses — in Chromium through playwright-core. Nothing is sent.
//
// Chromium: /usr/bin/chromium (Debian's package), or set CHROMIUM_PATH.
'use strict';

require('reflect-metadata');
const { mkdirSync, readdirSync, rmSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { chromium } = require('playwright-core');
const { EmailWorkflowModule, EmailWorkflowService } = require('nestjs-email-workflow');

const OUT_DIR = join(__dirname, '..', 'docs', 'emails');
const WIDTHS = [600, 375];
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// Each language adds a shot per template and width to the repository; English and French show the idea.
const GALLERY_LOCALES = (process.env.GALLERY_LOCALES ?? 'fr').split(',').map((tag) => tag.trim().toLowerCase()).filter(Boolean);

class ScreenshotsModule {}
Module({
  imports: [
    EmailWorkflowModule.forRoot({
      // Never connected to: nothing is sent.
      transport: { host: '127.0.0.1', port: 2525, security: 'none' },
      from: 'Acme <no-reply@acme.com>',
      brand: { name: 'Acme', supportEmail: 'support@acme.com', postalAddress: '1 Main Street, Springfield' },
      links: {
        verifyEmail: 'https://app.acme.com/verify-email?token={token}',
        resetPassword: 'https://app.acme.com/reset-password?token={token}',
      },
      queue: false,
    }),
  ],
})(ScreenshotsModule);

function fileBase(preview) {
  return preview.locale ? `${preview.name}.${preview.locale}` : preview.name;
}

async function main() {
  const app = await NestFactory.createApplicationContext(ScreenshotsModule, { logger: ['error'] });
  let browser;
  try {
    const previews = (await app.get(EmailWorkflowService).previewTemplates()).filter((preview) => preview.builtIn);
    const broken = previews.filter((preview) => preview.error || !preview.rendered);
    if (broken.length > 0) {
      throw new Error(`templates failed to render:\n${broken.map((p) => `  ${fileBase(p)}: ${p.error}`).join('\n')}`);
    }
    const shots = previews.filter((preview) => preview.locale === '' || GALLERY_LOCALES.includes(preview.locale));

    // Old shots of a renamed or removed template would linger in the gallery otherwise.
    mkdirSync(OUT_DIR, { recursive: true });
    for (const file of readdirSync(OUT_DIR)) if (file.endsWith('.png')) rmSync(join(OUT_DIR, file));

    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const problems = [];
    for (const width of WIDTHS) {
      const page = await browser.newPage({ viewport: { width, height: 100 }, deviceScaleFactor: 1 });
      page.on('pageerror', (error) => problems.push(`${width}px: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`${width}px: ${message.text()}`);
      });
      for (const preview of shots) {
        await page.setContent(preview.rendered.html, { waitUntil: 'load' });
        const file = join(OUT_DIR, `${fileBase(preview)}-${width}.png`);
        await page.screenshot({ path: file, fullPage: true });
        console.log(`${relative(process.cwd(), file)}  ${(statSync(file).size / 1024).toFixed(0)} KiB  "${preview.rendered.subject}"`);
      }
      await page.close();
    }
    if (problems.length > 0) throw new Error(`the browser reported errors:\n  ${problems.join('\n  ')}`);
  } finally {
    if (browser) await browser.close();
    await app.close();
  }
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
