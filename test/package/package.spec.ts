/**
 * Packaging smoke test: build, `npm pack`, install the tarball into a throwaway consumer app beside
 * NestJS 11 and NestJS 12, and send a real email from a plain CommonJS script run with `node`.
 * Needs the npm registry (or a warm npm cache): the consumers are installed with `--prefer-offline`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { localOptions } from '../support/module-options';
import { linkIn, SmtpSink } from '../support/smtp-sink';

const ROOT = join(__dirname, '..', '..');
const BUILT_IN_TEMPLATES = readdirSync(join(ROOT, 'lib', 'templates', 'built-in')).filter((file) => file.endsWith('.mjml'));
const NEST_MAJORS = [11, 12] as const;
type NestMajor = (typeof NEST_MAJORS)[number];

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

describe('the packed tarball', () => {
  let workDir: string;
  let pack: PackResult;
  let tarball: string;
  let sink: SmtpSink;
  const installs = new Map<NestMajor, Promise<string>>();

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
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir, 240_000);
    return dir;
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
    // Both consumers install concurrently (npm's cache is safe to share); each test awaits its own.
    for (const major of NEST_MAJORS) {
      const install = installConsumer(major);
      install.catch(() => undefined); // reported by the test that awaits it, not as an unhandled rejection
      installs.set(major, install);
    }
  }, 300_000);

  afterAll(async () => {
    // Let any install still running finish before its folder is removed from under it.
    await Promise.allSettled(installs.values());
    await sink?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 300_000);

  it('ships the compiled entry points and every built-in template, and no sources or tests', () => {
    const paths = pack.files.map((file) => file.path.split(sep).join('/'));
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts']));
    expect(BUILT_IN_TEMPLATES.length).toBeGreaterThan(0);
    for (const template of BUILT_IN_TEMPLATES) {
      expect(paths).toContain(`dist/templates/built-in/${template}`);
    }
    expect(paths.filter((path) => /^(lib|test)\//.test(path))).toEqual([]);
    // `files` is ["dist", "README.md"]; npm adds package.json and any licence/readme/changelog on its own.
    expect(paths.filter((path) => !path.startsWith('dist/') && !/^(package\.json|(README|LICEN[CS]E|CHANGELOG)(\.\w+)?)$/i.test(path))).toEqual([]);
  });

  it.each(NEST_MAJORS)(
    'installs beside NestJS %i and sends verify-email from a plain CommonJS script',
    async (major) => {
      const dir = await installs.get(major)!;

      // The installed tree satisfies every range: npm only warns ("ERESOLVE overriding peer dependency") when a
      // dependency of ours demands a different NestJS major than the app's, and installs an invalid tree anyway.
      // (UNMET OPTIONAL DEPENDENCY lines are fine: optional peers and other platforms' binaries.)
      const tree = await execute('npm', ['ls', '--all'], dir, 60_000);
      expect(tree.stdout.split('\n').filter((line) => / (invalid|extraneous)\b|UNMET (PEER )?DEPENDENCY/.test(line))).toEqual([]);
      expect(tree.code).toBe(0);
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
});
