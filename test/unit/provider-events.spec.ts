import { randomBytes } from 'node:crypto';
import { EmailBounceProcessor } from '../../lib/bounce-mailbox';
import { MessageRefs } from '../../lib/crypto/message-refs';
import { PayloadCipher } from '../../lib/crypto/payload.cipher';
import { EmailDeliveryLog, MemoryDeliveryLogStore } from '../../lib/delivery-log';
import { InvalidArgumentError } from '../../lib/errors';
import { EmailEvent, EmailEventBus } from '../../lib/events';
import { EmailSuppressions, MemorySuppressionStore } from '../../lib/suppression';
import { dsn } from '../support/bounce-reports';

describe('EmailBounceProcessor.recordProviderEvent', () => {
  const refs = new MessageRefs(randomBytes(32));
  const log = new EmailDeliveryLog(new MemoryDeliveryLogStore({ retentionMs: 60_000, perAddress: 10, recent: 10 }), refs, randomBytes(32), new PayloadCipher(randomBytes(32)));
  const suppressions = new EmailSuppressions(new MemorySuppressionStore(), randomBytes(32), new PayloadCipher(randomBytes(32)));
  const events = new EmailEventBus();
  const bounced: unknown[] = [];
  events.on(EmailEvent.Bounced, (event) => void bounced.push(event));
  const processor = new EmailBounceProcessor(log, refs, suppressions, events, []);
  const ada = 'Ada@Example.test';

  async function email(queueId?: string): Promise<string> {
    const messageId = `<${randomBytes(8).toString('hex')}@acme.test>`;
    await log.start({ messageId, to: ada, template: 'welcome' }, 'queued');
    await log.add(messageId, 'sent', { attempt: 1, reply: '250 Ok', queueId });
    return messageId;
  }

  it('refuses what is not a provider event with InvalidArgumentError', async () => {
    for (const bad of [null, 'bounce', { provider: 'ses', type: 'opened', recipient: ada }, { type: 'bounce', recipient: ada }]) {
      await expect(processor.recordProviderEvent(bad as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });

  it('matches a Message-ID given with or without angle brackets, and a recipient in another ASCII case only', async () => {
    const messageId = await email();
    const bare = messageId.slice(1, -1);
    await expect(processor.recordProviderEvent({ provider: 'mailgun', type: 'delivered', messageId: bare, recipient: 'ada@example.TEST' })).resolves.toEqual({
      outcome: 'recorded',
      type: 'delivered',
      messageId,
      suppressed: false,
    });
    // A look-alike (Cyrillic а) is another recipient.
    await expect(processor.recordProviderEvent({ provider: 'mailgun', type: 'complaint', messageId, recipient: '\u0430da@example.test' })).resolves.toMatchObject({ reason: 'recipient-mismatch' });
  });

  it('a soft bounce, then the hard bounce of the same email: both count, only the hard one suppresses; a DSN of it after the webhook counts once', async () => {
    const messageId = await email('4XyzB1');
    const soft = await processor.recordProviderEvent({ provider: 'x', type: 'bounce', hard: false, providerMessageId: '4XyzB1', recipient: ada, status: '4.2.2' });
    expect(soft).toEqual({ outcome: 'recorded', type: 'bounce', messageId, suppressed: false });
    const hard = await processor.recordProviderEvent({ provider: 'x', type: 'bounce', hard: true, providerMessageId: '4XyzB1', recipient: ada, status: '5.1.1' });
    expect(hard).toEqual({ outcome: 'recorded', type: 'bounce', messageId, suppressed: true });
    expect(await suppressions.find(ada)).toMatchObject({ reason: 'bounce', code: '5.1.1', messageId });
    // The same bounce read back from the bounce mailbox: already counted.
    await expect(processor.process(dsn({ tag: refs.tagOf(messageId), recipient: ada }))).resolves.toMatchObject({ outcome: 'ignored', reason: 'duplicate' });
    expect(bounced).toHaveLength(2);
    expect((await log.get(messageId))!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'bounced', 'bounced']);
  });

  it('an unknown provider id or Message-ID changes nothing', async () => {
    await expect(processor.recordProviderEvent({ provider: 'x', type: 'bounce', hard: true, providerMessageId: 'nope', messageId: '<nope@acme.test>', recipient: ada })).resolves.toEqual({
      outcome: 'ignored',
      type: 'bounce',
      reason: 'unknown-message',
    });
  });
});
