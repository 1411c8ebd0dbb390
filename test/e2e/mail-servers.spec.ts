import { ImapFlow } from 'imapflow';
import type { ImapFlowOptions } from 'imapflow';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTransport } from 'nodemailer';
import { BounceRelay, createMailDir, DEFER_REPLY, maildirMessages, queueIdOf, ThrowawayDovecot, ThrowawayPostfix } from '../support/mail-servers';
import { until } from '../support/wait';

// The helpers that start Debian's Postfix and Dovecot for the bounce tests (issue 22), proved with plain clients
// only (nodemailer to send, imapflow to read; no library code): a real asynchronous Postfix DSN and a real delay
// notice travel from Postfix into the bounce Maildir and are read back over IMAP, plain and with STARTTLS.

const LOCAL_DOMAIN = 'relay.test';
const BOUNCE_DOMAIN = 'bounce.test';
const DEFERRED = 'slow@deferred.test';
const USER = { name: 'bounces', password: 'bounce-box-pass-0123' };

/** One message as read over IMAP. */
interface Fetched {
  uid: number;
  source: string;
}

/** The fields of a DSN's message/delivery-status part: per-message fields, then the (one) recipient's. */
function deliveryStatus(source: string): Record<string, string> {
  const part = /Content-Type: message\/delivery-status\r?\n\r?\n([\s\S]*?)\r?\n--/i.exec(source);
  if (!part) throw new Error(`no message/delivery-status part in:\n${source}`);
  const fields: Record<string, string> = {};
  for (const line of part[1].split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return fields;
}

describe('ThrowawayPostfix relaying into a Maildir that ThrowawayDovecot serves', () => {
  let relay: BounceRelay;
  let postfix: ThrowawayPostfix;
  let dovecot: ThrowawayDovecot;
  const clients: ImapFlow[] = [];

  beforeAll(async () => {
    relay = await BounceRelay.start({ localDomain: LOCAL_DOMAIN, bounceDomain: BOUNCE_DOMAIN, deferred: DEFERRED, user: USER });
    ({ postfix, dovecot } = relay);
  }, 30_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await relay?.stop();
  });

  async function send(to: string, tag: string): Promise<string> {
    const transport = createTransport({ host: postfix.host, port: postfix.port, secure: false, ignoreTLS: true });
    try {
      const info = await transport.sendMail({
        envelope: { from: `bounces+${tag}@${BOUNCE_DOMAIN}`, to },
        from: 'Acme <no-reply@acme.test>',
        to,
        subject: `Reset your password (${tag})`,
        text: 'Follow the link to reset your password.',
        messageId: `<${tag}.${Date.now()}@acme.test>`,
      });
      return info.response;
    } finally {
      transport.close();
    }
  }

  async function imap(options: Partial<ImapFlowOptions> = {}): Promise<ImapFlow> {
    const client = new ImapFlow({
      host: dovecot.host,
      port: dovecot.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: USER.name, pass: USER.password },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      ...options,
    });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  async function inbox(client: ImapFlow): Promise<Fetched[]> {
    const lock = await client.getMailboxLock('INBOX');
    try {
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      const messages: Fetched[] = [];
      for await (const message of client.fetch('1:*', { uid: true, source: true })) messages.push({ uid: message.uid, source: message.source!.toString('utf8') });
      return messages;
    } finally {
      lock.release();
    }
  }

  /** Polls the INBOX over IMAP until a message matches, and returns it. */
  async function untilInInbox(client: ImapFlow, matches: (source: string) => boolean, what: string, timeoutMs = 15_000): Promise<Fetched> {
    let found: Fetched | undefined;
    let seen = 0;
    await until(
      async () => {
        const messages = await inbox(client);
        seen = messages.length;
        found = messages.find((message) => matches(message.source));
        return found !== undefined;
      },
      () => `${what} in the INBOX over IMAP (${seen} other messages there)`,
      timeoutMs,
      200,
    );
    return found!;
  }

  it('accepts mail for an unknown local user (250, queued as <id>), then bounces it with a DSN into the bounce Maildir, read over plain IMAP', async () => {
    const reply = await send(`nobody-ada@${LOCAL_DOMAIN}`, 'hard1');
    expect(reply).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const queueId = queueIdOf(reply);

    await postfix.untilLogged(new RegExp(`${queueId}: to=<nobody-ada@${LOCAL_DOMAIN}>, relay=local, .*dsn=5\\.1\\.1, status=bounced \\(unknown user`));
    const [, dsnId] = await postfix.untilLogged(new RegExp(`${queueId}: sender non-delivery notification: ([0-9A-F]+)`));
    await postfix.untilLogged(new RegExp(`${dsnId}: to=<bounces\\+hard1@${BOUNCE_DOMAIN}>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
    expect((await maildirMessages(dovecot.maildirOf(USER.name))).length).toBeGreaterThan(0);

    const client = await imap();
    expect(client.secureConnection).toBe(false);
    const dsn = await untilInInbox(client, (source) => source.includes(`X-Postfix-Queue-ID: ${queueId}`), `the DSN of ${queueId}`);
    expect(dsn.source).toMatch(/^Return-Path: <>\r?$/m);
    expect(dsn.source).toMatch(new RegExp(`^To: bounces\\+hard1@${BOUNCE_DOMAIN}\\r?$`, 'm'));
    expect(dsn.source).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status;/m);
    expect(dsn.source).toMatch(/^Message-ID: <hard1\.\d+@acme\.test>\r?$/im);
    expect(deliveryStatus(dsn.source)).toMatchObject({
      'reporting-mta': `dns; mx.${LOCAL_DOMAIN}`,
      'x-postfix-queue-id': queueId,
      'final-recipient': `rfc822; nobody-ada@${LOCAL_DOMAIN}`,
      action: 'failed',
      status: '5.1.1',
      'diagnostic-code': 'X-Postfix; unknown user: "nobody-ada"',
    });
    await client.logout();
  });

  it('serves the same mailbox over STARTTLS to a client trusting the test CA, and a client without it refuses', async () => {
    const client = await imap({ doSTARTTLS: true, tls: { ca: dovecot.caPem, servername: 'localhost' } });
    expect(client.secureConnection).toBe(true);
    expect((await inbox(client)).some((message) => /X-Postfix-Queue-ID: /.test(message.source))).toBe(true);
    await client.logout();

    await expect(imap({ doSTARTTLS: true, tls: { servername: 'localhost' } })).rejects.toThrow(/certificate/i);
  });

  it('defers an address (250, then 4.3.2 from the deferring host) and sends a delay notice (Action: delayed)', async () => {
    const reply = await send(DEFERRED, 'soft1');
    expect(reply).toMatch(/^250 /);
    const queueId = queueIdOf(reply);

    await postfix.untilLogged(new RegExp(`${queueId}: to=<${DEFERRED}>, .*dsn=4\\.3\\.2, status=deferred`));
    const queued = (await postfix.queue()).find((entry) => entry.queue_id === queueId);
    expect(queued?.recipients[0]).toMatchObject({ address: DEFERRED, delay_reason: expect.stringContaining(DEFER_REPLY) });
    await postfix.untilLogged(new RegExp(`${queueId}: sender delay notification: [0-9A-F]+`), 15_000);

    const client = await imap();
    const notice = await untilInInbox(client, (source) => source.includes(`X-Postfix-Queue-ID: ${queueId}`), `the delay notice of ${queueId}`);
    expect(notice.source).toMatch(/^Subject: Delayed Mail \(still being retried\)\r?$/m);
    expect(notice.source).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status;/m);
    expect(notice.source).toMatch(/could not be delivered for more than 1 second\(s\)/);
    expect(deliveryStatus(notice.source)).toMatchObject({
      'final-recipient': `rfc822; ${DEFERRED}`,
      action: 'delayed',
      status: '4.3.2',
      'diagnostic-code': `smtp; ${DEFER_REPLY}`,
    });
    // Still queued: a delay is no bounce.
    expect((await postfix.queue()).map((entry) => entry.queue_id)).toContain(queueId);
    await client.logout();
  });

  it('refuses any other domain at RCPT: nothing leaves the machine', async () => {
    await expect(send('someone@example.com', 'away1')).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('5.7.1') });
  });

  it('keeps the mailbox across a Dovecot restart on the same port; open connections are dropped', async () => {
    const before = await imap();
    const lock = await before.getMailboxLock('INBOX');
    const { uidValidity } = before.mailbox as { uidValidity: bigint };
    lock.release();
    const messages = await inbox(before);
    expect(messages.length).toBeGreaterThanOrEqual(2);
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));

    const port = dovecot.port;
    await dovecot.restart();
    await closed;

    expect(dovecot.port).toBe(port);
    const after = await imap();
    expect(await inbox(after)).toEqual(messages);
    const again = await after.getMailboxLock('INBOX');
    expect((after.mailbox as { uidValidity: bigint }).uidValidity).toBe(uidValidity);
    again.release();
    await after.logout();
  });
});

describe('a mail server that cannot start', () => {
  it('makes ThrowawayDovecot.start reject with what Dovecot said (its port is taken)', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const mailDir = await createMailDir();
    try {
      const port = (squatter.address() as AddressInfo).port;
      await expect(ThrowawayDovecot.start({ users: [USER], mailDir, port })).rejects.toThrow(/Dovecot on \d+ \(pid \d+\) exited[\s\S]*Address already in use/);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      await rm(mailDir, { recursive: true, force: true });
    }
  });
});
