import { SmtpHint, smtpHint } from '../../lib/transport/smtp.hints';
import { parseSmtpReply, securityFor, securityOfFlags, tlsFlagsFor, tlsProblemOf } from '../../lib/transport/smtp.knowledge';

describe('SMTP knowledge base', () => {
  it.each([
    [undefined, 465, 'tls'],
    [undefined, 587, 'starttls'],
    [undefined, undefined, 'starttls'],
    [undefined, 2525, 'opportunistic'],
    [undefined, 25, 'opportunistic'],
    ['none', 465, 'none'],
    ['starttls', 2525, 'starttls'],
  ] as const)('security %s on port %s is %s', (security, port, expected) => {
    expect(securityFor(security, port)).toBe(expected);
  });

  it.each(['tls', 'starttls', 'none', 'opportunistic'] as const)('nodemailer switches for %s read back as the same security', (security) => {
    expect(securityOfFlags(tlsFlagsFor(security))).toBe(security);
  });

  it('parses a multi-line reply: code, enhanced code right after it, text lines, last line', () => {
    expect(parseSmtpReply('250-smtp.example.test\n250-STARTTLS\n250 AUTH PLAIN LOGIN')).toEqual({
      code: 250,
      enhancedCode: undefined,
      lines: ['smtp.example.test', 'STARTTLS', 'AUTH PLAIN LOGIN'],
      raw: '250 AUTH PLAIN LOGIN',
    });
    expect(parseSmtpReply('550-5.7.26 unauthenticated\n550 5.7.26 see the docs')).toMatchObject({ code: 550, enhancedCode: '5.7.26' });
  });

  it('takes no enhanced code from further along the reply, and no reply from text without a code', () => {
    expect(parseSmtpReply('554 Client host 5.188.10.4 blocked')).toMatchObject({ code: 554, enhancedCode: undefined });
    expect(parseSmtpReply('Connection closed')).toBeUndefined();
  });

  it('recognises TLS problems in socket errors, never in a server reply', () => {
    expect(tlsProblemOf({ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' })).toBe('untrusted-certificate');
    expect(tlsProblemOf({ code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' })).toBe('tls-mismatch');
    expect(tlsProblemOf({ code: 'EMESSAGE', responseCode: 554, message: 'Message failed: 554 S/MIME certificate not trusted' })).toBeUndefined();
    expect(tlsProblemOf({ code: 'ESOCKET', originalCode: 'ECONNRESET', message: 'read ECONNRESET' })).toBeUndefined();
  });

  describe('hints, in the wording of who asks', () => {
    const hints: SmtpHint[] = [
      'dnsFailed',
      'noAnswer',
      'serverDown',
      'relayPortBlocked',
      'untrustedCertificate',
      'noTlsAnswer',
      'tlsMismatch',
      'startTlsBroken',
      'startTlsUnavailable',
      'greetingSlow',
      'helloRefused',
      'authOnlyOverTls',
      'authNotNeeded',
      'authFailed',
      'loginRequired',
      'senderNotAllowed',
      'relayDenied',
      'recipientRejected',
    ];

    it.each(hints)('%s: the API names options, never a flag; the CLI names flags, options only in parentheses', (hint) => {
      const api = smtpHint(hint, 'api');
      const cli = smtpHint(hint, 'cli');
      expect(api).not.toMatch(/--[a-z]|\?security=/);
      expect(cli).toMatch(/--[a-z]|SMTP_PASSWORD/);
      expect(cli.replace(/\([^)]*\)/g, '')).not.toMatch(/transport\.|security "/);
    });

    it('hints that name the port get it', () => {
      expect(smtpHint('nothingListens', 'api', 2525)).toContain('port 2525');
      expect(smtpHint('nothingListens', 'cli', 2525)).toContain('--url');
      expect(smtpHint('expectsImplicitTls', 'api', 465)).toContain('port 465 needs implicit TLS');
    });
  });
});
