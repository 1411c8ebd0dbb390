import { ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { until } from './wait';

/*
 * One server process of a test's own (redis-server, dnsmasq, Postfix's master, Dovecot): spawned, waited for until
 * it answers, and ended by pid. A server that exits before it answers makes the wait reject with what it printed:
 * a test that needs it fails, it is never skipped.
 */

const STOP_TIMEOUT_MS = 5_000;

/** Processes still running, ended with SIGKILL if the test process exits without stopping them. */
const running = new Set<ServerProcess>();
process.once('exit', () => running.forEach((proc) => proc.killNow()));

export interface ServerProcessOptions {
  /**
   * Spawn it in a process group of its own, and on `stop()` end whatever of that group is left after it: for a
   * master that starts processes of its own (Postfix, Dovecot).
   */
  ownGroup?: boolean;
}

export class ServerProcess {
  private output = '';
  private spawnError?: Error;
  /** Resolves once the process has exited (or could not be spawned). */
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly ownGroup: boolean;

  constructor(
    readonly label: string,
    private readonly command: string,
    args: string[],
    { ownGroup = false }: ServerProcessOptions = {},
  ) {
    this.ownGroup = ownGroup;
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
    running.add(this);
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-6_000));
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', (error) => {
        this.spawnError = error;
        resolve();
      });
    }).then(() => void running.delete(this));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.spawnError === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The tail of what it printed so far. */
  get printed(): string {
    return this.output;
  }

  /** Why it is not running, with what it printed. */
  describeExit(): string {
    if (this.spawnError) return `${this.label}: could not run ${this.command}: ${this.spawnError.message}`;
    return `${this.label} (pid ${this.child.pid}) exited with ${this.child.signalCode ?? `code ${this.child.exitCode}`}:\n${this.output}`;
  }

  /**
   * Polls `answers` until it holds, failing at once (with what the process printed) if the process exits, and
   * with `what` once `timeoutMs` has passed.
   */
  async untilAnswers(answers: () => Promise<boolean>, what: () => string, timeoutMs: number, everyMs = 50): Promise<void> {
    await until(
      async () => {
        if (!this.running) throw new Error(this.describeExit());
        return answers();
      },
      what,
      timeoutMs,
      everyMs,
    );
  }

  /** SIGKILL by pid, as a crash would end it; resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * SIGTERM by pid (SIGKILL after 5 s) and resolves once it has exited; with `ownGroup`, then SIGTERM by pid to
   * whatever of its group is left (Dovecot leaves an imap process serving a connected client), SIGKILL after 5 s
   * more, and resolves once none is left.
   */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const force = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(force);
    }
    await this.exited;
    const pid = this.child.pid;
    if (this.ownGroup && pid !== undefined) await endGroup(pid, this.label);
  }

  /** For the exit hook: SIGKILL now, to its whole group when it has one. */
  killNow(): void {
    try {
      if (this.child.pid !== undefined) process.kill(this.ownGroup ? -this.child.pid : this.child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Living (not zombie) members of a process group, as /proc says. */
async function groupMembers(pgrp: number): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , group] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (Number(group) === pgrp && state !== 'Z' && state !== 'X') members.push(Number(entry));
  }
  return members;
}

async function endGroup(pgrp: number, label: string): Promise<void> {
  const signal = async (name: NodeJS.Signals) => {
    for (const member of await groupMembers(pgrp)) {
      try {
        process.kill(member, name);
      } catch {
        // ended meanwhile
      }
    }
  };
  const none = async () => (await groupMembers(pgrp)).length === 0;
  if (await none()) return;
  await signal('SIGTERM');
  try {
    await until(none, `the processes of ${label} to end`, STOP_TIMEOUT_MS, 20);
  } catch {
    await signal('SIGKILL');
    await until(none, `the killed processes of ${label} to end`, STOP_TIMEOUT_MS, 20);
  }
}
