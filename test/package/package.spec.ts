/**
 * Packaging smoke test: build, `npm pack`, install the tarball into throwaway consumer apps and send a real
 * email from each: a plain CommonJS script run with `node` beside NestJS 11 and NestJS 12, and two strict
 * TypeScript apps (ES modules with `nodenext`, CommonJS with `node10`; see typescript-consumers.ts) that
 * import every entry point in "exports", compile with `tsc` and run. The ES module app also runs a Vitest
 * spec against `nestjs-email-workflow/testing`.
 * Needs the npm registry (or a warm npm cache): the consumers are installed with `--prefer-offline`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { localOptions } from '../support/module-options';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { entryPointsOf, PackageManifest, unintendedFiles } from './package-contents';
import {
  ConsumerReport,
  MAIN_SOURCE,
  subpathsSource,
  TYPESCRIPT_CONSUMERS,
  TypeScriptConsumer,
  VITEST_SPEC_SOURCE,
} from './typescript-consumers';

const ROOT = join(__dirname, '..', '..');
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageManifest;
const BUILT_IN_TEMPLATES = readdirSync(join(ROOT, 'lib', 'templates', 'built-in')).filter((file) => file.endsWith('.mjml'));
const NEST_MAJORS = [11, 12] as const;
type NestMajor = (typeof NEST_MAJORS)[number];
/** Names a module system adds to a CommonJS module's exports: ESM namespaces, TypeScript's `__importStar`. */
const INTEROP_NAMES = new Set(['default', '__esModule', 'module.exports']);
/** Vitest 5 needs Node 22.12; this package supports Node 20.19, so its apps may be on Vitest 4. */
const VITEST_RANGE = '^4';

interface RunResult {
  /** Exit code; null when the process was killed (see `killedBy`). */
  code: number | null;
  killedBy?: string;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, whatever its exit code. */
function execute(command: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, npm_config_update_notifier: 'false', ...env },
        // npm is a .cmd shim on Windows, which execFile can only start through a shell.
        shell: process.platform === 'win32' && command === 'npm',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        if (error.killed) return resolve({ code: null, killedBy: `${error.signal ?? 'a signal'} after ${timeoutMs} ms`, stdout, stderr });
        resolve({ code: typeof error.code === 'number' ? error.code : 1, stdout, stderr: stderr || error.message });
      },
    );
  });
}

/** Runs a command; rejects with its exit code, stdout and stderr in the message unless it exits 0. */
async function run(command: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const result = await execute(command, args, cwd, timeoutMs, env);
  if (result.code !== 0) {
    const how = result.killedBy ? `killed by ${result.killedBy}` : `exit code ${result.code}`;
    throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} failed: ${how}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
  return result;
}

/**
 * Lines of `npm ls --all` that show an invalid tree. npm only warns ("ERESOLVE overriding peer dependency") when a
 * dependency of ours demands a different NestJS major than the app's, and installs an invalid tree anyway.
 * (UNMET OPTIONAL DEPENDENCY lines are fine: optional peers and other platforms' binaries.)
 */
async function invalidTreeLines(dir: string): Promise<string[]> {
  const tree = await execute('npm', ['ls', '--all'], dir, 60_000);
  const invalid = tree.stdout.split('\n').filter((line) => / (invalid|extraneous)\b|UNMET (PEER )?DEPENDENCY/.test(line));
  return tree.code === 0 ? invalid : [...invalid, `npm ls exited with ${tree.code ?? tree.killedBy}: ${tree.stderr}`];
}

/** The version of a package installed in an app. */
function installedVersion(dir: string, name: string): string {
  return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** A package's command-line script in an app, to run with this Node rather than through an npx shim. */
function binOf(dir: string, name: string, command: string): string {
  const { bin } = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(dir, 'node_modules', name, bin[command]);
}

/** Prints, for each specifier in argv[1] (JSON), the export names `require()` gives: what an ES module import must match. */
const REQUIRED_EXPORT_NAMES_SCRIPT =
  'console.log(JSON.stringify(Object.fromEntries(JSON.parse(process.argv[1]).map((specifier) => [specifier, Object.keys(require(specifier))]))));';

/** A TypeScript consumer installed and compiled. */
interface PreparedConsumer {
  dir: string;
  compile: RunResult;
}

/** What `npm pack --json` prints, trimmed to what this spec reads. */
interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

/**
 * The consumer: plain CommonJS, no TypeScript, no test tooling. Reads module options and the request from
 * EMAIL_WORKFLOW_SMOKE, boots the module in an application context, sends, closes, and prints what it did.
 * It must exit on its own: a hang means something kept the event loop alive after `app.close()`.
 */
const CONSUMER_SCRIPT = `'use strict';
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { EmailWorkflowModule, EmailWorkflowService } = require('nestjs-email-workflow');

async function main() {
  const { options, request } = JSON.parse(process.env.EMAIL_WORKFLOW_SMOKE);
  const app = await NestFactory.createApplicationContext(EmailWorkflowModule.forRoot(options), { logger: ['error', 'warn'] });
  const result = await app.get(EmailWorkflowService).send(request);
  await app.close();
  console.log(JSON.stringify({
    messageId: result.messageId,
    nestCore: require('@nestjs/core/package.json').version,
    nestCommon: require('@nestjs/common/package.json').version,
    resolvedFrom: require.resolve('nestjs-email-workflow'),
  }));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exitCode = 1;
});
`;

/**
 * Boots the module with each option that needs an optional peer, in an app that has not installed it,
 * and prints the error each boot failed with.
 */
const OPTIONAL_PEERS_SCRIPT = `'use strict';
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { EmailWorkflowModule } = require('nestjs-email-workflow');

async function bootError(options) {
  try {
    // abortOnError: false, or NestJS 12 ends the process on a failed boot instead of throwing.
    const app = await NestFactory.createApplicationContext(EmailWorkflowModule.forRoot(options), { logger: false, abortOnError: false });
    await app.close();
    return null;
  } catch (error) {
    return { name: error.name, code: error.code, missingPackage: error.missingPackage, message: error.message };
  }
}

async function main() {
  const { options, templatesDir, redis } = JSON.parse(process.env.EMAIL_WORKFLOW_SMOKE);
  console.log(JSON.stringify({
    templatesDir: await bootError({ ...options, templates: { dir: templatesDir } }),
    redisQueue: await bootError({ ...options, queue: { redis }, secret: 'optional-peers-secret-of-32-bytes-or-more' }),
    metricsUnset: await bootError(options),
    metricsRequired: await bootError({ ...options, metrics: { enabled: true } }),
    bullMqQueue: await bootError({ ...options, queue: { redis, driver: 'bullmq' }, secret: 'optional-peers-secret-of-32-bytes-or-more' }),
  }));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exitCode = 1;
});
`;

describe('the packed tarball', () => {
  let workDir: string;
  let pack: PackResult;
  let tarball: string;
  let sink: SmtpSink;
  const installs = new Map<NestMajor, Promise<string>>();
  const typeScriptConsumers = new Map<string, Promise<PreparedConsumer>>();

  /** Installs an app's package.json in its folder, reusing npm's cache. */
  async function npmInstall(dir: string): Promise<void> {
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir, 240_000);
  }

  /** Creates a consumer app for one NestJS major and installs it; resolves to its folder. */
  async function installConsumer(major: NestMajor): Promise<string> {
    const dir = join(workDir, `consumer-nest${major}`);
    mkdirSync(dir);
    const manifest = {
      name: `email-workflow-consumer-nest${major}`,
      version: '0.0.0',
      private: true,
      dependencies: {
        'nestjs-email-workflow': `file:${tarball}`,
        '@nestjs/common': `^${major}`,
        '@nestjs/core': `^${major}`,
        'reflect-metadata': '^0.2.2',
        rxjs: '^7.8.2',
      },
    };
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(dir, 'send.js'), CONSUMER_SCRIPT);
    writeFileSync(join(dir, 'optional-peers.js'), OPTIONAL_PEERS_SCRIPT);
    await npmInstall(dir);
    return dir;
  }

  /** Creates one of the TypeScript apps with its sources, installs it and compiles it. */
  async function prepareTypeScriptConsumer(consumer: TypeScriptConsumer): Promise<PreparedConsumer> {
    const dir = join(workDir, `consumer-${consumer.name}`);
    mkdirSync(join(dir, 'src'), { recursive: true });
    const major = consumer.nestMajor;
    const devDependencies = MANIFEST.devDependencies ?? {};
    const manifest = {
      name: `email-workflow-consumer-${consumer.name}`,
      version: '0.0.0',
      private: true,
      type: consumer.packageType,
      dependencies: {
        'nestjs-email-workflow': `file:${tarball}`,
        '@nestjs/common': `^${major}`,
        '@nestjs/core': `^${major}`,
        // The optional peer the `health` subpath's declarations and indicators need.
        '@nestjs/terminus': `^${major}`,
        'reflect-metadata': '^0.2.2',
        rxjs: '^7.8.2',
        ...(consumer.runsVitest ? { '@nestjs/testing': `^${major}`, vitest: VITEST_RANGE } : {}),
      },
      // The TypeScript and Node typings this repository builds with.
      devDependencies: { typescript: devDependencies.typescript, '@types/node': devDependencies['@types/node'] },
    };
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const include = consumer.runsVitest ? ['src', 'test'] : ['src'];
    writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify({ compilerOptions: consumer.compilerOptions, include }, null, 2)}\n`);
    writeFileSync(join(dir, 'src', 'main.ts'), MAIN_SOURCE);
    writeFileSync(join(dir, 'src', 'subpaths.ts'), subpathsSource(entryPointsOf(MANIFEST)));
    if (consumer.runsVitest) {
      mkdirSync(join(dir, 'test'));
      writeFileSync(join(dir, 'test', 'outbox.spec.ts'), VITEST_SPEC_SOURCE);
    }
    await npmInstall(dir);
    // Compiled as soon as it is installed, beside the other consumers' installs, rather than in its test.
    // Checking every library's declarations takes tsc 10-15 s of CPU per app; on a loaded machine, minutes.
    const compile = await execute(process.execPath, [binOf(dir, 'typescript', 'tsc'), '-p', 'tsconfig.json'], dir, 300_000);
    return { dir, compile };
  }

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'nestjs-email-workflow-pack-'));
    // dist/ was built once by test/global-setup.js; rebuilding here would pull it from under other suites.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', workDir], ROOT, 120_000);
    // npm prints the JSON array on stdout; anything a lifecycle script printed would come before it.
    const results = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[];
    expect(results).toHaveLength(1);
    pack = results[0];
    tarball = join(workDir, pack.filename);
    sink = await SmtpSink.start();
    // The consumers install concurrently (npm's cache is safe to share); each test awaits its own.
    for (const major of NEST_MAJORS) {
      const install = installConsumer(major);
      install.catch(() => undefined); // reported by the test that awaits it, not as an unhandled rejection
      installs.set(major, install);
    }
    for (const consumer of TYPESCRIPT_CONSUMERS) {
      const prepared = prepareTypeScriptConsumer(consumer);
      prepared.catch(() => undefined); // as above
      typeScriptConsumers.set(consumer.name, prepared);
    }
  }, 300_000);

  afterAll(async () => {
    // Let any install still running finish before its folder is removed from under it.
    await Promise.allSettled([...installs.values(), ...typeScriptConsumers.values()]);
    await sink?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 300_000);

  it('ships the compiled entry points, every built-in template and the licence, and no sources, tests or maps', () => {
    const paths = pack.files.map((file) => file.path.split(sep).join('/'));
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']));
    expect(BUILT_IN_TEMPLATES.length).toBeGreaterThan(0);
    for (const template of BUILT_IN_TEMPLATES) {
      expect(paths).toContain(`dist/templates/built-in/${template}`);
    }
    expect(paths.filter((path) => /^(lib|test)\//.test(path))).toEqual([]);
    // `files` is ["dist", "README.md"]; npm adds package.json and any licence/readme/changelog on its own.
    expect(paths.filter((path) => !path.startsWith('dist/') && !/^(package\.json|(README|LICEN[CS]E|CHANGELOG)(\.\w+)?)$/i.test(path))).toEqual([]);
    expect(unintendedFiles(paths)).toEqual([]);
  });

  it.each(NEST_MAJORS)(
    'installs beside NestJS %i and sends verify-email from a plain CommonJS script',
    async (major) => {
      const dir = await installs.get(major)!;

      expect(await invalidTreeLines(dir)).toEqual([]);
      sink.messages.length = 0;
      const link = `http://localhost:3000/verify-email?token=smoke-nest${major}`;
      const smoke = {
        options: localOptions(sink.port),
        request: { template: 'verify-email', to: { address: 'ada@example.test', name: 'Ada Lovelace' }, context: { name: 'Ada', link } },
      };

      const { stdout, stderr } = await run(process.execPath, ['send.js'], dir, 60_000, { EMAIL_WORKFLOW_SMOKE: JSON.stringify(smoke) });
      // A plain consumer run is silent on stderr: no Nest warnings, no Node warnings about loading our CommonJS.
      expect(stderr).toBe('');
      const report = JSON.parse(stdout.trim().split('\n').pop()!) as { messageId: string; nestCore: string; nestCommon: string; resolvedFrom: string };

      // It ran against the requested NestJS major and against the installed tarball, not this checkout.
      expect(report.nestCore.split('.')[0]).toBe(String(major));
      expect(report.nestCommon.split('.')[0]).toBe(String(major));
      expect(report.resolvedFrom).toBe(join(dir, 'node_modules', 'nestjs-email-workflow', 'dist', 'index.js'));

      const [mail] = await sink.waitForMessages(1);
      expect(sink.messages).toHaveLength(1);
      expect(mail.messageId).toBe(report.messageId);
      expect(mail.subject).toBe('Confirm your email address for Acme');
      expect(mail.to && !Array.isArray(mail.to) && mail.to.value).toEqual([{ address: 'ada@example.test', name: 'Ada Lovelace' }]);
      expect(mail.html).toContain('<!doctype html>');
      expect(linkIn(mail.html as string, link)).toBe(link);
      expect(mail.text).toContain(link);
      expect(mail.text).toContain('Hi Ada,');
    },
    300_000,
  );

  it('installs neither mjml, bull, bullmq nor @opentelemetry/api, and an option that needs one fails the boot saying what to install', async () => {
    const dir = await installs.get(12)!;
    for (const optional of ['mjml', 'bull', 'bullmq', '@nestjs/bullmq', '@opentelemetry/api']) expect(existsSync(join(dir, 'node_modules', optional))).toBe(false);
    const smoke = { options: localOptions(sink.port), templatesDir: join(ROOT, 'test', 'fixtures', 'templates', 'overrides'), redis: 'redis://127.0.0.1:6379' };

    const { stdout } = await run(process.execPath, ['optional-peers.js'], dir, 60_000, { EMAIL_WORKFLOW_SMOKE: JSON.stringify(smoke) });
    const report = JSON.parse(stdout.trim().split('\n').pop()!);

    expect(report.templatesDir).toMatchObject({ name: 'DependencyMissingError', code: 'EMAIL_WORKFLOW_DEPENDENCY_MISSING', missingPackage: 'mjml' });
    expect(report.templatesDir.message).toContain('npm install mjml');
    expect(report.redisQueue).toMatchObject({ name: 'DependencyMissingError', code: 'EMAIL_WORKFLOW_DEPENDENCY_MISSING', missingPackage: 'bull' });
    expect(report.redisQueue.message).toContain('npm install bull');
    // Metrics are recorded only when the API is there: without it the module boots, unless they are required.
    expect(report.metricsUnset).toBeNull();
    expect(report.metricsRequired).toMatchObject({ name: 'DependencyMissingError', code: 'EMAIL_WORKFLOW_DEPENDENCY_MISSING', missingPackage: '@opentelemetry/api' });
    expect(report.metricsRequired.message).toContain('npm install @opentelemetry/api');
    // Each driver asks for its own package only.
    expect(report.bullMqQueue).toMatchObject({ name: 'DependencyMissingError', code: 'EMAIL_WORKFLOW_DEPENDENCY_MISSING', missingPackage: 'bullmq' });
    expect(report.bullMqQueue.message).toContain("queue.driver: 'bullmq'");
    expect(report.bullMqQueue.message).toContain('npm install bullmq');
  }, 300_000);

  it.each(TYPESCRIPT_CONSUMERS.map((consumer) => [consumer.name, consumer] as const))(
    'compiles into a strict TypeScript app (%s) importing every entry point, and sends verify-email from it',
    async (_name, consumer) => {
      const { dir, compile } = await typeScriptConsumers.get(consumer.name)!;
      expect(await invalidTreeLines(dir)).toEqual([]);
      expect(installedVersion(dir, '@nestjs/core').split('.')[0]).toBe(String(consumer.nestMajor));

      // tsc reports type errors on stdout; a clean compile prints nothing.
      expect(compile.stdout).toBe('');
      expect({ code: compile.code, killedBy: compile.killedBy }).toEqual({ code: 0, killedBy: undefined });

      sink.messages.length = 0;
      const link = `http://localhost:3000/verify-email?token=smoke-${consumer.name}`;
      const smoke = {
        options: localOptions(sink.port),
        request: { template: 'verify-email', to: { address: 'ada@example.test', name: 'Ada Lovelace' }, context: { name: 'Ada', link } },
      };
      const { stdout, stderr } = await run(process.execPath, [join('out', 'src', 'main.js')], dir, 60_000, { EMAIL_WORKFLOW_SMOKE: JSON.stringify(smoke) });
      expect(stderr).toBe('');
      const report = JSON.parse(stdout.trim().split('\n').pop()!) as ConsumerReport;
      expect(report.health.smtp.status).toBe('up');

      // Every entry point loaded, with the names `require()` gives it: in the ES module app that means Node
      // found each named export of our CommonJS files, so `import { X } from ...` works for all of them.
      const specifiers = entryPointsOf(MANIFEST).map((entry) => entry.specifier);
      expect(specifiers).toEqual(
        expect.arrayContaining(['nestjs-email-workflow', 'nestjs-email-workflow/health', 'nestjs-email-workflow/testing', 'nestjs-email-workflow/dev-inbox']),
      );
      const required = await run(process.execPath, ['-e', REQUIRED_EXPORT_NAMES_SCRIPT, JSON.stringify(specifiers)], dir, 60_000);
      const requiredNames = JSON.parse(required.stdout) as Record<string, string[]>;
      expect(Object.keys(report.exportNames)).toEqual(specifiers);
      for (const specifier of specifiers) {
        expect(requiredNames[specifier].length).toBeGreaterThan(0);
        const imported = report.exportNames[specifier].filter((name) => !INTEROP_NAMES.has(name)).sort();
        expect({ specifier, names: imported }).toEqual({ specifier, names: [...requiredNames[specifier]].sort() });
      }

      const [mail] = await sink.waitForMessages(1);
      expect(sink.messages).toHaveLength(1);
      expect(mail.messageId).toBe(report.messageId);
      expect(mail.subject).toBe('Confirm your email address for Acme');
      expect(linkIn(mail.html as string, link)).toBe(link);
    },
    600_000,
  );

  it('runs a Vitest spec of an app against nestjs-email-workflow/testing, and every test passes', async () => {
    const consumer = TYPESCRIPT_CONSUMERS.find((candidate) => candidate.runsVitest)!;
    const { dir } = await typeScriptConsumers.get(consumer.name)!;
    const reportFile = join(dir, 'vitest-report.json');
    const vitest = await execute(
      process.execPath,
      [binOf(dir, 'vitest', 'vitest'), 'run', '--dir', 'test', '--reporter=json', `--outputFile=${reportFile}`],
      dir,
      120_000,
    );
    const output = `exit ${vitest.code ?? vitest.killedBy}\n--- stdout ---\n${vitest.stdout}\n--- stderr ---\n${vitest.stderr}`;
    if (!existsSync(reportFile)) throw new Error(`Vitest wrote no report:\n${output}`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
      numTotalTests: number;
      numPassedTests: number;
      testResults: Array<{ assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
    };
    const results = report.testResults.flatMap((file) => file.assertionResults);
    const testsInSpec = VITEST_SPEC_SOURCE.match(/^\s*it\(/gm)?.length ?? 0;

    expect(results.filter((result) => result.status !== 'passed')).toEqual([]);
    expect(testsInSpec).toBeGreaterThan(0);
    expect({ total: report.numTotalTests, passed: report.numPassedTests }).toEqual({ total: testsInSpec, passed: testsInSpec });
    // Compared with the output beside it, so a failure shows what Vitest printed.
    expect({ code: vitest.code, output }).toEqual({ code: 0, output: expect.any(String) });
    // Vitest reads the maps a package ships and warns for each that points at sources the tarball lacks.
    expect(output).not.toMatch(/sourcemap/i);
  }, 300_000);
});
