import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { EmailQueueDriver, EmailUser } from 'nestjs-email-workflow';

const WORKER_ENTRY = join(__dirname, 'worker-process.js');

/** Settings of test/support/worker-process.js (passed as JSON in EMAIL_WORKER_SETTINGS). */
export interface WorkerSettings {
  smtpPort: number;
  /** The queue driver, as queue.driver; Bull when unset. */
  driver?: EmailQueueDriver;
  redis: string;
  prefix: string;
  secret: string;
  concurrency?: number;
  shutdownTimeout?: number;
  settings?: { lockDuration?: number; lockRenewTime?: number; stalledInterval?: number; maxStalledCount?: number };
  /** The worker's user directory. */
  users?: EmailUser[];
  /** findByEmail reports the look-up and never answers. */
  holdLookups?: boolean;
  /** The first this many findByEmail calls throw. */
  failLookups?: number;
  /** The worker SIGKILLs itself when it emits this event. */
  dieOn?: string;
}

type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'sent'; id: string; messageId: string }
  | { type: 'lookup' }
  | { type: 'event'; event: string; payload: Record<string, unknown> }
  | { type: 'error'; message: string }
  | { type: 'closed' };

/** A worker child process running the built library, reporting each sent Message-ID, look-up and workflow event over IPC. */
export class WorkerChild {
  readonly sent: string[] = [];
  /** Look-ups its user directory was asked for. */
  lookups = 0;
  /** Workflow events it emitted (password.reset-requested, email.verification-requested). */
  readonly events: Array<{ event: string; payload: Record<string, unknown> }> = [];
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitedFlag = false;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        resolve({ code, signal });
      }),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'sent') this.sent.push(message.messageId);
        else if (message.type === 'lookup') this.lookups++;
        else if (message.type === 'event') this.events.push({ event: message.event, payload: message.payload });
        else if (message.type === 'ready') resolve();
        else if (message.type === 'error') reject(new Error(`worker ${child.pid} failed to boot: ${message.message}`));
      });
      void this.exited.then(({ code, signal }) => reject(new Error(`worker ${child.pid} exited before ready (${signal ?? code})`)));
    });
    this.ready.catch(() => undefined);
  }

  static start(settings: WorkerSettings): WorkerChild {
    const child = fork(WORKER_ENTRY, [], {
      env: { ...process.env, EMAIL_WORKER_SETTINGS: JSON.stringify(settings) },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new WorkerChild(child);
  }

  get alive(): boolean {
    return !this.exitedFlag;
  }

  /** SIGKILL: no shutdown hook runs, in-flight jobs stay active in Redis with their locks. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful: app.close(), then the child exits once every 'sent' report has reached us. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.child.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`worker ${this.child.pid} did not close cleanly (${signal ?? code})`);
  }
}
