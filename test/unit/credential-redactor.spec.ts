import { credentialRedactor } from '../../lib/transport/credential.redactor';
import { redact } from '../../lib/transport/credential.redactor';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('credentialRedactor', () => {
  it('removes the password and every base64 form AUTH PLAIN and LOGIN send it in', () => {
    const clean = credentialRedactor({ user: 'u', pass: 'hunter2' });
    const text = `535 ${b64('\0u\0hunter2')} ${b64('\0u\0hunter2').replace(/=+$/, '')} ${b64('u')} ${b64('hunter2')} hunter2`;

    expect(clean(text)).toBe('535 [redacted] [redacted] [redacted] [redacted] [redacted]');
    expect(clean('AHUAaHVudGVyMg==')).toBe('[redacted]');
  });

  it('keeps the user name in plain text, and text without credentials as it is', () => {
    const clean = credentialRedactor({ user: 'ada', pass: 'hunter2' });

    expect(clean('logged in as ada')).toBe('logged in as ada');
    expect(credentialRedactor(undefined)('hunter2')).toBe('hunter2');
  });

  it('treats the values as text, not patterns, and never looks inside a "[redacted]" it put in', () => {
    const clean = credentialRedactor({ user: 'x', pass: 'red.*' });

    expect(clean('pass red.* then redacted')).toBe('pass [redacted] then redacted');
  });

  it('runs before the patterns of redact(), so a long password leaves no piece behind', () => {
    const pass = 'abcdefghijklmnopqrstuvwxyz!tail';
    const clean = credentialRedactor({ user: 'ada', pass });

    expect(redact(`535 echo ${pass}`)).toContain('!tail');
    expect(redact(`535 echo ${pass}`, clean)).toBe('535 echo [redacted]');
  });
});
