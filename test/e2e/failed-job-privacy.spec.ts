/**
 * What a queue library keeps of a failed try in Redis (the failure reason, every try's stack trace, a
 * BullMQ event stream entry) names no address in clear: a real SMTP server echoes the recipient, in
 * other spellings and with another address beside it, and a user directory names the address it
 * looked up. Events in the process still carry the server's reply as it was.
 */
import { createHmac } from 'node:crypto';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { EmailEvent } from 'nestjs-email-workflow';
import { deriveKey } from '../../lib/crypto/secret-keys';
import { InMemoryUsers } from '../support/in-memory-users';
import { deleteKeys, dumpKeys, TEST_SECRET, uniquePrefix } from '../support/redis';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { SmtpSink, smtpReply } from '../support/smtp-sink';
import { until, untilQueueIdle } from '../support/wait';
import { bootOn } from '../support/workflow';

type RcptHandler = (address: SMTPServerAddress, session: SMTPServerSession, callback: (error?: Error | null) => void) => void;

const REJECTED = '5.1.1 <victim@example.test>: Recipient address rejected';
const QUEUE = { attempts: 3, backoff: { delay: 20, maxDelay: 40 } };

/** The keyed hash docs/delivery.md promises in place of an address: HMAC-SHA256 under the secret's `failure-address` key. */
function hashOf(address: string): string {
  return `address:${createHmac('sha256', deriveKey(TEST_SECRET, 'failure-address')).update(address.toLowerCase()).digest('base64url').slice(0, 16)}`;
}

/** A directory that is down, and says which address it was looking up, as many do. */
class UnreachableUsers extends InMemoryUsers {
  override async findByEmail(email: string): Promise<undefined> {
    throw new Error(`user directory timed out looking up ${email}`);
  }
}

describe.each(QUEUE_DRIVERS)('failed jobs on the %s queue hold no address in clear', (driver) => {
  const boot = bootOn(driver);
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(onRcptTo?: RcptHandler, users?: InMemoryUsers) {
    const sink = await SmtpSink.start({ hideENHANCEDSTATUSCODES: true, onRcptTo });
    cleanups.push(() => sink.close());
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const workflow = await boot(sink.port, prefix, QUEUE, users ? { users } : {});
    cleanups.push(() => workflow.moduleRef.close());
    return { sink, prefix, ...workflow };
  }

  /** Every key under the prefix and its value, as one lower-cased text. */
  async function everythingIn(prefix: string): Promise<string> {
    return [...(await dumpKeys(prefix))].flat().join('\n').toLowerCase();
  }

  it('a 550 and a 4xx echoing the address (any case, another address beside it), retried: no key names either; events keep the reply', async () => {
    let lateRefusals = 0;
    const onRcptTo: RcptHandler = (address, _session, callback) => {
      const to = address.address.toLowerCase();
      if (to === 'victim@example.test') return callback(smtpReply(550, REJECTED));
      if (to === 'deferred@example.test') return callback(smtpReply(451, '4.3.0 <DEFERRED@Example.Test> deferred: forwarding to Old.Box@forward.example failed'));
      if (to === 'late@example.test' && lateRefusals++ === 0) return callback(smtpReply(452, '4.2.2 mailbox of late@example.test is full, try again later'));
      callback();
    };
    const { sink, prefix, emails, events } = await start(onRcptTo);

    await emails.send({ template: 'test-email', to: 'victim@example.test' });
    await emails.send({ template: 'test-email', to: 'deferred@example.test' });
    const late = await emails.send({ template: 'test-email', to: 'late@example.test' });
    await events.waitFor(EmailEvent.Failed, 2);
    await sink.mailWithId(late.messageId);
    await untilQueueIdle(emails);

    // In the process: the reply as the server gave it.
    const failed = events.seen[EmailEvent.Failed];
    expect(failed.find((event) => event.to === 'victim@example.test')).toMatchObject({ kind: 'permanent', reason: expect.stringContaining(REJECTED) });
    expect(failed.find((event) => event.to === 'deferred@example.test')).toMatchObject({ kind: 'transient', reason: expect.stringContaining('<DEFERRED@Example.Test>') });
    expect(events.seen[EmailEvent.Retrying].map((event) => event.reason).join('\n')).toContain('late@example.test is full');

    // In Redis: the failed jobs are kept, with the reply, the addresses in it replaced by their keyed hash.
    expect(await emails.queueStatus()).toMatchObject({ failed: 2 });
    const everything = await everythingIn(prefix);
    for (const address of ['victim@example.test', 'deferred@example.test', 'old.box@forward.example', 'late@example.test']) {
      expect(everything).not.toContain(address);
    }
    expect(everything).toContain(`5.1.1 <${hashOf('victim@example.test')}>: recipient address rejected`.toLowerCase());
    // One address, one hash, whatever its case.
    expect(everything).toContain(`<${hashOf('deferred@example.test')}> deferred`.toLowerCase());
    expect(everything).toContain(`mailbox of ${hashOf('late@example.test')} is full`.toLowerCase());
  });

  it('an account request whose directory lookup fails until its tries run out: the failed job names no address', async () => {
    const { prefix, emails, logger } = await start(undefined, new UnreachableUsers());

    expect(await emails.requestPasswordReset('Lookup.Victim@Example.test')).toBeUndefined();
    await until(async () => (await emails.queueStatus()).failed === 1, 'the account request to fail for good');

    // The app's own log keeps the reason as it was.
    expect(logger.text()).toMatch(/looking up lookup\.victim@example\.test/i);
    const everything = await everythingIn(prefix);
    expect(everything).not.toContain('lookup.victim@example.test');
    expect(everything).toContain(`user directory timed out looking up ${hashOf('lookup.victim@example.test')}`.toLowerCase());
  });
});
