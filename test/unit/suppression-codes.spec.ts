import { suppressesRecipient } from '../../lib/suppression';

describe('which permanent failures put the recipient on the suppression list', () => {
  it.each([
    ['550 5.1.1 no such user', { kind: 'permanent', responseCode: 550, enhancedCode: '5.1.1' }, [], true],
    ['550 5.1.10 null MX', { kind: 'permanent', responseCode: 550, enhancedCode: '5.1.10' }, [], true],
    ['550 5.2.1 mailbox disabled', { kind: 'permanent', responseCode: 550, enhancedCode: '5.2.1' }, [], true],
    ['552 5.2.2 mailbox full (about the mailbox now, not for good)', { kind: 'permanent', responseCode: 552, enhancedCode: '5.2.2' }, [], false],
    ['550 5.7.1 policy (about the message or sender)', { kind: 'permanent', responseCode: 550, enhancedCode: '5.7.1' }, [], false],
    ['550 without an enhanced code', { kind: 'permanent', responseCode: 550 }, [], false],
    ['5.7.1 listed as a class', { kind: 'permanent', responseCode: 550, enhancedCode: '5.7.1' }, ['5.7'], true],
    ['5.7.10 is not 5.7.1', { kind: 'permanent', responseCode: 550, enhancedCode: '5.7.10' }, ['5.7.1'], false],
    ['554 listed as a reply code', { kind: 'permanent', responseCode: 554 }, ['554'], true],
    ['5.1.1 after the retries ran out is not permanent', { kind: 'transient', responseCode: 450, enhancedCode: '5.1.1' }, [], false],
    ['an expired email', { kind: 'expired' }, ['554'], false],
  ] as const)('%s', (_label, failure, codes, expected) => {
    expect(suppressesRecipient(failure, codes)).toBe(expected);
  });
});
