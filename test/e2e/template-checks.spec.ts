/**
 * Message checks through the public API (`EmailWorkflowService.checkTemplates()`) of a booted module, and the
 * one line logged at boot in development (and only there).
 */
import { Test, TestingModule } from '@nestjs/testing';
import { generateKeyPairSync } from 'node:crypto';
import { join, relative } from 'node:path';
import { EmailWorkflowModule, EmailWorkflowService } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions, TemplateFinding } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { sleep, until } from '../support/wait';

const FIXTURES = join(__dirname, '..', 'fixtures', 'templates', 'message-checks');
const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

async function boot(overrides: Partial<EmailWorkflowModuleOptions>, logger = new CapturingLogger()): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(2525, overrides))] })
    .setLogger(logger)
    .compile();
  await moduleRef.init();
  return moduleRef;
}

async function findingsOf(overrides: Partial<EmailWorkflowModuleOptions>): Promise<TemplateFinding[]> {
  const moduleRef = await boot(overrides);
  try {
    return await moduleRef.get(EmailWorkflowService).checkTemplates();
  } finally {
    await moduleRef.close();
  }
}

/** The warnings the boot check logged (context EmailTemplateChecks). */
function bootWarnings(logger: CapturingLogger): string[] {
  return logger.entries.filter((entry) => entry.level === 'warn' && entry.params.includes('EmailTemplateChecks')).map((entry) => entry.message);
}

describe('EmailWorkflowService.checkTemplates()', () => {
  it('finds nothing in the built-ins, in every locale, with the brand’s logo too', async () => {
    expect(await findingsOf({})).toEqual([]);
    expect(await findingsOf({ brand: { name: 'Acme', logoUrl: 'https://acme.test/logo.png' }, htmlEncoding: 'quoted-printable' })).toEqual([]);
  });

  it('flags the app’s templates: over 102 KB (html-size), an http link (link-https), an image without alt (image-alt)', async () => {
    const findings = await findingsOf({ templates: { dir: FIXTURES } });
    expect(findings.map(({ template, locale, check }) => ({ template, locale, check }))).toEqual([
      { template: 'http-link', locale: '', check: 'link-https' },
      { template: 'no-alt', locale: '', check: 'image-alt' },
      { template: 'oversized', locale: '', check: 'html-size' },
    ]);
    for (const finding of findings) {
      expect(finding.file).toBe(join(FIXTURES, `${finding.template}.mjml`));
      expect(finding.message.length).toBeGreaterThan(20);
      expect(finding.fix.length).toBeGreaterThan(20);
    }
    expect(findings[0].message).toContain('http://promo.example.com/deals?week=48&tag=<script>alert(1)</script>');
  });

  it('with dkim: one finding about every message when the From domain does not align with dkim.domainName', async () => {
    const dkim = (domainName: string) => ({ dkim: { domainName, keySelector: 's2026', privateKey: PRIVATE_KEY } });
    const misaligned = await findingsOf(dkim('mailer.example.net'));
    expect(misaligned).toEqual([expect.objectContaining({ template: '*', locale: '', check: 'from-dkim-alignment' })]);
    expect(misaligned[0].message).toContain('acme.test');
    expect(misaligned[0].message).toContain('mailer.example.net');
    // From is no-reply@acme.test: the same domain, and a subdomain of it, align.
    expect(await findingsOf(dkim('acme.test'))).toEqual([]);
    expect(await findingsOf(dkim('mail.acme.test'))).toEqual([]);
  });
});

describe('message checks at boot', () => {
  const nodeEnv = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = nodeEnv;
  });

  it('in development: one warning line naming each flagged template and its checks', async () => {
    process.env.NODE_ENV = ' Development ';
    const logger = new CapturingLogger();
    const moduleRef = await boot({ templates: { dir: FIXTURES } }, logger);
    try {
      await until(() => bootWarnings(logger).length > 0, 'the boot check to log its warning');
      // Only proving no second line comes: the check runs once.
      await sleep(300);
      const warnings = bootWarnings(logger);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^3 message-check warnings: http-link \(link-https\), no-alt \(image-alt\), oversized \(html-size\)\. /);
      expect(warnings[0]).toContain(`npx nestjs-email-workflow check-templates --dir ${relative(process.cwd(), FIXTURES)}.`);
      expect(warnings[0]).not.toContain('\n');
    } finally {
      await moduleRef.close();
    }
  });

  it('in development with clean templates: no line', async () => {
    process.env.NODE_ENV = 'development';
    const logger = new CapturingLogger();
    const moduleRef = await boot({}, logger);
    try {
      // The app's own run of the same checks ends after the boot's, which started first.
      expect(await moduleRef.get(EmailWorkflowService).checkTemplates()).toEqual([]);
      await sleep(300);
      expect(bootWarnings(logger)).toEqual([]);
    } finally {
      await moduleRef.close();
    }
  });

  it.each(['test', 'production', undefined])('with NODE_ENV=%s: the checks do not run at boot', async (value) => {
    if (value === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = value;
    const logger = new CapturingLogger();
    const moduleRef = await boot({ templates: { dir: FIXTURES } }, logger);
    try {
      expect(await moduleRef.get(EmailWorkflowService).checkTemplates()).toHaveLength(3);
      await sleep(300);
      expect(bootWarnings(logger)).toEqual([]);
    } finally {
      await moduleRef.close();
    }
  });
});
