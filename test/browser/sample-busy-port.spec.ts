import { spawn } from 'node:child_process';
import { createServer, Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The sample app as `npm start` runs it: compiled with its own tsconfig against the built package
// (test/global-setup.js builds dist/), then started with node.

const ROOT = join(__dirname, '..', '..');
/** Beside the other test output rather than in sample-app/dist, so a sample someone is running keeps its build. */
const SAMPLE_BUILD = join(ROOT, 'test-artifacts', 'sample-app');
/** Variables the sample reads; unset so it runs on its embedded defaults. */
const SAMPLE_ENV = ['PORT', 'APP_URL', 'SMTP_URL', 'MAIL_FROM', 'REDIS_URL', 'EMAIL_WORKFLOW_SECRET', 'DATABASE_URL', 'SAMPLE_DATA_DIR'];

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs node with `args` from the repository root, killed after `timeoutMs`. */
function runNode(args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<Finished> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SAMPLE_ENV.includes(name)));
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('sample app on a busy port', () => {
  let occupier: Server;
  /** SAMPLE_DATA_DIR: the sample's SQLite file in a folder of the test's own. */
  let dataDir: string;

  beforeAll(async () => {
    const build = await runNode([require.resolve('typescript/bin/tsc'), '-p', 'sample-app/tsconfig.json', '--outDir', SAMPLE_BUILD], 120_000);
    expect(build).toMatchObject({ code: 0, stdout: '', stderr: '' });
    dataDir = mkdtempSync(join(tmpdir(), 'sample-data-'));
    occupier = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
  }, 150_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => (occupier?.listening ? occupier.close(() => resolve()) : resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says the port is in use and how to choose another, in one line without a stack trace, and exits 1', async () => {
    const { port } = occupier.address() as AddressInfo;

    const result = await runNode([join(SAMPLE_BUILD, 'main.js')], 30_000, { PORT: String(port), SAMPLE_DATA_DIR: dataDir });

    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`Port ${port} is in use: set PORT=… to use another one.\n`);
    expect(result.stdout).not.toContain('ERROR');
    // The boot logs wait for the port: Nest's "started" line would contradict the one above.
    expect(result.stdout).not.toContain('Nest application successfully started');
    expect(`${result.stdout}${result.stderr}`).not.toContain('    at ');
  });

  it('on a free port, logs the boot (held back until the port is ours) and then where the app is', async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const { port } = free.address() as AddressInfo;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SAMPLE_ENV.includes(name)));
    const child = spawn(process.execPath, [join(SAMPLE_BUILD, 'main.js')], { cwd: ROOT, env: { ...inherited, PORT: String(port), SAMPLE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('Delivery log:')) resolve();
        });
        child.once('close', () => reject(new Error(`the sample ended before logging where it is:\n${stdout}`)));
      });
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
    const started = stdout.indexOf('Nest application successfully started');
    expect(started).toBeGreaterThan(-1);
    expect(stdout.indexOf(`Sample app:  http://localhost:${port}`)).toBeGreaterThan(started);
  }, 40_000);
});
