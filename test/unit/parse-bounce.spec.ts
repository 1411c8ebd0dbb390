/**
 * parseBounce over reports written from the documented layouts of each mail system (test/fixtures/bounces),
 * variations derived from them, and hostile input. Every expectation is the whole parsed value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_BOUNCE_MIME_DEPTH, MAX_BOUNCE_RECIPIENTS, MAX_BOUNCE_SIZE, MAX_DIAGNOSTIC_LENGTH, parseBounce } from '../../lib/bounces';
import type { BounceReport } from '../../lib/bounces';
import { InvalidArgumentError, parseBounce as publicParseBounce, MAX_BOUNCE_SIZE as PUBLIC_MAX_BOUNCE_SIZE } from '../../lib';

const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'bounces', name), 'utf8');

/** Replaces text that must be in the fixture, so a derived report never silently equals its source. */
function edit(source: string, from: string | RegExp, to: string): string {
  const edited = source.replace(from, to);
  if (edited === source) throw new Error(`the fixture does not contain ${String(from)}`);
  return edited;
}

const POSTFIX_REPORT: BounceReport = {
  type: 'bounce',
  recipients: [
    {
      address: 'Nobody@example.org',
      action: 'failed',
      status: '5.1.1',
      diagnosticCode: '550 5.1.1 <Nobody@example.org>: Recipient address rejected: User unknown in local recipient table',
    },
  ],
  messageId: '<3f1c2a9e-8d4b-4c7e-9a51-2b6f0e7d1c44@acme.test>',
  envelopeTag: 'Vb3kQ9xT2mLp',
  fromDsnPart: true,
};

describe('parseBounce: DSNs (RFC 3464 multipart/report; report-type=delivery-status)', () => {
  it('is the one the package exports', () => {
    expect(publicParseBounce).toBe(parseBounce);
    expect(PUBLIC_MAX_BOUNCE_SIZE).toBe(1024 * 1024);
  });

  it('Postfix: unknown user, the original returned as message/rfc822', async () => {
    expect(await parseBounce(readFileSync(join(__dirname, '..', 'fixtures', 'bounces', 'postfix-bounce.eml')))).toStrictEqual(POSTFIX_REPORT);
  });

  it('Postfix: the same report as a string and with CRLF line endings', async () => {
    expect(await parseBounce(fixture('postfix-bounce.eml'))).toStrictEqual(POSTFIX_REPORT);
    expect(await parseBounce(fixture('postfix-bounce.eml').replace(/\n/g, '\r\n'))).toStrictEqual(POSTFIX_REPORT);
  });

  it('Postfix: a delay notice (Action: delayed) with text/rfc822-headers is a delay', async () => {
    expect(await parseBounce(fixture('postfix-delay.eml'))).toStrictEqual({
      type: 'delay',
      recipients: [
        {
          address: 'grace@slow.example.net',
          action: 'delayed',
          status: '4.4.1',
          diagnosticCode: 'connect to mx.slow.example.net[203.0.113.40]:25: Connection timed out',
        },
      ],
      messageId: '<9b0e6c1d-2f47-4a3e-b8d5-61c7f0a2e913@acme.test>',
      envelopeTag: 'Rt7Yw2Kp0sNd',
      fromDsnPart: true,
    });
  });

  it("Exim: two recipients; its generic Status 5.0.0 gives way to the server's own code in Diagnostic-Code", async () => {
    expect(await parseBounce(fixture('exim-bounce.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [
        { address: 'alan@example.com', action: 'failed', status: '5.1.1', diagnosticCode: '550 5.1.1 <alan@example.com>: Recipient address rejected: User unknown' },
        { address: 'full@example.com', action: 'failed', status: '5.2.2', diagnosticCode: '552 5.2.2 <full@example.com>: Mailbox full' },
      ],
      messageId: '<c4a7e2b0-6f13-4d88-9e2a-0b5d8f1c3a76@acme.test>',
      envelopeTag: 'Hq4Zr8Wn1cXe',
      fromDsnPart: true,
    });
  });

  it('Sendmail: upper-case RFC822; type, the case of the address kept', async () => {
    expect(await parseBounce(fixture('sendmail-bounce.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [{ address: 'Ghost@Example.org', action: 'failed', status: '5.1.1', diagnosticCode: '550 5.1.1 <Ghost@Example.org>... User unknown' }],
      messageId: '<0b7e3d95-1c48-4a2f-9d6e-85f4a3c2b1e0@acme.test>',
      envelopeTag: 'Sd1Fg4Hj7kLz',
      fromDsnPart: true,
    });
  });

  it('Exchange / Office 365: nested multipart/alternative, a three-digit detail (5.1.10), text/rfc822-headers', async () => {
    expect(await parseBounce(fixture('office365-ndr.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [
        {
          address: 'nobody@contoso.com',
          action: 'failed',
          status: '5.1.10',
          diagnosticCode: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@contoso.com not found by SMTP address lookup',
        },
      ],
      messageId: '<6c2f8a14-7e93-4b05-a1d8-3e9f0b7c5d26@acme.test>',
      envelopeTag: 'Ox3Wc6Rb9nMv',
      fromDsnPart: true,
    });
  });

  const GMAIL_RECIPIENT = {
    address: 'no.such.user@example.net',
    action: 'failed',
    status: '5.1.1',
    diagnosticCode:
      "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-ab1234567.1 - gsmtp",
  } as const;

  it('Gmail: text and HTML in multipart/related, a multi-line Diagnostic-Code joined', async () => {
    expect(await parseBounce(fixture('gmail-bounce.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [GMAIL_RECIPIENT],
      messageId: '<2a9c4e6f-8b1d-4f3a-9e7c-5d0b2a8f6e14@acme.test>',
      envelopeTag: 'Gm7Lp2Qr5sTu',
      fromDsnPart: true,
    });
  });

  it("Gmail without the returned message: the Message-ID from the DSN's X-Original-Message-ID", async () => {
    const gmail = fixture('gmail-bounce.eml');
    const returned = gmail.lastIndexOf('--000000000000f1e2d3c4b5a69788\nContent-Type: message/rfc822');
    const withoutOriginal = `${gmail.slice(0, returned)}--000000000000f1e2d3c4b5a69788--\n`;
    expect(await parseBounce(withoutOriginal)).toStrictEqual({
      type: 'bounce',
      recipients: [GMAIL_RECIPIENT],
      messageId: '<2a9c4e6f-8b1d-4f3a-9e7c-5d0b2a8f6e14@acme.test>',
      envelopeTag: 'Gm7Lp2Qr5sTu',
      fromDsnPart: true,
    });
  });

  it('Amazon SES: email feedback forwarding, Action before Final-Recipient', async () => {
    expect(await parseBounce(fixture('ses-bounce.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [{ address: 'bounce@simulator.amazonses.com', action: 'failed', status: '5.1.1', diagnosticCode: '550 5.1.1 user unknown' }],
      messageId: '<8e4c2a06-1f3b-4d5e-9a7c-6b8d0f2e4a13@acme.test>',
      envelopeTag: 'Am4Zs8Es1xKq',
      fromDsnPart: true,
    });
  });

  it('gives the address we sent to (Original-Recipient) over where an alias led (Final-Recipient)', async () => {
    const aliased = edit(fixture('postfix-bounce.eml'), 'Final-Recipient: rfc822; Nobody@example.org', 'Final-Recipient: rfc822; n.body@internal.example.org');
    expect(await parseBounce(aliased)).toStrictEqual(POSTFIX_REPORT);
    // and Final-Recipient when Original-Recipient is no internet address (an X.400 one, RFC 3464 §2.3.1)
    const x400 = edit(fixture('postfix-bounce.eml'), 'Original-Recipient: rfc822;Nobody@example.org', 'Original-Recipient: x400; G=Nobody; O=Example; C=XX');
    expect(await parseBounce(x400)).toStrictEqual(POSTFIX_REPORT);
  });

  it('strips the type, spaces and angle brackets of Final-Recipient, and keeps a Unicode address (RFC 6533) as given', async () => {
    const bracketed = edit(
      edit(fixture('postfix-bounce.eml'), 'Final-Recipient: rfc822; Nobody@example.org', 'Final-Recipient: RFC822;   <Nobody@example.org>  '),
      'Original-Recipient: rfc822;Nobody@example.org\n',
      '',
    );
    expect(await parseBounce(bracketed)).toStrictEqual(POSTFIX_REPORT);

    const global = edit(
      edit(fixture('postfix-bounce.eml'), /Final-Recipient: [^\n]+\nOriginal-Recipient: [^\n]+\n/, 'Final-Recipient: utf-8; Zoë@Exämple.org\n'),
      'Content-Type: message/delivery-status',
      'Content-Type: message/global-delivery-status',
    );
    expect(await parseBounce(global)).toStrictEqual({ ...POSTFIX_REPORT, recipients: [{ ...POSTFIX_REPORT.recipients[0], address: 'Zoë@Exämple.org' }] });
  });

  it('splits recipients of a DSN that lost the blank line between them', async () => {
    const joined = edit(fixture('exim-bounce.eml'), 'Recipient address rejected: User unknown\n\nAction: failed', 'Recipient address rejected: User unknown\nAction: failed');
    expect((await parseBounce(joined))?.recipients.map(({ address, status }) => ({ address, status }))).toStrictEqual([
      { address: 'alan@example.com', status: '5.1.1' },
      { address: 'full@example.com', status: '5.2.2' },
    ]);
    // Postfix's order, Final-Recipient before Original-Recipient
    const postfixOrder = [
      'Final-Recipient: rfc822; ada@internal.example.org',
      'Original-Recipient: rfc822;Ada@example.org',
      'Action: failed',
      'Status: 5.1.1',
      'Final-Recipient: rfc822; bo@example.org',
      'Original-Recipient: rfc822;Bo@example.org',
      'Action: failed',
      'Status: 5.2.1',
      '',
    ].join('\n');
    const twoInOne = edit(fixture('postfix-bounce.eml'), /Final-Recipient: rfc822; Nobody[\s\S]*?recipient table\n/, postfixOrder);
    expect((await parseBounce(twoInOne))?.recipients).toStrictEqual([
      { address: 'Ada@example.org', action: 'failed', status: '5.1.1' },
      { address: 'Bo@example.org', action: 'failed', status: '5.2.1' },
    ]);
  });

  it('infers the action from the status when Action is missing, and the status from Diagnostic-Code when Status is', async () => {
    const partial = edit(edit(fixture('postfix-bounce.eml'), 'Action: failed\n', ''), 'Status: 5.1.1\n', '');
    expect(await parseBounce(partial)).toStrictEqual(POSTFIX_REPORT);
  });

  it('reads the tag from To when Delivered-To and X-Original-To carry none, and gives none when no address has one', async () => {
    const rewritten = fixture('postfix-bounce.eml').replace(/^(Delivered-To|X-Original-To): .*$/gm, '$1: bounces@acme.test');
    expect(await parseBounce(rewritten)).toStrictEqual(POSTFIX_REPORT);
    const untagged = rewritten.replace(/^To: .*$/m, 'To: bounces@acme.test');
    const { envelopeTag, ...withoutTag } = POSTFIX_REPORT;
    expect(envelopeTag).toBe('Vb3kQ9xT2mLp');
    expect(await parseBounce(untagged)).toStrictEqual(withoutTag);
  });

  it('a success notice (Action: delivered) is null', async () => {
    const delivered = edit(edit(fixture('postfix-bounce.eml'), 'Action: failed', 'Action: delivered'), 'Status: 5.1.1', 'Status: 2.0.0');
    expect(await parseBounce(delivered)).toBeNull();
  });
});

describe('parseBounce: complaints (ARF, RFC 5965 report-type=feedback-report)', () => {
  const ARF_REPORT: BounceReport = {
    type: 'complaint',
    recipients: [{ address: 'Ada.Reader@mailbox.example', action: 'complained' }],
    messageId: '<f3a1c5e7-9b2d-4f60-8e4a-1c3b5d7f9a20@acme.test>',
    envelopeTag: 'Cp9Xw3Ze6rTy',
    fromDsnPart: true,
  };

  it('Feedback-Type: abuse with message/rfc822: the Original-Rcpt-To, the tag of Original-Mail-From', async () => {
    expect(await parseBounce(fixture('arf-abuse.eml'))).toStrictEqual(ARF_REPORT);
  });

  it('with text/rfc822-headers and no Original-Rcpt-To: the To of the returned headers', async () => {
    expect(await parseBounce(fixture('arf-headers-only.eml'))).toStrictEqual({
      type: 'complaint',
      recipients: [{ address: 'lin@provider.example', action: 'complained' }],
      messageId: '<4d6b8f0a-2c4e-4a68-b0d2-7e9f1a3c5b86@acme.test>',
      fromDsnPart: true,
    });
  });

  it('Feedback-Type: not-spam or auth-failure is no complaint', async () => {
    expect(await parseBounce(edit(fixture('arf-abuse.eml'), 'Feedback-Type: abuse', 'Feedback-Type: not-spam'))).toBeNull();
    expect(await parseBounce(edit(fixture('arf-abuse.eml'), 'Feedback-Type: abuse', 'Feedback-Type: auth-failure'))).toBeNull();
  });
});

describe('parseBounce: bounces without a DSN part, read from their text', () => {
  it("Exim's plain-text bounce (X-Failed-Recipients), the reply folded over two lines", async () => {
    expect(await parseBounce(fixture('exim-plain.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [
        {
          address: 'lost@legacy.example',
          action: 'failed',
          status: '5.1.1',
          diagnosticCode: '550 5.1.1 <lost@legacy.example>: Recipient address rejected: User unknown in virtual mailbox table',
        },
      ],
      messageId: '<5e2d9a71-03c4-4b6f-a8e1-7f9c2b4d6e08@acme.test>',
      envelopeTag: 'Jd6Ts0Bv3gHy',
      fromDsnPart: false,
    });
  });

  it("Exim's delay warning is a delay", async () => {
    expect(await parseBounce(fixture('exim-delay-plain.eml'))).toStrictEqual({
      type: 'delay',
      recipients: [{ address: 'slow@legacy.example', action: 'delayed', status: '4.3.0', diagnosticCode: '451 4.3.0 <slow@legacy.example>: Temporary lookup failure' }],
      messageId: '<7a3c5e91-2b4d-4f60-8c17-d9e0a1b2c3f4@acme.test>',
      envelopeTag: 'Pm2Ux7Ck5fLa',
      fromDsnPart: false,
    });
  });

  it("qmail's \"Hi. This is the qmail-send program\": a remote reply and a local (#5.1.1)", async () => {
    expect(await parseBounce(fixture('qmail-plain.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [
        { address: 'gone@remote.example', action: 'failed', status: '5.1.1', diagnosticCode: '550 5.1.1 <gone@remote.example>... User unknown' },
        { address: 'nouser@mail.qmail.example', action: 'failed', status: '5.1.1', diagnosticCode: 'Sorry, no mailbox here by that name. (#5.1.1)' },
      ],
      messageId: '<e8b1f4c2-9a07-4d3e-b6c5-2f1a0d9e8c7b@acme.test>',
      envelopeTag: 'Nc8Lq3Vy6dRs',
      fromDsnPart: false,
    });
  });

  it("Yahoo's Failure Notice: a basic reply code only, so no status", async () => {
    expect(await parseBounce(fixture('yahoo-failure-notice.eml'))).toStrictEqual({
      type: 'bounce',
      recipients: [{ address: 'nobody@yahoo.com', action: 'failed', diagnosticCode: '552 1 Requested mail action aborted, mailbox not found' }],
      messageId: '<1d6f3b8e-4c2a-4e95-a7b0-c3e8f2d1a594@acme.test>',
      envelopeTag: 'Yk5Gm9Hs2tWq',
      fromDsnPart: false,
    });
  });

  it("a DSN whose delivery-status part is cut off is read from Postfix's text instead", async () => {
    const postfix = fixture('postfix-bounce.eml');
    expect(await parseBounce(postfix.slice(0, postfix.indexOf('Action: failed')))).toStrictEqual({
      type: 'bounce',
      recipients: [
        {
          address: 'Nobody@example.org',
          action: 'failed',
          status: '5.1.1',
          diagnosticCode: '550 5.1.1 <Nobody@example.org>: Recipient address rejected: User unknown in local recipient table (in reply to RCPT TO command)',
        },
      ],
      envelopeTag: 'Vb3kQ9xT2mLp',
      fromDsnPart: false,
    });
  });
});

describe('parseBounce: what is not a bounce is null', () => {
  it('an RFC 3834 auto-reply (out of office), though it says "could not be delivered"', async () => {
    expect(await parseBounce(fixture('out-of-office.eml'))).toBeNull();
    const bySubjectOnly = edit(fixture('out-of-office.eml'), 'X-Autoreply: yes\n', '').replace('Automatic reply:', 'Out of Office:');
    expect(await parseBounce(bySubjectOnly)).toBeNull();
    // postmaster's own vacation notice, answering a bounce it copies: a mail-system sender and a bounce's words
    const copyingBounce = edit(
      edit(fixture('out-of-office.eml'), 'From: Ada Lovelace <ada@example.org>', 'From: postmaster@example.org'),
      '\nAda\n',
      "\nYour message:\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<Nobody@example.org>: 550 5.1.1 User unknown\n",
    );
    expect(await parseBounce(copyingBounce)).toBeNull();
    expect(await parseBounce(edit(copyingBounce, 'Automatic reply: ', 'Re: '))).toBeNull(); // X-Autoreply alone
    // the same without its auto-reply marks would be read as a bounce: the marks are what make it null
    expect(await parseBounce(edit(edit(copyingBounce, 'X-Autoreply: yes\n', ''), 'Automatic reply: ', 'Re: '))).toStrictEqual({
      type: 'bounce',
      recipients: [{ address: 'Nobody@example.org', action: 'failed', status: '5.1.1', diagnosticCode: '550 5.1.1 User unknown' }],
      envelopeTag: 'Oo1Fc4Ee7rWq',
      fromDsnPart: false,
    });
  });

  it('ordinary mail, even one quoting a 550 5.1.1, and even from postmaster', async () => {
    expect(await parseBounce(fixture('ordinary.eml'))).toBeNull();
    expect(await parseBounce(edit(fixture('ordinary.eml'), 'From: Ada Lovelace <ada@example.org>', 'From: postmaster@example.org'))).toBeNull();
  });

  it('empty input and a line of text', async () => {
    expect(await parseBounce('')).toBeNull();
    expect(await parseBounce(Buffer.alloc(0))).toBeNull();
    expect(await parseBounce('hello')).toBeNull();
  });

  it('anything but a Buffer or a string is InvalidArgumentError', async () => {
    await expect(parseBounce(undefined as unknown as string)).rejects.toThrow(InvalidArgumentError);
    await expect(parseBounce({ raw: 'x' } as unknown as string)).rejects.toThrow(
      'parseBounce() was called with raw a value of type object, but it must be a Buffer or a string holding the whole message.',
    );
  });
});

describe('parseBounce: hostile input resolves, bounded', () => {
  /** The Postfix report with the multipart/alternative of its returned original wrapped in `levels` multipart/mixed. */
  function nestedOriginal(levels: number): string {
    const postfix = fixture('postfix-bounce.eml');
    const alternative = 'Content-Type: multipart/alternative;\n boundary="--_NmP-5a1e0c9d3b7f2e4a-Part_1"';
    const closing = '----_NmP-5a1e0c9d3b7f2e4a-Part_1--\n';
    const bodyStart = postfix.indexOf('----_NmP-5a1e0c9d3b7f2e4a-Part_1\n');
    const bodyEnd = postfix.indexOf(closing) + closing.length;
    const header = edit(postfix.slice(0, bodyStart), alternative, 'Content-Type: multipart/mixed; boundary="wrap0"');
    const openers = Array.from({ length: levels }, (_, level) => {
      const inner = level + 1 < levels ? `Content-Type: multipart/mixed; boundary="wrap${level + 1}"` : alternative;
      return `--wrap${level}\n${inner}\n\n`;
    });
    const closers = Array.from({ length: levels }, (_, level) => `--wrap${levels - 1 - level}--\n`);
    return `${header}${openers.join('')}${postfix.slice(bodyStart, bodyEnd)}${closers.join('')}${postfix.slice(bodyEnd)}`;
  }

  it(`reads a report nested ${MAX_BOUNCE_MIME_DEPTH} deep (the original's multiparts counted in), and none deeper`, async () => {
    // report (1) + the original's multipart/alternative (1) + the wrappers
    expect(await parseBounce(nestedOriginal(MAX_BOUNCE_MIME_DEPTH - 2))).toStrictEqual(POSTFIX_REPORT);
    expect(await parseBounce(nestedOriginal(MAX_BOUNCE_MIME_DEPTH - 1))).toBeNull();
  });

  it('1000 nested multiparts are null', async () => {
    let nested = 'From: MAILER-DAEMON@mail.example.org\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/mixed; boundary="b0"\n\n';
    for (let level = 1; level < 1000; level++) nested += `--b${level - 1}\nContent-Type: multipart/mixed; boundary="b${level}"\n\n`;
    for (let level = 999; level >= 0; level--) nested += `--b${level}--\n`;
    expect(await parseBounce(nested)).toBeNull();
  });

  it(`a report up to ${MAX_BOUNCE_SIZE} bytes is read, one byte more is null, and so is 5 MB`, async () => {
    const postfix = fixture('postfix-bounce.eml');
    const padding = MAX_BOUNCE_SIZE - Buffer.byteLength(postfix) - 1; // a line after the closing delimiter
    expect(await parseBounce(`${postfix}\n${'x'.repeat(padding)}`)).toStrictEqual(POSTFIX_REPORT);
    expect(await parseBounce(Buffer.from(`${postfix}\n${'x'.repeat(padding + 1)}`))).toBeNull();
    // fewer characters than the cap, more bytes: measured in bytes
    expect(await parseBounce(`${postfix}\n${'é'.repeat(Math.floor(padding / 2) + 1)}`)).toBeNull();
    expect(await parseBounce(`${postfix}\n${'x'.repeat(5 * 1024 * 1024)}`)).toBeNull();
  });

  it('binary garbage is null', async () => {
    let seed = 12345;
    const garbage = Buffer.alloc(512 * 1024);
    for (let index = 0; index < garbage.length; index++) garbage[index] = ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
    expect(await parseBounce(garbage)).toBeNull();
    expect(await parseBounce(Buffer.concat([Buffer.from('Content-Type: multipart/report; boundary="x"\n\n--x\n'), garbage]))).toBeNull();
  });

  it('a header line of 1 MB is null; a Diagnostic-Code of 1 MB is cut', async () => {
    const postfix = fixture('postfix-bounce.eml');
    expect(await parseBounce(edit(postfix, 'Subject: Undelivered Mail Returned to Sender', `Subject: ${'a'.repeat(1_000_000)}`))).toBeNull();
    const longDiagnostic = await parseBounce(edit(postfix, 'Diagnostic-Code: smtp; 550 5.1.1', `Diagnostic-Code: smtp; 550 ${'b'.repeat(1_000_000)} 5.1.1`));
    expect(longDiagnostic).toStrictEqual({
      ...POSTFIX_REPORT,
      recipients: [{ address: 'Nobody@example.org', action: 'failed', status: '5.1.1', diagnosticCode: `550 ${'b'.repeat(MAX_DIAGNOSTIC_LENGTH - 4)}` }],
    });
  });

  it(`a DSN with 10,000 recipients yields the first ${MAX_BOUNCE_RECIPIENTS}`, async () => {
    const user = (index: number) => `user${String(index).padStart(5, '0')}@example.org`;
    const blocks = Array.from({ length: 10_000 }, (_, index) => `Final-Recipient: rfc822; ${user(index)}\nAction: failed\nStatus: 5.1.1\n`).join('\n');
    const many = edit(fixture('postfix-bounce.eml'), /Final-Recipient: rfc822; Nobody[\s\S]*?recipient table\n/, blocks);
    expect(Buffer.byteLength(many)).toBeLessThan(MAX_BOUNCE_SIZE);
    expect(await parseBounce(many)).toStrictEqual({
      ...POSTFIX_REPORT,
      recipients: Array.from({ length: MAX_BOUNCE_RECIPIENTS }, (_, index) => ({ address: user(index), action: 'failed', status: '5.1.1' })),
    });
  });
});

describe('parseBounce without mailparser', () => {
  afterEach(() => jest.dontMock('mailparser'));

  it('rejects with DependencyMissingError naming it', async () => {
    jest.doMock('mailparser', () => {
      throw Object.assign(new Error("Cannot find module 'mailparser' from 'lib/bounces/parse-bounce.ts'"), { code: 'MODULE_NOT_FOUND' });
    });
    let isolated!: typeof import('../../lib/bounces');
    jest.isolateModules(() => {
      isolated = require('../../lib/bounces') as typeof import('../../lib/bounces');
    });
    await expect(isolated.parseBounce(fixture('postfix-bounce.eml'))).rejects.toMatchObject({
      name: 'DependencyMissingError',
      code: 'EMAIL_WORKFLOW_DEPENDENCY_MISSING',
      missingPackage: 'mailparser',
      message: 'parseBounce (reading bounce and complaint reports) needs the package "mailparser", which is not installed. Fix: npm install mailparser',
    });
  });
});
