import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';
import { until } from './wait';

// A throw-away PostgreSQL cluster: initdb into a temporary folder, a postmaster on a free loopback
// port (its socket in that folder too), stopped and deleted at the end. Debian's server binaries
// (apt-get install postgresql, as .ci/run does) live in /usr/lib/postgresql/<version>/bin, off PATH.
// initdb and postgres refuse to run as root: as root, the cluster belongs to the `postgres` user the
// Debian package creates. A server that cannot start throws, so the test fails rather than skips.

const DEBIAN_ROOT = '/usr/lib/postgresql';

/** The bin folder of the newest PostgreSQL installed the Debian way. */
function binaries(): string {
  const versions = existsSync(DEBIAN_ROOT) ? readdirSync(DEBIAN_ROOT).filter((name) => /^\d+$/.test(name)) : [];
  const bin = versions
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(DEBIAN_ROOT, version, 'bin'))
    .find((folder) => existsSync(join(folder, 'initdb')) && existsSync(join(folder, 'pg_ctl')));
  if (!bin) throw new Error(`No PostgreSQL server under ${DEBIAN_ROOT}/<version>/bin: install it (apt-get install postgresql, as .ci/run does).`);
  return bin;
}

/** Who runs the server: this user, or `postgres` when this is root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) };
  } catch {
    throw new Error('Running as root, and there is no `postgres` user to run PostgreSQL as (initdb refuses root).');
  }
}

function run(command: string, args: string[], user: { uid: number; gid: number } | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...user, timeout: timeoutMs, env: { PATH: process.env.PATH ?? '', LC_ALL: 'C.UTF-8' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

export class ThrowAwayPostgres {
  private constructor(
    private readonly folder: string,
    private readonly bin: string,
    private readonly user: { uid: number; gid: number } | undefined,
    readonly port: number,
    /** The postmaster's process id, to stop it even if pg_ctl cannot. */
    readonly pid: number,
  ) {}

  /** initdb, then a postmaster on 127.0.0.1:<free port>, ready for connections (within 30 s), or it throws. */
  static async start(): Promise<ThrowAwayPostgres> {
    const bin = binaries();
    const user = serverUser();
    const folder = mkdtempSync(join(tmpdir(), 'pg-'));
    if (user) chownSync(folder, user.uid, user.gid);
    const data = join(folder, 'data');
    try {
      await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], user, 60_000);
      const port = await freePort();
      const serverOptions = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      await run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(folder, 'server.log'), '-o', serverOptions, '-w', '-t', '30', 'start'], user, 40_000);
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const server = new ThrowAwayPostgres(folder, bin, user, port, pid);
      await until(() => server.accepts(), `PostgreSQL on 127.0.0.1:${port} to accept connections`, 30_000, 100);
      return server;
    } catch (error) {
      const log = existsSync(join(folder, 'server.log')) ? readFileSync(join(folder, 'server.log'), 'utf8') : '';
      await stopQuietly(bin, data, user);
      rmSync(folder, { recursive: true, force: true });
      throw new Error(`${(error as Error).message}${log ? `\nserver log:\n${log}` : ''}`);
    }
  }

  /** A connection URL to `database` as the superuser. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates an empty database and gives its URL. */
  async createDatabase(name: string): Promise<string> {
    const client = new Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** Stops the server at once (no checkpoint: the data is thrown away) and deletes its folder. */
  async stop(): Promise<void> {
    await stopQuietly(this.bin, join(this.folder, 'data'), this.user);
    try {
      process.kill(this.pid, 0);
      process.kill(this.pid, 'SIGQUIT');
      await until(() => !alive(this.pid), `the postmaster (pid ${this.pid}) to exit`, 10_000, 50);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    rmSync(this.folder, { recursive: true, force: true });
  }

  private async accepts(): Promise<boolean> {
    const client = new Client({ connectionString: this.url(), connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function stopQuietly(bin: string, data: string, user: { uid: number; gid: number } | undefined): Promise<void> {
  if (!existsSync(join(data, 'postmaster.pid'))) return;
  await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '15', 'stop'], user, 20_000).catch(() => undefined);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
