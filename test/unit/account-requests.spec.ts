import { PayloadCipher } from '../../lib/crypto/payload.cipher';
import { deriveKey } from '../../lib/crypto/secret-keys';
import { AccountRequestHandlers, isAccountRequest, StoredAccountRequest } from '../../lib/queue/account-requests';
import { DeliveryFailure } from '../../lib/delivery/delivery.failure';
import { CapturingLogger } from '../support/capturing-logger';

const BACKOFF = { delay: 100, maxDelay: 1_000 };
const PAYLOAD = { address: 'ada@example.test', ip: '203.0.113.5' };

function cipher(secret = 'test-secret-of-at-least-32-bytes-0123456789'): PayloadCipher {
  return new PayloadCipher(deriveKey(secret, 'queue-payload'));
}

/** A queue job as Bull hands it over, counting discards. */
function job(data: StoredAccountRequest, attemptsMade = 0, attempts = 3) {
  const discarded: boolean[] = [];
  return {
    job: { id: 'account-request-1', data, attemptsMade, opts: { attempts }, discard: async () => void discarded.push(true) },
    discarded,
  };
}

/** What a try threw; fails the test if it did not throw. */
async function failureOf(run: Promise<void>): Promise<DeliveryFailure> {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DeliveryFailure);
  return error as DeliveryFailure;
}

describe('AccountRequestHandlers', () => {
  let logger: CapturingLogger;
  let handlers: AccountRequestHandlers;

  beforeEach(() => {
    logger = new CapturingLogger();
    handlers = new AccountRequestHandlers(cipher(), BACKOFF, logger);
  });

  const logged = () => logger.entries.map((entry) => `${entry.message} ${entry.params.join(' ')}`).join('\n');

  it('stores only the kind in clear, and hands the registered handler the payload and the request id', async () => {
    const calls: unknown[] = [];
    handlers.register('password-reset', async (payload, requestId) => void calls.push([payload, requestId]));
    const stored = handlers.seal('password-reset', PAYLOAD);
    expect(isAccountRequest(stored)).toBe(true);
    expect(stored.kind).toBe('password-reset');
    expect(JSON.stringify(stored)).not.toContain('ada@');
    expect(JSON.stringify(stored)).not.toContain(PAYLOAD.ip);

    await handlers.run(job(stored).job, 8);
    expect(calls).toEqual([[PAYLOAD, 'account-request-1']]);
    expect(() => handlers.register('password-reset', async () => undefined)).toThrow('already have a handler');
  });

  it('a failing handler is retried with the backoff delay until the last try, which fails for good', async () => {
    handlers.register('password-reset', async () => {
      throw new Error('the user database is unreachable');
    });
    const stored = handlers.seal('password-reset', PAYLOAD);

    const first = await failureOf(handlers.run(job(stored, 0, 3).job, 8));
    expect(first.willRetry).toBe(true);
    expect(first.retryDelay).toBeGreaterThanOrEqual(BACKOFF.delay / 2);
    expect(first.retryDelay).toBeLessThanOrEqual(BACKOFF.delay);
    const second = await failureOf(handlers.run(job(stored, 1, 3).job, 8));
    expect(second.retryDelay).toBeGreaterThanOrEqual(BACKOFF.delay);
    expect(second.retryDelay).toBeLessThanOrEqual(2 * BACKOFF.delay);

    const last = await failureOf(handlers.run(job(stored, 2, 3).job, 8));
    expect(last.willRetry).toBe(false);
    expect(logger.entries.map((entry) => entry.level)).toEqual(['warn', 'warn', 'error']);
    expect(logged()).toContain('failed after 3 tries: the user database is unreachable');
    expect(logged()).not.toContain('ada@');
  });

  it('a kind this process has no handler for is retried, for a worker that has one', async () => {
    const failure = await failureOf(handlers.run(job(handlers.seal('future-kind', PAYLOAD)).job, 8));
    expect(failure.willRetry).toBe(true);
    expect(failure.message).toContain('no handler for account requests of kind "future-kind"');
  });

  it('a request sealed under another secret fails for good at once, and is discarded without running the handler', async () => {
    const calls: unknown[] = [];
    handlers.register('password-reset', async (payload) => void calls.push(payload));
    const foreign = new AccountRequestHandlers(cipher('another-secret-of-at-least-32-bytes-9876543210'), BACKOFF, logger).seal('password-reset', PAYLOAD);
    const { job: queued, discarded } = job(foreign, 0, 3);

    const failure = await failureOf(handlers.run(queued, 8));
    expect(failure.willRetry).toBe(false);
    expect(failure.failure).toMatchObject({ kind: 'permanent' });
    expect(failure.message).toContain('different `secret`');
    expect(discarded).toEqual([true]);
    expect(calls).toEqual([]);
  });
});
