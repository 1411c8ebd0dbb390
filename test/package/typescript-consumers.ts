/**
 * The TypeScript apps the packaging spec installs the tarball into: one ES module app resolving with
 * `nodenext`; one CommonJS app resolving with `node10` (which ignores "exports" and needs "typesVersions"
 * for the subpaths) without `esModuleInterop` or `allowSyntheticDefaultImports`, so no declaration the
 * package reaches may default-import a CommonJS module (nodemailer's do: ours must not reach them); and one
 * app on the tsconfig `nest new` writes. All check the package's declarations (`skipLibCheck: false`).
 */
import type { EntryPoint } from './package-contents';

export interface TypeScriptConsumer {
  /** Folder name and a word for the test titles. */
  name: string;
  nestMajor: 11 | 12;
  packageType: 'module' | 'commonjs';
  compilerOptions: Record<string, unknown>;
  /** Also installs Vitest and @nestjs/testing, and runs VITEST_SPEC_SOURCE. */
  runsVitest: boolean;
}

const CHECKED_STRICTLY = { target: 'ES2022', strict: true, skipLibCheck: false, rootDir: '.', outDir: 'out' };

export const TYPESCRIPT_CONSUMERS: readonly TypeScriptConsumer[] = [
  {
    name: 'esm-nodenext',
    nestMajor: 12,
    packageType: 'module',
    compilerOptions: { ...CHECKED_STRICTLY, module: 'nodenext', moduleResolution: 'nodenext' },
    runsVitest: true,
  },
  {
    name: 'cjs-node10',
    nestMajor: 11,
    packageType: 'commonjs',
    compilerOptions: {
      ...CHECKED_STRICTLY,
      module: 'commonjs',
      // Named rather than left to the default, so a TypeScript whose default differs cannot quietly test another resolution.
      moduleResolution: 'node10',
      // Both off, named so a TypeScript whose defaults differ cannot quietly turn them on: nodemailer's own
      // declarations default-import Node built-ins and fail without them, so ours must not reach nodemailer's.
      esModuleInterop: false,
      allowSyntheticDefaultImports: false,
    },
    runsVitest: false,
  },
  {
    name: 'nest-new-defaults',
    nestMajor: 12,
    packageType: 'commonjs',
    // The tsconfig.json of a `nest new` app (the NestJS typescript-starter), except that it checks libraries.
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      resolvePackageJsonExports: true,
      esModuleInterop: true,
      isolatedModules: true,
      declaration: true,
      removeComments: true,
      emitDecoratorMetadata: true,
      experimentalDecorators: true,
      allowSyntheticDefaultImports: true,
      target: 'ES2023',
      sourceMap: true,
      rootDir: '.',
      outDir: 'out',
      baseUrl: './',
      incremental: true,
      skipLibCheck: false,
      strictNullChecks: true,
      forceConsistentCasingInFileNames: true,
      noImplicitAny: false,
      strictBindCallApply: false,
      noFallthroughCasesInSwitch: false,
    },
    runsVitest: false,
  },
];

/**
 * src/subpaths.ts: imports every entry point the package exports, so tsc must resolve each one's types,
 * and reports each one's runtime export names as this app's module system sees them.
 */
export function subpathsSource(entryPoints: readonly EntryPoint[]): string {
  const imports = entryPoints.map((entry, index) => `import * as entryPoint${index} from '${entry.specifier}';`);
  const names = entryPoints.map((entry, index) => `  '${entry.specifier}': Object.keys(entryPoint${index}),`);
  return [
    '// Written by the packaging spec from the "exports" of the package it installed.',
    ...imports,
    '',
    'export const exportNames: Record<string, string[]> = {',
    ...names,
    '};',
    '',
  ].join('\n');
}

/** What src/main.ts prints as its last line. */
export interface ConsumerReport {
  messageId: string;
  health: Record<string, { status: string }>;
  exportNames: Record<string, string[]>;
}

/**
 * src/main.ts, the same for both apps: reads module options and the request from EMAIL_WORKFLOW_SMOKE, boots
 * the module with the transport health indicator of the `health` subpath, checks the SMTP server, sends,
 * closes and prints what it did. Modules are built as objects, since Nest's decorators would need the
 * app's tsconfig to emit decorator metadata, which is beside the point here.
 */
export const MAIN_SOURCE = `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { EmailWorkflowModule, EmailWorkflowService, type EmailWorkflowModuleOptions, type SendEmailRequest } from 'nestjs-email-workflow';
import { EmailTransportHealthIndicator } from 'nestjs-email-workflow/health';
import { exportNames } from './subpaths.js';

interface SmokeInput {
  options: EmailWorkflowModuleOptions;
  request: SendEmailRequest;
}

class SmokeAppModule {}

async function main(): Promise<void> {
  const { options, request } = JSON.parse(process.env.EMAIL_WORKFLOW_SMOKE ?? '') as SmokeInput;
  const app = await NestFactory.createApplicationContext(
    { module: SmokeAppModule, imports: [EmailWorkflowModule.forRoot(options), TerminusModule], providers: [EmailTransportHealthIndicator] },
    { logger: ['error', 'warn'] },
  );
  const health = await app.get(EmailTransportHealthIndicator).isHealthy('smtp');
  const { messageId } = await app.get(EmailWorkflowService).send(request);
  await app.close();
  console.log(JSON.stringify({ messageId, health, exportNames }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error && error.stack ? error.stack : error);
  process.exitCode = 1;
});
`;

/**
 * test/outbox.spec.ts, run by Vitest: an app's test of its sign-up email, written the way docs/testing.md shows.
 * Services come from `moduleRef.get()`, not constructor injection: Vitest compiles specs without
 * decorator metadata, which Nest would need to inject into a class declared here.
 */
export const VITEST_SPEC_SOURCE = `import 'reflect-metadata';
import { Test, type TestingModule } from '@nestjs/testing';
import { EmailWorkflowService } from 'nestjs-email-workflow';
import { EmailNotSentError, EmailWorkflowTestingModule, TestOutbox } from 'nestjs-email-workflow/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

describe('EmailWorkflowTestingModule under Vitest', () => {
  let moduleRef: TestingModule;

  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowTestingModule.forRoot({ brand: { name: 'Acme' } })] }).compile();
    await moduleRef.init();
  });

  afterEach(async () => {
    await moduleRef.close();
  });

  it('captures the verification email the service sends', async () => {
    const link = 'http://localhost:3000/verify-email?token=from-vitest';
    const { messageId } = await moduleRef.get(EmailWorkflowService).send({
      template: 'verify-email',
      to: { address: 'ada@example.test', name: 'Ada Lovelace' },
      context: { name: 'Ada', link },
    });
    const outbox = moduleRef.get(TestOutbox);
    const email = await outbox.expectSent({ template: 'verify-email', to: 'ada@example.test' });
    expect(email.messageId).toBe(messageId);
    expect(email.subject).toBe('Confirm your email address for Acme');
    expect(outbox.linksIn(email)).toContain(link);
    expect(outbox.emails).toHaveLength(1);
  });

  it('rejects a wait for an email that was never sent', async () => {
    const outbox = moduleRef.get(TestOutbox);
    await expect(outbox.expectSent({ to: 'nobody@example.test' }, { timeout: 50 })).rejects.toBeInstanceOf(EmailNotSentError);
  });
});
`;
