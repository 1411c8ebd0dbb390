import { createHmac } from 'node:crypto';
import { deriveKey } from '../../lib/crypto/secret-keys';
import { DeliveryFailure, DeliveryHandedBack } from '../../lib/delivery/delivery.failure';
import { FailureRedactor } from '../../lib/queue/failure.redactor';

const KEY = deriveKey('a-secret-of-at-least-32-bytes-0123456789', 'failure-address');
const redactor = new FailureRedactor(KEY);
const hashOf = (address: string) => `address:${createHmac('sha256', KEY).update(address.toLowerCase()).digest('base64url').slice(0, 16)}`;

describe('FailureRedactor', () => {
  it('replaces each address in a reply by its keyed hash, one hash per address whatever its case or brackets', () => {
    expect(redactor.text('550 5.1.1 <victim@example.test>: Recipient address rejected')).toBe(
      `550 5.1.1 <${hashOf('victim@example.test')}>: Recipient address rejected`,
    );
    expect(redactor.text('452 mailbox VICTIM@Example.TEST is full.')).toBe(`452 mailbox ${hashOf('victim@example.test')} is full.`);
  });

  it('catches every address-shaped part: another address, SRS, Unicode, quoted local parts, address literals', () => {
    const reply = [
      'forwarded to old.box+tag@forward.example',
      'SRS0=HHH=TT=example.test=victim@bounces.example',
      'ｖictim@example.test',
      'josé@exämple.test',
      '"john doe"@example.test',
      'ada@[192.0.2.1]',
      'bo@例え．テスト',
    ].join('; ');
    const redacted = redactor.text(reply);

    expect(redacted).not.toMatch(/@/);
    expect(redacted).toContain(`forwarded to ${hashOf('old.box+tag@forward.example')};`);
    // A look-alike spelling is another address, with a hash of its own.
    expect(hashOf('ｖictim@example.test')).not.toBe(hashOf('victim@example.test'));
    expect(redacted).toContain(hashOf('ｖictim@example.test'));
  });

  it('leaves text without an address as it is, stack frames under a scoped package included', () => {
    const frames = 'Error: boom\n    at run (/app/node_modules/@nestjs/core/injector/injector.js:10:5)\n    at 5.1.1 @ noon';
    expect(redactor.text(frames)).toBe(frames);
    expect(redactor.text(redactor.text('to ada@example.test'))).toBe(redactor.text('to ada@example.test'));
  });

  it('makes a new error of the same kind, retry delay kept, message and original stack redacted, the given one untouched', () => {
    const failure = new DeliveryFailure({ kind: 'transient', reason: '451 <ada@example.test> later', responseCode: 451 }, 1_234);
    const stored = redactor.storable(failure);

    expect(stored).toBeInstanceOf(DeliveryFailure);
    expect(stored).toMatchObject({ retryDelay: 1_234, message: `451 <${hashOf('ada@example.test')}> later`, failure: { responseCode: 451 } });
    expect(stored.stack).toContain('failure-redactor.spec.ts');
    expect(stored.stack).not.toContain('ada@example.test');
    expect(failure.message).toContain('ada@example.test');

    const handedBack = redactor.storable(new DeliveryHandedBack('535 login for ada@example.test refused'));
    expect(handedBack).toBeInstanceOf(DeliveryHandedBack);
    expect(handedBack).toMatchObject({ retryDelay: 0, message: `535 login for ${hashOf('ada@example.test')} refused` });
  });

  it('turns any other error, or a thrown value, into an Error with its name and redacted text', () => {
    const stored = redactor.storable(new TypeError('cannot read user ada@example.test'));
    expect(stored).toMatchObject({ name: 'TypeError', message: `cannot read user ${hashOf('ada@example.test')}` });
    expect(stored.stack).toMatch(/^TypeError: cannot read user address:/);

    expect(redactor.storable('no user bo@example.test').message).toBe(`no user ${hashOf('bo@example.test')}`);
  });
});
