import { randomBytes } from 'node:crypto';
import { EmailBounceProcessor } from '../../lib/bounce-mailbox';
import { MessageRefs } from '../../lib/crypto/message-refs';
import { PayloadCipher } from '../../lib/crypto/payload.cipher';
import { EmailDeliveryLog, MemoryDeliveryLogStore } from '../../lib/delivery-log';
import type { DeliveryLogStore } from '../../lib/delivery-log';
import { EmailEvent, EmailEventBus } from '../../lib/events';
import { EmailSuppressions, MemorySuppressionStore } from '../../lib/suppression';
import type { SuppressionStore } from '../../lib/suppression';
import { dsn } from '../support/bounce-reports';
import { sleep } from '../support/wait';

/** A store whose every call fails while `frozen`, as one on a Redis that stopped answering (QueueUnavailableError). */
function freezable<T extends object>(store: T): T & { frozen: boolean } {
  const switchable = { frozen: false };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'frozen') return switchable.frozen;
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (switchable.frozen ? Promise.reject(new Error('Redis did not answer within 100 ms')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
    set(target, property, value) {
      if (property === 'frozen') switchable.frozen = value as boolean;
      else Reflect.set(target, property, value);
      return true;
    },
  }) as T & { frozen: boolean };
}

describe('EmailBounceProcessor when the store stops answering between two steps', () => {
  // Long enough that the steps below run inside it even on a busy machine.
  const PENDING_MS = 2_000;
  const limits = { retentionMs: 60_000, perAddress: 10, recent: 10 };
  const refs = new MessageRefs(randomBytes(32));
  const logStore = freezable<DeliveryLogStore>(new MemoryDeliveryLogStore(limits));
  const suppressionStore = freezable<SuppressionStore>(new MemorySuppressionStore());
  const log = new EmailDeliveryLog(logStore, refs, randomBytes(32), new PayloadCipher(randomBytes(32)));
  const suppressions = new EmailSuppressions(suppressionStore, randomBytes(32), new PayloadCipher(randomBytes(32)));
  const events = new EmailEventBus();
  const bounced: unknown[] = [];
  events.on(EmailEvent.Bounced, (event) => void bounced.push(event));
  const processor = new EmailBounceProcessor(log, refs, suppressions, events, [], PENDING_MS);
  const messageId = '<c0ffee00-0000-4000-8000-000000000001@acme.test>';
  const ada = 'ada@example.test';

  beforeAll(async () => {
    await log.start({ messageId, to: ada, template: 'welcome' }, 'queued');
    await log.add(messageId, 'sent', { attempt: 1, reply: '250 2.0.0 Ok: queued as 4XyzB1' });
  });

  it('claimed, then the suppression write fails and the claim cannot be given back: left for later, counted once when the claim runs out', async () => {
    const report = dsn({ tag: refs.tagOf(messageId), recipient: ada });
    // The claim is written; then the store freezes before the suppression and the log are.
    const claim = logStore.claim.bind(logStore);
    logStore.claim = async (key: string, pendingMs: number) => {
      const state = await claim(key, pendingMs);
      logStore.frozen = true;
      suppressionStore.frozen = true;
      return state;
    };
    await expect(processor.handle(Buffer.from(report))).resolves.toBe('retry');
    logStore.claim = claim;
    logStore.frozen = false;
    suppressionStore.frozen = false;
    expect(await suppressions.has(ada)).toBe(false);

    // Read again at once: the claim is still pending, so the report stays in the mailbox (not dropped as a duplicate).
    await expect(processor.process(report)).resolves.toEqual({ outcome: 'pending', type: 'bounce' });
    await expect(processor.handle(Buffer.from(report))).resolves.toBe('retry');
    await sleep(PENDING_MS + 50);
    await expect(processor.process(report)).resolves.toEqual({ outcome: 'recorded', type: 'bounce', messageId, suppressed: true });
    await expect(processor.process(report)).resolves.toMatchObject({ outcome: 'ignored', reason: 'duplicate' });
    expect(await suppressions.has(ada)).toBe(true);
    expect(bounced).toHaveLength(1);
    expect((await log.get(messageId))!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'bounced']);
  });
});
