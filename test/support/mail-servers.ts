import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { freePort } from './free-port';
import { ServerProcess } from './server-process';
import { makeTestCertificates, runCommand } from './test-certificates';
import type { TestCertificates } from './test-certificates';
import { until } from './wait';

/*
 * Real mail servers for the bounce tests (issue 22): Debian's Postfix as the relay the library sends through, and
 * Debian's Dovecot as the IMAP server of the bounce mailbox. Each helper runs an instance of its own, with its
 * own configuration in a temporary folder and listening on a free loopback port, never the system's
 * /etc/postfix or /etc/dovecot. `stop()` ends its processes by pid and removes the folder. A server that cannot
 * start makes `start()` reject with what it printed and logged: a test that needs it fails, it is never skipped.
 *
 * The way a bounce travels:
 *   nodemailer ──SMTP──▶ ThrowawayPostfix (mydestination = localDomain, every local part accepted)
 *     unknown@localDomain  → local(8): "unknown user" → 5.1.1 bounce, later, as a DSN to the envelope sender
 *     a deferAddresses one → smtp(8) to a loopback host that answers 421 → deferred; after delayWarningTime a
 *                            delay DSN (Action: delayed) goes to the envelope sender
 *   the envelope sender, e.g. bounces+tag@bounceTo.domain → virtual(8) → the Maildir bounceTo.maildir
 *   ThrowawayDovecot serves <mailDir>/<user> as that user's INBOX over IMAP (plain, or STARTTLS with a test CA)
 *
 * Privileges: Postfix's master runs only as root, so ThrowawayPostfix needs the test suite to run as root.
 * Dovecot runs as root too when it can (its own processes then drop to dovecot/dovenull, and mail is read as the
 * mail owner below); started by another user it runs rootless, as that user.
 */

const HOST = '127.0.0.1';
const POSTFIX = process.env.POSTFIX_BIN ?? '/usr/sbin/postfix';
const POSTCONF = process.env.POSTCONF_BIN ?? '/usr/sbin/postconf';
const POSTQUEUE = process.env.POSTQUEUE_BIN ?? '/usr/sbin/postqueue';
const DOVECOT = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';

const isRoot = () => process.getuid?.() === 0;


async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

const tail = (text: string, chars = 6_000) => (text.length > chars ? `…${text.slice(-chars)}` : text);

/**
 * The first line a server sends on a new connection on `port` (SMTP 220, IMAP `* OK`); `bye` is sent before
 * closing, so the server logs a clean end rather than a lost connection.
 */
function greeting(port: number, bye: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, HOST);
    let received = '';
    let settled = false;
    const settle = (error: Error | undefined, line?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        socket.end(bye);
        resolve(line!);
      }
    };
    const timer = setTimeout(() => settle(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\r\n');
      if (end >= 0) settle(undefined, received.slice(0, end));
    });
    socket.on('error', (error) => settle(error));
    socket.on('close', () => settle(new Error(`connection closed before a greeting (${JSON.stringify(received)})`)));
  });
}

/** Waits until the server greets on `port` with a line matching `expected`, failing at once if it exits. */
async function untilGreets(proc: ServerProcess, port: number, expected: RegExp, bye: string, explain: () => Promise<string>, timeoutMs = 15_000): Promise<void> {
  let last = 'no answer yet';
  try {
    await proc.untilAnswers(
      async () => {
        try {
          last = await greeting(port, bye);
          return expected.test(last);
        } catch (error) {
          last = (error as Error).message;
          return false;
        }
      },
      () => `${proc.label} to greet on ${HOST}:${port} (${last})`,
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await explain()}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mail folders
// ---------------------------------------------------------------------------------------------------------

export interface MailOwner {
  user: string;
  group: string;
  uid: number;
  gid: number;
}

/**
 * Who owns the Maildirs: Postfix's virtual(8) delivers as this user and Dovecot reads as it. Neither delivers to
 * nor serves uid 0, so as root it is `nobody` (Debian: 65534:65534); otherwise the user running the tests.
 */
export async function mailOwner(): Promise<MailOwner> {
  const groupName = async (gid: number) =>
    (await readText('/etc/group'))
      .split('\n')
      .map((entry) => entry.split(':'))
      .find((fields) => fields[2] === String(gid))?.[0] ?? String(gid);
  if (!isRoot()) {
    const me = userInfo();
    return { user: me.username, group: await groupName(me.gid), uid: me.uid, gid: me.gid };
  }
  const line = (await readText('/etc/passwd')).split('\n').find((entry) => entry.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('no user "nobody" in /etc/passwd: the Maildirs need a non-root owner');
  return { user: 'nobody', group: await groupName(Number(gid)), uid: Number(uid), gid: Number(gid) };
}

/**
 * A temporary folder for Maildirs (one per mailbox: `<dir>/<user>`), owned by the mail owner, so that Postfix can
 * deliver into it and Dovecot serve it. Remove it with `rm(dir, { recursive: true, force: true })`.
 */
export async function createMailDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ew-mail-'));
  const owner = await mailOwner();
  if (isRoot()) await chown(dir, owner.uid, owner.gid);
  await chmod(dir, 0o700);
  return dir;
}

/** Creates `maildir` with its new/, cur/ and tmp/ (and its parent) as the mail owner, unless they exist. */
async function ensureMaildir(maildir: string, owner: MailOwner): Promise<void> {
  for (const path of [dirname(maildir), maildir, join(maildir, 'new'), join(maildir, 'cur'), join(maildir, 'tmp')]) {
    await mkdir(path, { recursive: true, mode: 0o700 });
    if (isRoot()) {
      const info = await stat(path);
      if (info.uid !== owner.uid) await chown(path, owner.uid, owner.gid);
    }
  }
}

/** The files of the messages in a Maildir (new/ and cur/), oldest name first. */
export async function maildirMessages(maildir: string): Promise<string[]> {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    try {
      for (const name of (await readdir(join(maildir, sub))).sort()) files.push(join(maildir, sub, name));
    } catch {
      // no such folder yet
    }
  }
  return files;
}

// ---------------------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------
// Postfix
// ---------------------------------------------------------------------------------------------------------

const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$/;
const POSTFIX_TIME = /^\d+[smhdw]?$/;

export interface ThrowawayPostfixOptions {
  /**
   * Postfix's `mydestination`: every local part of it is accepted at SMTP (`local_recipient_maps =` empty), and
   * one that is no user of this machine is bounced afterwards by local(8) ("unknown user", 5.1.1) with a DSN to
   * the envelope sender. Use local parts that are no system user (a test never writes to /var/mail: a local
   * part that is one lands in this instance's spool folder).
   */
  localDomain: string;
  /** Every address of `domain` (e.g. bounces+<tag>@domain) is delivered into the Maildir `maildir`. */
  bounceTo?: { domain: string; maildir: string };
  /**
   * Addresses (of any domain) relayed to a loopback host that answers every connection with
   * `421 4.3.2`: accepted at SMTP (250), then deferred and retried every second.
   */
  deferAddresses?: string[];
  /**
   * Postfix's `delay_warning_time` (`1s`, `2m`, …): a delay DSN (Action: delayed) once a deferred message is that
   * old. Default off. Postfix counts whole seconds, so with `1s` the notice may follow the very first deferral.
   */
  delayWarningTime?: string;
  /** Postfix's `maximal_queue_lifetime` and `bounce_queue_lifetime`: a deferred message bounces after it. Default 5d. */
  maximalQueueLifetime?: string;
}

/** One message in the queue, as `postqueue -j` lists it. */
export interface PostfixQueueEntry {
  queue_name: string;
  queue_id: string;
  arrival_time: number;
  message_size: number;
  sender: string;
  recipients: Array<{ address: string; delay_reason?: string }>;
}

/** The queue id in an SMTP reply to DATA, e.g. `250 2.0.0 Ok: queued as 4F2C520C472` → `4F2C520C472`. */
export function queueIdOf(reply: string): string {
  const match = /queued as ([0-9A-Za-z]+)/.exec(reply);
  if (!match) throw new Error(`no "queued as <id>" in the reply ${JSON.stringify(reply)}`);
  return match[1];
}

/** The reply every deferring connection gets. */
export const DEFER_REPLY = '421 4.3.2 Throwaway deferring host: try again later';

/**
 * A Postfix of its own (`master -c <dir>/conf`), SMTP on a free loopback port, relaying nowhere outside this
 * machine: local parts of `localDomain` are accepted then bounced when unknown, `bounceTo.domain` is delivered
 * into a Maildir, `deferAddresses` are deferred (and, with `delayWarningTime`, warned about), any other domain is
 * refused at RCPT (5.7.1). Queue runs every second. The log (`maillog_file`) is in the folder: `log()`.
 */
export class ThrowawayPostfix {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly proc: ServerProcess,
    private readonly deferHost: DeferringHost,
  ) {}

  static async start(options: ThrowawayPostfixOptions): Promise<ThrowawayPostfix> {
    const { localDomain, bounceTo, deferAddresses = [], delayWarningTime = '0h', maximalQueueLifetime = '5d' } = options;
    if (!isRoot()) throw new Error(`Postfix's master runs only as root, and this test runs as uid ${process.getuid?.()}: run the test suite as root`);
    if (!DOMAIN.test(localDomain)) throw new Error(`not a domain name: ${localDomain}`);
    if (bounceTo && !DOMAIN.test(bounceTo.domain)) throw new Error(`not a domain name: ${bounceTo.domain}`);
    if (bounceTo && bounceTo.domain.toLowerCase() === localDomain.toLowerCase()) throw new Error('bounceTo.domain must differ from localDomain');
    if (bounceTo && (!bounceTo.maildir.startsWith('/') || /[\s,$]/.test(bounceTo.maildir))) throw new Error(`an absolute Maildir path without spaces, ',' or '$': ${bounceTo.maildir}`);
    for (const address of deferAddresses) if (!ADDRESS.test(address)) throw new Error(`not an address: ${address}`);
    for (const time of [delayWarningTime, maximalQueueLifetime]) if (!POSTFIX_TIME.test(time)) throw new Error(`not a Postfix time (like 1s, 2m, 1h): ${time}`);

    const dir = await mkdtemp(join(tmpdir(), 'ew-postfix-'));
    let deferHost: DeferringHost | undefined;
    let proc: ServerProcess | undefined;
    const maillog = join(dir, 'maillog');
    const explain = async () => `maillog:\n${tail(await readText(maillog))}`;
    try {
      // Postfix's daemons run as the postfix user and chdir into the queue: the folder must be traversable.
      await chmod(dir, 0o711);
      const conf = join(dir, 'conf');
      await mkdir(conf);
      await mkdir(join(dir, 'queue'));
      await mkdir(join(dir, 'spool'));
      await chmod(join(dir, 'spool'), 0o1777);
      const owner = await mailOwner();
      if (bounceTo) await ensureMaildir(bounceTo.maildir, owner);
      deferHost = await DeferringHost.start();
      const port = await freePort();
      await writeFile(join(conf, 'main.cf'), postfixMainCf({ dir, localDomain, bounceTo, owner, delayWarningTime, maximalQueueLifetime }));
      await writeFile(join(conf, 'master.cf'), postfixMasterCf(port));
      await writeFile(join(conf, 'transport'), deferAddresses.map((address) => `${address.toLowerCase()} smtp:[${HOST}]:${deferHost!.port}\n`).join(''));
      await writeFile(join(conf, 'bounce.cf'), BOUNCE_TEMPLATES);
      // `postfix check` creates the queue's subfolders and the data folder with their owners and modes
      // (post-install create-missing), and refuses a configuration it cannot run.
      try {
        await runCommand(POSTFIX, ['-c', conf, 'check']);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${await explain()}`);
      }
      // The master itself as the spawned process, stopped by its pid: -d keeps it in the foreground with its output
      // (it would otherwise redirect it to /dev/null), and it passes SIGTERM on to its process group.
      const daemonDirectory = (await runCommand(POSTCONF, ['-d', '-h', 'daemon_directory'])).trim();
      proc = new ServerProcess(`Postfix master on ${port}`, join(daemonDirectory, 'master'), ['-c', conf, '-d'], { ownGroup: true });
      await untilGreets(proc, port, /^220 /, 'QUIT\r\n', explain);
      return new ThrowawayPostfix(dir, port, proc, deferHost);
    } catch (error) {
      await proc?.stop();
      await deferHost?.close();
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get host(): string {
    return HOST;
  }

  /** The configuration folder (main.cf, master.cf), as given to `postfix -c`, `postqueue -c`, `postconf -c`. */
  get configDir(): string {
    return join(this.dir, 'conf');
  }

  /** Postfix's log so far (maillog_file). */
  log(): Promise<string> {
    return readText(join(this.dir, 'maillog'));
  }

  /** Waits until a log line matches `pattern`, and returns its match. */
  async untilLogged(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    let match: RegExpExecArray | null = null;
    await until(
      async () => {
        match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(await this.log());
        return match !== null;
      },
      `Postfix to log ${pattern}`,
      timeoutMs,
      50,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\nmaillog:\n${tail(await this.log())}`);
    });
    return match!;
  }

  /** What is in the queue now (`postqueue -j`): deferred messages with their reason. */
  async queue(): Promise<PostfixQueueEntry[]> {
    const out = await runCommand(POSTQUEUE, ['-c', this.configDir, '-j']);
    return out
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as PostfixQueueEntry);
  }

  /** Attempts every deferred message now (`postqueue -f`). */
  async flush(): Promise<void> {
    await runCommand(POSTQUEUE, ['-c', this.configDir, '-f']);
  }

  /** Ends the master (SIGTERM by pid) and every Postfix process it started, the deferring host, and removes the folder. */
  async stop(): Promise<void> {
    await this.proc.stop();
    await this.deferHost.close();
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function postfixMainCf({
  dir,
  localDomain,
  bounceTo,
  owner,
  delayWarningTime,
  maximalQueueLifetime,
}: {
  dir: string;
  localDomain: string;
  bounceTo?: { domain: string; maildir: string };
  owner: MailOwner;
  delayWarningTime: string;
  maximalQueueLifetime: string;
}): string {
  const nowhere = 'error:5.7.1 this throwaway relay delivers to no other domain';
  return [
    '# Written by test/support/mail-servers.ts (ThrowawayPostfix) for one test; removed when it stops.',
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    // No syslog in a container: the log goes to a file of its own, through postlogd (master.cf).
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    `myhostname = mx.${localDomain}`,
    `mydomain = ${localDomain}`,
    `myorigin = ${localDomain}`,
    `mydestination = ${localDomain}`,
    'mynetworks = 127.0.0.0/8',
    'smtpd_banner = $myhostname ESMTP throwaway Postfix',
    'biff = no',
    // Every local part is accepted at SMTP; local(8) then bounces the ones that are no user ("unknown user",
    // 5.1.1), and the DSN goes to the envelope sender: the asynchronous bounce a relay gives.
    'local_recipient_maps =',
    'alias_maps =',
    'alias_database =',
    'forward_path =',
    'allow_mail_to_commands =',
    'allow_mail_to_files =',
    // A local part that is a user of this machine is delivered here, never to /var/mail.
    `mail_spool_directory = ${dir}/spool/`,
    // The bounce domain: every address of it into one Maildir, written as the mail owner.
    ...(bounceTo
      ? [
          `virtual_mailbox_domains = ${bounceTo.domain}`,
          `virtual_mailbox_base = ${dirname(bounceTo.maildir)}`,
          `virtual_mailbox_maps = static:${basename(bounceTo.maildir)}/`,
          `virtual_uid_maps = static:${owner.uid}`,
          `virtual_gid_maps = static:${owner.gid}`,
          `virtual_minimum_uid = ${Math.max(1, Math.min(owner.uid, 100))}`,
        ]
      : ['virtual_mailbox_domains =']),
    // The deferred addresses go to the deferring host; nothing else leaves: other domains are refused at RCPT.
    `transport_maps = texthash:${dir}/conf/transport`,
    `default_transport = ${nowhere}`,
    `relay_transport = ${nowhere}`,
    'smtp_dns_support_level = disabled',
    'smtp_connect_timeout = 5s',
    // Retry deferred mail every second, so a delay warning of a second or two arrives within a test.
    `delay_warning_time = ${delayWarningTime}`,
    'queue_run_delay = 1s',
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 1s',
    `maximal_queue_lifetime = ${maximalQueueLifetime}`,
    `bounce_queue_lifetime = ${maximalQueueLifetime}`,
    // The built-in delay notice states delay_warning_time in hours (0 for seconds, with a warning logged).
    `bounce_template_file = ${dir}/conf/bounce.cf`,
    '',
  ].join('\n');
}

/** Debian's master.cf without chroot (this queue has no chroot files), and SMTP only on 127.0.0.1:<port>. */
function postfixMasterCf(port: number): string {
  return [
    '# service type  private unpriv  chroot  wakeup  maxproc command',
    `${HOST}:${port} inet n - n - - smtpd`,
    'pickup    unix  n       -       n       60      1       pickup',
    'cleanup   unix  n       -       n       -       0       cleanup',
    'qmgr      unix  n       -       n       300     1       qmgr',
    'rewrite   unix  -       -       n       -       -       trivial-rewrite',
    'bounce    unix  -       -       n       -       0       bounce',
    'defer     unix  -       -       n       -       0       bounce',
    'trace     unix  -       -       n       -       0       bounce',
    'verify    unix  -       -       n       -       1       verify',
    'flush     unix  n       -       n       1000?   0       flush',
    'proxymap  unix  -       -       n       -       -       proxymap',
    'proxywrite unix -       -       n       -       1       proxymap',
    'showq     unix  n       -       n       -       -       showq',
    'error     unix  -       -       n       -       -       error',
    'retry     unix  -       -       n       -       -       error',
    'discard   unix  -       -       n       -       -       discard',
    'local     unix  -       n       n       -       -       local',
    'virtual   unix  -       n       n       -       -       virtual',
    'smtp      unix  -       -       n       -       -       smtp',
    'anvil     unix  -       -       n       -       1       anvil',
    'scache    unix  -       -       n       -       1       scache',
    'postlog   unix-dgram n  -       n       -       1       postlogd',
    '',
  ].join('\n');
}

/** Postfix's built-in delay template, with the delay in seconds. */
const BOUNCE_TEMPLATES = `delay_template = <<EOF
Charset: us-ascii
From: Mail Delivery System <MAILER-DAEMON>
Subject: Delayed Mail (still being retried)
Postmaster-Subject: Postmaster Warning: Delayed Mail

This is the mail system at host $myhostname.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than $delay_warning_time_seconds second(s).
It will be retried until it is $maximal_queue_lifetime_seconds second(s) old.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
EOF
`;

/** A loopback SMTP host that greets every connection with DEFER_REPLY and hangs up: Postfix defers (4.3.2). */
class DeferringHost {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  port = 0;

  private constructor() {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
      socket.end(`${DEFER_REPLY}\r\n`);
    });
  }

  static async start(): Promise<DeferringHost> {
    const host = new DeferringHost();
    await new Promise<void>((resolve, reject) => {
      host.server.once('error', reject);
      host.server.listen(0, HOST, () => resolve());
    });
    host.port = (host.server.address() as AddressInfo).port;
    return host;
  }

  async close(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Dovecot
// ---------------------------------------------------------------------------------------------------------

export interface DovecotUser {
  /** Letters, digits, '.', '_', '-': also the name of the Maildir, `<mailDir>/<name>`. */
  name: string;
  /** Printable ASCII without ':'. */
  password: string;
}

export interface ThrowawayDovecotOptions {
  users: DovecotUser[];
  /** The folder of the Maildirs (see createMailDir): each user's INBOX is `<mailDir>/<name>`. */
  mailDir: string;
  /**
   * STARTTLS on the IMAP port: `true` makes a test CA and a certificate for 127.0.0.1/localhost (`caPem`), or
   * give your own. Plain IMAP (and LOGIN without TLS) stays allowed: clients choose.
   */
  tls?: boolean | TestCertificates;
  /** A free one unless given. */
  port?: number;
}

/**
 * A Dovecot of its own (`dovecot -F -c <dir>/dovecot.conf`): IMAP on a free loopback port, passwd-file users, each
 * user's INBOX the Maildir `<mailDir>/<name>` read as the mail owner, optionally STARTTLS with a test CA. The log
 * is in the folder: `log()`. `restart()` stops it and starts it again on the same port, with the same mail.
 */
export class ThrowawayDovecot {
  private proc: ServerProcess;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly mailDir: string,
    private readonly tlsFiles: TestCertificates | undefined,
    proc: ServerProcess,
  ) {
    this.proc = proc;
  }

  static async start({ users, mailDir, tls, port }: ThrowawayDovecotOptions): Promise<ThrowawayDovecot> {
    if (users.length === 0) throw new Error('Dovecot needs at least one user');
    for (const { name, password } of users) {
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw new Error(`a user name of letters, digits, '.', '_' and '-' only: ${name}`);
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(password)) throw new Error(`a password of printable ASCII without ':' or spaces, for ${name}`);
    }
    if (!mailDir.startsWith('/') || /[\s"\\%$]/.test(mailDir)) throw new Error(`an absolute mail folder path without spaces, quotes, '\\', '%' or '$': ${mailDir}`);

    const dir = await mkdtemp(join(tmpdir(), 'ew-dovecot-'));
    try {
      // Dovecot's auth process (user dovecot) reads the users file in here.
      await chmod(dir, 0o711);
      const owner = await mailOwner();
      for (const { name } of users) await ensureMaildir(join(mailDir, name), owner);
      const tlsFiles = tls === true ? await makeTestCertificates(dir) : tls || undefined;
      if (tlsFiles) {
        await writeFile(join(dir, 'tls-cert.pem'), tlsFiles.cert);
        await writeFile(join(dir, 'tls-key.pem'), tlsFiles.key, { mode: 0o600 });
      }
      await writeFile(join(dir, 'users'), users.map(({ name, password }) => `${name}:{PLAIN}${password}\n`).join(''), { mode: 0o644 });
      const listenOn = port ?? (await freePort());
      await writeFile(join(dir, 'dovecot.conf'), dovecotConf({ dir, mailDir, port: listenOn, owner, tls: tlsFiles !== undefined }));
      const proc = await ThrowawayDovecot.spawn(dir, listenOn);
      return new ThrowawayDovecot(dir, listenOn, mailDir, tlsFiles, proc);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  private static async spawn(dir: string, port: number): Promise<ServerProcess> {
    const proc = new ServerProcess(`Dovecot on ${port}`, DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { ownGroup: true });
    try {
      await untilGreets(proc, port, /^\* OK/, 'a LOGOUT\r\n', async () => `dovecot.log:\n${tail(await readText(join(dir, 'dovecot.log')))}`);
    } catch (error) {
      await proc.stop();
      throw error;
    }
    return proc;
  }

  get host(): string {
    return HOST;
  }

  /** The CA of the STARTTLS certificate (PEM), when started with `tls`. */
  get caPem(): string {
    if (!this.tlsFiles) throw new Error('this Dovecot was started without tls');
    return this.tlsFiles.ca;
  }

  /** A user's INBOX, a Maildir. */
  maildirOf(user: string): string {
    return join(this.mailDir, user);
  }

  /** Dovecot's log so far (log_path). */
  log(): Promise<string> {
    return readText(join(this.dir, 'dovecot.log'));
  }

  /** Ends Dovecot (every connection drops), then starts it again on the same port with the same mail. */
  async restart(): Promise<void> {
    await this.proc.stop();
    this.proc = await ThrowawayDovecot.spawn(this.dir, this.port);
  }

  /** Ends the master (SIGTERM by pid) and every Dovecot process, and removes its folder (not the mail folder). */
  async stop(): Promise<void> {
    await this.proc.stop();
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function dovecotConf({ dir, mailDir, port, owner, tls }: { dir: string; mailDir: string; port: number; owner: MailOwner; tls: boolean }): string {
  const asRoot = isRoot();
  return [
    '# Written by test/support/mail-servers.ts (ThrowawayDovecot) for one test; removed when it stops.',
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `instance_name = ew-dovecot-${port}`,
    `log_path = ${dir}/dovecot.log`,
    'protocols = imap',
    `listen = ${HOST}`,
    // As root, Dovecot's own processes drop to Debian's dovecot and dovenull users; rootless, all run as this user.
    `default_internal_user = ${asRoot ? 'dovecot' : owner.user}`,
    `default_login_user = ${asRoot ? 'dovenull' : owner.user}`,
    ...(asRoot ? [] : [`default_internal_group = ${owner.group}`]),
    'first_valid_uid = 1',
    ...(tls ? ['ssl = yes', `ssl_cert = <${dir}/tls-cert.pem`, `ssl_key = <${dir}/tls-key.pem`] : ['ssl = no']),
    // LOGIN without TLS is allowed (the "plain on loopback" case); a client asks for STARTTLS itself.
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    `mail_location = maildir:${mailDir}/%n`,
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN username_format=%n ${dir}/users`,
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${owner.uid} gid=${owner.gid} home=${mailDir}/%n`,
    '}',
    'service imap-login {',
    '  inet_listener imap {',
    `    address = ${HOST}`,
    `    port = ${port}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    ...(asRoot ? [] : ['  chroot =']),
    '}',
    ...(asRoot
      ? []
      : [
          // Rootless: nothing can change user or chroot.
          'service anvil {',
          '  chroot =',
          '}',
          'service auth-worker {',
          '  user = $default_internal_user',
          '}',
        ]),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// The two together
// ---------------------------------------------------------------------------------------------------------

export interface BounceRelayOptions {
  localDomain: string;
  bounceDomain: string;
  /** Deferred by Postfix, with a delay notice after a second. */
  deferred: string;
  /** The bounce mailbox's IMAP login; its Maildir receives every address of bounceDomain. */
  user: DovecotUser;
}

/**
 * A relay that bounces and defers later, and the IMAP mailbox its reports land in: ThrowawayPostfix delivering
 * every address of `bounceDomain` into the Maildir that ThrowawayDovecot serves (STARTTLS with a test CA, and plain).
 */
export class BounceRelay {
  private constructor(
    readonly postfix: ThrowawayPostfix,
    readonly dovecot: ThrowawayDovecot,
    private readonly mailDir: string,
  ) {}

  static async start({ localDomain, bounceDomain, deferred, user }: BounceRelayOptions): Promise<BounceRelay> {
    const mailDir = await createMailDir();
    const [postfix, dovecot] = await Promise.allSettled([
      ThrowawayPostfix.start({ localDomain, bounceTo: { domain: bounceDomain, maildir: join(mailDir, user.name) }, deferAddresses: [deferred], delayWarningTime: '1s' }),
      ThrowawayDovecot.start({ users: [user], mailDir, tls: true }),
    ]);
    if (postfix.status === 'rejected' || dovecot.status === 'rejected') {
      if (postfix.status === 'fulfilled') await postfix.value.stop();
      if (dovecot.status === 'fulfilled') await dovecot.value.stop();
      await rm(mailDir, { recursive: true, force: true });
      throw postfix.status === 'rejected' ? postfix.reason : (dovecot as PromiseRejectedResult).reason;
    }
    return new BounceRelay(postfix.value, dovecot.value, mailDir);
  }

  async stop(): Promise<void> {
    await this.postfix.stop();
    await this.dovecot.stop();
    await rm(this.mailDir, { recursive: true, force: true });
  }
}
