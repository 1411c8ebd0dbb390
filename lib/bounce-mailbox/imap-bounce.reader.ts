import type { ExistsEvent, ImapFlow } from 'imapflow';
import { requireOptional } from '../optional-packages';
import { withTimeout } from '../redis';
import { connectionClosed, describeImapFailure, MissingBounceReaderDependencyError } from './bounce-mailbox.errors';
import type { BounceImapSettings, BounceMessageHandler, BounceReaderLogger, BounceReaderState, BounceReaderStatus, ReaderLease } from './bounce-mailbox.types';

type ImapFlowModule = typeof import('imapflow');

/** The lease is renewed every poll interval, but at least this often, so a short TTL stays held. */
const MAX_RENEW_EVERY_MS = 10_000;
/** For the TCP and TLS handshake, and again for the server's greeting. */
const CONNECT_TIMEOUT_MS = 15_000;
const LOGOUT_TIMEOUT_MS = 2_000;
/** How long stop() waits for the message in hand, the logout, and the lease release, each. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * `text` without the IMAP login: the user, the password, and their base64 forms as AUTHENTICATE sends them
 * (PLAIN: `\0user\0pass`; LOGIN: each alone), longest first so no secret is left half replaced.
 */
export function redactImapSecrets(text: string, auth: { user: string; pass: string }): string {
  const base64 = (value: string) => Buffer.from(value).toString('base64');
  const secrets = [base64(`\0${auth.user}\0${auth.pass}`), base64(auth.pass), base64(auth.user), auth.pass, auth.user].filter((secret) => secret.length > 0);
  return secrets.sort((a, b) => b.length - a.length).reduce((redacted, secret) => redacted.split(secret).join('[redacted]'), text);
}

/** True once `work` settled (either way) within `ms`. */
function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(work.then(() => true, () => true), ms, () => new Error('still running')).catch(() => false);
}

/**
 * Reads the bounce mailbox over IMAP (imapflow, an optional peer loaded here) while this process holds the
 * lease: each pass hands every message to the handler, oldest first, and deletes or moves it only once the
 * handler said what it is; between passes, IDLE's notice of new mail or the poll interval. A lost connection
 * is retried forever with backoff, warned about once per outage. A message whose outcome is known but that
 * could not be removed is not handed to the handler again by this process, only removed again.
 */
export class ImapBounceReader {
  private readonly imapflow: ImapFlowModule;
  private readonly where: string;
  private readonly renewEveryMs: number;
  private state: BounceReaderState = 'stopped';
  private holdsLease = false;
  private processed = 0;
  private unrecognised = 0;
  private lastPassAt?: Date;
  private lastError?: string;
  private loop?: Promise<void>;
  private stopping = false;
  private client?: ImapFlow;
  /** Failed connection attempts of the current outage; undefined while there is none. */
  private failures?: number;
  private leaseTimer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  private wakeRequested = false;
  private wakeUp?: () => void;
  private passes = 0;
  private passWaiters: Array<{ after: number; resolve: () => void; reject: (error: Error) => void }> = [];
  /** Messages (by `uidValidity:uid`) whose outcome is known but that are still in the mailbox. */
  private readonly decided = new Map<string, 'done' | 'unrecognised'>();
  /** `uidValidity:uid:what` of each warning given, so that each is given once per message. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly settings: BounceImapSettings,
    private readonly handler: BounceMessageHandler,
    private readonly lease: ReaderLease,
    private readonly logger: BounceReaderLogger,
  ) {
    this.imapflow = requireOptional('imapflow', () => require('imapflow') as ImapFlowModule, () => new MissingBounceReaderDependencyError());
    this.where = `${settings.host}:${settings.port}`;
    this.renewEveryMs = Math.min(settings.pollIntervalMs, MAX_RENEW_EVERY_MS);
  }

  /** Starts reading in the background; returns at once. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.state = 'waiting-for-lease';
    this.loop = this.run();
  }

  /** Ends the loop, logs out and releases the lease. Resolves within a bound, even with a hung server or handler. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.stopping = true;
    clearTimeout(this.leaseTimer);
    // Not connected means no message in hand: drop a connection attempt at once rather than wait it out.
    if (this.state !== 'connected') this.client?.close();
    this.wake();
    if (!(await settlesWithin(Promise.all([loop, this.renewing]), STOP_TIMEOUT_MS))) this.client?.close();
    await settlesWithin(this.lease.release(), STOP_TIMEOUT_MS);
    this.loop = undefined;
    this.holdsLease = false;
    this.state = 'stopped';
    for (const waiter of this.passWaiters.splice(0)) waiter.reject(new Error('The bounce mailbox reader stopped before its next pass.'));
  }

  status(): BounceReaderStatus {
    const { state, settings, processed, unrecognised, lastPassAt, lastError, holdsLease } = this;
    return { state, mailbox: settings.mailbox, processed, unrecognised, lastPassAt, lastError, holdsLease };
  }

  /** Resolves after the next complete pass over the mailbox, started now rather than at the next poll. */
  readOnce(): Promise<void> {
    if (!this.loop || this.stopping) return Promise.reject(new Error('The bounce mailbox reader is not running: call start() first.'));
    return new Promise((resolve, reject) => {
      this.passWaiters.push({ after: this.passes, resolve, reject });
      this.wake();
    });
  }

  private async run(): Promise<void> {
    await (this.renewing = this.renewLease());
    while (!this.stopping) {
      if (!this.holdsLease) {
        this.state = 'waiting-for-lease';
        await this.pause(this.renewEveryMs);
        continue;
      }
      this.state = this.failures === undefined ? 'connecting' : 'reconnecting';
      try {
        await this.session();
      } catch (error) {
        if (this.stopping) break;
        this.failed(error);
        const { minDelayMs, maxDelayMs } = this.settings.reconnect;
        await this.pause(Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(this.failures! - 1, 30)));
      }
    }
  }

  /** Asks for the lease, and again every renewEveryMs until stopped; a change wakes the loop to act on it. */
  private async renewLease(): Promise<void> {
    const held = await this.lease.hold().catch(() => false);
    if (this.stopping) return;
    if (held !== this.holdsLease) {
      if (held) this.say('debug', `This process now holds the bounce reader lease and reads "${this.settings.mailbox}".`);
      else this.say('log', 'This process lost the bounce reader lease: it stops reading the bounce mailbox until it holds the lease again.');
      this.holdsLease = held;
      this.wake();
    }
    this.leaseTimer = setTimeout(() => (this.renewing = this.renewLease()), this.renewEveryMs);
  }

  /** One connection: passes until stopped or the lease is lost; throws when the connection fails. */
  private async session(): Promise<void> {
    const { host, port, secure, starttls, auth, tls } = this.settings;
    const client = new this.imapflow.ImapFlow({
      host,
      port,
      secure,
      // imapflow refuses doSTARTTLS beside secure: an implicit TLS connection has nothing to upgrade.
      doSTARTTLS: secure ? undefined : starttls === 'required',
      auth: { user: auth.user, pass: auth.pass },
      tls: tls && { ...tls },
      logger: false, // its log lines carry the login
      disableAutoIdle: true, // IDLE is started after each pass, not after imapflow's own delay
      connectionTimeout: CONNECT_TIMEOUT_MS,
      greetingTimeout: CONNECT_TIMEOUT_MS,
    });
    this.client = client;
    let lost: unknown;
    client.on('error', (error: Error) => (lost = error));
    client.on('close', () => this.client === client && this.wake());
    // Only growth is news: our own deletes and moves shrink the count.
    client.on('exists', ({ count, prevCount }: ExistsEvent) => count > prevCount && this.client === client && this.wake());
    try {
      await client.connect();
      await client.mailboxOpen(this.settings.mailbox);
      this.connected();
      while (!this.stopping && this.holdsLease) {
        await this.pass(client);
        // IDLE where the server offers it (imapflow falls back to NOOP); the next command breaks it.
        client.idle().catch(() => undefined);
        await this.pause(this.settings.pollIntervalMs);
        if (!client.usable) throw connectionClosed(client.byeReason);
      }
    } catch (error) {
      throw lost ?? error;
    } finally {
      this.client = undefined;
      if (!client.usable || !(await settlesWithin(client.logout(), LOGOUT_TIMEOUT_MS))) client.close();
    }
  }

  private connected(): void {
    const again = this.failures === undefined ? '' : `, after ${this.failures} failed attempt(s)`;
    this.say('log', `${again ? 'Connected again to' : 'Reading'} the bounce mailbox "${this.settings.mailbox}" on ${this.where}${again}.`);
    this.failures = undefined;
    this.lastError = undefined;
    this.state = 'connected';
  }

  private failed(error: unknown): void {
    this.lastError = redactImapSecrets(describeImapFailure(error, this.where), this.settings.auth);
    this.state = 'reconnecting';
    if (this.failures === undefined) {
      this.say('warn', `The bounce mailbox cannot be read: ${this.lastError}. Retrying until it can, up to ${this.settings.reconnect.maxDelayMs} ms apart; reports wait in the mailbox meanwhile.`);
    } else this.say('debug', `The bounce mailbox still cannot be read (attempt ${this.failures + 1}): ${this.lastError}`);
    this.failures = (this.failures ?? 0) + 1;
  }

  /** Every message, oldest first, until a 'retry'. Waiters of readOnce() that came before this pass resolve after it. */
  private async pass(client: ImapFlow): Promise<void> {
    const pass = ++this.passes;
    this.wakeRequested = false;
    if (!client.mailbox) throw new Error('the mailbox is no longer open');
    const validity = client.mailbox.uidValidity;
    const messages = await client.fetchAll('1:*', { uid: true, size: true }, { uid: true });
    const present = new Set(messages.map(({ uid }) => `${validity}:${uid}`));
    for (const key of this.decided.keys()) if (!present.has(key)) this.decided.delete(key);
    for (const key of this.warned) if (!present.has(key.slice(0, key.lastIndexOf(':')))) this.warned.delete(key);
    for (const { uid, size } of messages.sort((a, b) => a.uid - b.uid)) {
      if (this.stopping || !this.holdsLease) return;
      if (!(await this.take(client, `${validity}:${uid}`, uid, size ?? 0))) break;
    }
    this.lastPassAt = new Date();
    this.passWaiters = this.passWaiters.filter((waiter) => (waiter.after < pass ? (waiter.resolve(), false) : true));
  }

  /** Handles one message unless its outcome is known, then removes it. False when the pass must stop here. */
  private async take(client: ImapFlow, key: string, uid: number, size: number): Promise<boolean> {
    const { mailbox, maxMessageBytes, unrecognisedMailbox } = this.settings;
    let outcome = this.decided.get(key);
    if (outcome === undefined) {
      let raw: Buffer | undefined;
      if (size <= maxMessageBytes) {
        // One byte past the cap: a server that understated the size still cannot make us read more.
        const message = await client.fetchOne(String(uid), { source: { maxLength: maxMessageBytes + 1 } }, { uid: true });
        if (!message || !message.source) return true;
        raw = message.source;
      }
      if (raw === undefined || raw.length > maxMessageBytes) {
        outcome = 'unrecognised';
        this.say('log', `Message UID ${uid} of "${mailbox}" is larger than ${maxMessageBytes} bytes, too large for a report: it goes to "${unrecognisedMailbox}" unread.`);
      } else {
        // Through then(): a handler that throws rather than rejects is a failed message too, not a lost connection.
        const handled = await Promise.resolve(raw).then((source) => this.handler.handle(source)).catch((error: Error) => {
          this.warnOnce(`${key}:handle`, `Message UID ${uid} of "${mailbox}" could not be handled (${error.message}): it stays there and is read again on the next pass.`);
          return 'retry' as const;
        });
        if (handled === 'retry') return false;
        outcome = handled;
        if (outcome === 'unrecognised') this.say('log', `Message UID ${uid} of "${mailbox}" is no bounce or complaint report: it goes to "${unrecognisedMailbox}".`);
      }
      this.decided.set(key, outcome);
      this[outcome === 'done' ? 'processed' : 'unrecognised']++;
    }
    const failed = await this.remove(client, uid, outcome);
    if (failed === undefined) this.decided.delete(key);
    else if (!client.usable) throw connectionClosed(client.byeReason);
    else this.warnOnce(`${key}:remove`, `Message UID ${uid} of "${mailbox}" could not be ${failed}: it stays there, and this process tries that again on each pass without reading it again.`);
    return true;
  }

  /** Deletes or moves a message whose outcome is known; says what could not be done, if anything. */
  private async remove(client: ImapFlow, uid: number, outcome: 'done' | 'unrecognised'): Promise<string | undefined> {
    const { afterProcessing, moveTo, unrecognisedMailbox } = this.settings;
    if (outcome === 'done' && afterProcessing === 'delete') return (await client.messageDelete(String(uid), { uid: true })) ? undefined : 'deleted';
    const target = outcome === 'done' ? moveTo : unrecognisedMailbox;
    const move = async () => Boolean(await client.messageMove(String(uid), target, { uid: true }));
    // The first move fails when the mailbox does not exist yet (TRYCREATE): create it and move again.
    const moved = (await move()) || (client.usable && (await client.mailboxCreate(target).then(() => true, () => false)) && (await move()));
    return moved ? undefined : `moved to "${target}"`;
  }

  private warnOnce(key: string, message: string): void {
    if (!this.warned.has(key)) this.say('warn', message);
    this.warned.add(key);
  }

  private say(level: keyof BounceReaderLogger, message: string): void {
    this.logger[level](redactImapSecrets(message, this.settings.auth));
  }

  /** Waits `ms`, or less when woken (new mail, a lease change, readOnce, stop); at once when a wake came meanwhile. */
  private pause(ms: number): Promise<void> {
    if (this.stopping || this.wakeRequested) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wakeUp?.(), ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  private wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wakeRequested = true;
  }
}
