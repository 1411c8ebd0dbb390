/**
 * The message checks' parts, on real inputs: the HTML rules (links, images), the headers of a message as
 * nodemailer writes it, DKIM alignment, and the checks of whole templates composed by a real MessageComposer.
 */
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { MessageComposer } from '../../lib/delivery';
import type { HtmlEncoding } from '../../lib/delivery';
import { checkTemplateMessages, GMAIL_CLIP_BYTES, headerFindings } from '../../lib/delivery/message.checks';
import { previewTemplates, sampleContextFor, TemplateRegistry } from '../../lib/templates';
import type { TemplateFinding } from '../../lib/templates';
import { contentFindings } from '../../lib/templates/template.findings';
import { resolveTemplateOptions } from '../../lib/templates/template.options';
import { dkimAlignment, organisationalDomains } from '../../lib/transport/dkim.alignment';

const FIXTURES = join(__dirname, '..', 'fixtures', 'templates', 'message-checks');

const checksOf = (html: string) => contentFindings({ subject: 's', html, text: 't' }).map((finding) => finding.check);

/** Templates rendered with sample data and checked as the app's composer would send them. */
async function checkTemplates(options: { dir?: string; logoUrl?: string; htmlEncoding?: HtmlEncoding; from?: string; dkimDomain?: string } = {}): Promise<TemplateFinding[]> {
  const resolved = resolveTemplateOptions({ brand: { name: 'Acme', logoUrl: options.logoUrl, supportEmail: 'support@acme.com' }, templates: { dir: options.dir } });
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.problems));
  const { registry, brand } = resolved.value;
  const from = options.from ?? 'Acme <no-reply@acme.com>';
  const composer = new MessageComposer(await TemplateRegistry.load({ ...registry, customDir: undefined }), {
    from,
    htmlEncoding: options.htmlEncoding ?? 'base64',
    senderAddress: from.replace(/^.*</, '').replace(/>$/, ''),
    brand,
  });
  const previews = await previewTemplates(registry, (template) => sampleContextFor(template, { ...brand }));
  return checkTemplateMessages(previews, { composer, dkimDomain: options.dkimDomain });
}

describe('message checks: links and image sources', () => {
  it('flags a relative link (link-absolute) and a plain-http one (link-https), naming the URL', () => {
    const findings = contentFindings({ subject: 's', text: 't', html: '<a href="/account">a</a> <a href="http://acme.com/deals?a=1&amp;b=2">b</a>' });
    expect(findings.map((finding) => finding.check)).toEqual(['link-absolute', 'link-https']);
    expect(findings[0].message).toContain('"/account"');
    expect(findings[0].fix).toContain('https://app.example.com/account');
    // Entities are decoded as a browser reads the attribute.
    expect(findings[1].message).toContain('"http://acme.com/deals?a=1&b=2"');
    expect(findings[1].fix).toContain('https://acme.com/deals?a=1&b=2');
  });

  it('accepts https, http to localhost, 127.0.0.1 and [::1], mailto:, tel:, in-message #fragments and sample placeholders', () => {
    const html = [
      'https://acme.com/a',
      'http://localhost:3000/verify',
      'http://127.0.0.1:3000/x',
      'http://[::1]:3000/y',
      'mailto:help@acme.com',
      'tel:+15550100',
      '#details',
      '[accountUrl]',
    ]
      .map((href) => `<a href="${href}">x</a>`)
      .join('');
    expect(checksOf(html)).toEqual([]);
  });

  it('refuses http to any other host, other schemes, and an http image source', () => {
    expect(checksOf('<a href="http://localhost.evil.com/x">x</a>')).toEqual(['link-https']);
    expect(checksOf('<a href="http://10.0.0.1/x">x</a>')).toEqual(['link-https']);
    expect(checksOf('<a href="javascript:alert(1)">x</a>')).toEqual(['link-https']);
    expect(checksOf('<img alt="Logo" src="http://cdn.acme.com/logo.png">')).toEqual(['link-https']);
    expect(checksOf('<img alt="Logo" src="logo.png">')).toEqual(['link-absolute']);
    expect(checksOf('<img alt="Attached" src="cid:logo@acme">')).toEqual([]);
  });

  it('lists a link once however often it appears, and looks inside links for images', () => {
    expect(checksOf('<a href="http://acme.com">1</a><a href="http://acme.com">2</a>')).toEqual(['link-https']);
    expect(checksOf('<a href="https://acme.com"><img src="https://acme.com/i.png"></a>')).toEqual(['image-alt']);
  });
});

describe('message checks: image alt text', () => {
  it('flags an image without alt and one with an empty alt (what MJML writes for an mj-image without alt)', () => {
    const [missing] = contentFindings({ subject: 's', text: 't', html: '<img src="https://acme.com/a.png">' });
    expect(missing).toMatchObject({ check: 'image-alt' });
    expect(missing.message).toContain('no alt attribute');
    const [empty] = contentFindings({ subject: 's', text: 't', html: '<img alt="" src="https://acme.com/b.png">' });
    expect(empty).toMatchObject({ check: 'image-alt' });
    expect(empty.message).toContain('an empty alt');
    expect(checksOf('<img alt="   " src="https://acme.com/c.png">')).toEqual(['image-alt']);
  });

  it('accepts alt text, and an empty alt on an image marked decorative (role presentation/none, aria-hidden)', () => {
    expect(checksOf('<img alt="Acme" src="https://acme.com/a.png">')).toEqual([]);
    expect(checksOf('<img alt="" role="presentation" src="https://acme.com/a.png">')).toEqual([]);
    expect(checksOf('<img alt="" role="none" src="https://acme.com/a.png">')).toEqual([]);
    expect(checksOf('<img alt="" aria-hidden="true" src="https://acme.com/a.png">')).toEqual([]);
    // Decorative needs the empty alt too: without alt, a screen reader reads the file name.
    expect(checksOf('<img role="presentation" src="https://acme.com/a.png">')).toEqual(['image-alt']);
  });
});

describe('message checks: Message-ID and Date on the wire', () => {
  const raw = (headers: string) => Buffer.from(`${headers}\r\nSubject: x\r\n\r\nbody\r\n`);

  it('a message as nodemailer writes it has both', async () => {
    const built = await new MailComposer({ from: 'a@acme.com', to: 'b@example.com', text: 'x', messageId: '<1@acme.com>' }).compile().build();
    expect(built.toString()).toMatch(/\r\nDate: /);
    expect(headerFindings(built)).toEqual([]);
  });

  it('flags a message without either', () => {
    expect(headerFindings(raw('From: a@acme.com')).map((finding) => finding.check)).toEqual(['message-id', 'date']);
  });

  it('flags two Message-IDs, a malformed one, one at a bare host name, and a Date that is not a date or far off', () => {
    const date = `Date: ${new Date().toUTCString()}`;
    expect(headerFindings(raw(`Message-ID: <1@acme.com>\r\nMessage-ID: <2@acme.com>\r\n${date}`)).map((f) => f.check)).toEqual(['message-id']);
    expect(headerFindings(raw(`Message-ID: 1@acme.com\r\n${date}`)).map((f) => f.check)).toEqual(['message-id']);
    expect(headerFindings(raw(`Message-ID: <1@localhost>\r\n${date}`)).map((f) => f.check)).toEqual(['message-id']);
    expect(headerFindings(raw('Message-ID: <1@acme.com>\r\nDate: yesterday')).map((f) => f.check)).toEqual(['date']);
    expect(headerFindings(raw('Message-ID: <1@acme.com>\r\nDate: Mon, 01 Jan 2001 00:00:00 +0000')).map((f) => f.check)).toEqual(['date']);
    // A folded header is one field.
    expect(headerFindings(raw(`Message-ID:\r\n <1@acme.com>\r\n${date}`))).toEqual([]);
  });
});

describe('message checks: From domain and DKIM domain (DMARC alignment)', () => {
  it('uses the Public Suffix List (tldts) when it is installed', () => {
    expect(organisationalDomains()).not.toBeNull();
  });

  it.each([
    ['acme.com', 'acme.com', 'strict'],
    ['ACME.com.', 'acme.com', 'strict'],
    ['mail.acme.com', 'acme.com', 'relaxed'],
    ['acme.com', 'em1234.acme.com', 'relaxed'],
    ['a.acme.com', 'b.acme.com', 'relaxed'],
    ['mail.acme.co.uk', 'acme.co.uk', 'relaxed'],
    ['acme.co.uk', 'other.co.uk', 'none'],
    ['acme.com', 'sendgrid.net', 'none'],
    ['ada.github.io', 'grace.github.io', 'none'],
    ['bücher.example', 'xn--bcher-kva.example', 'strict'],
  ])('From %s, d=%s: %s', (from, signing, expected) => {
    expect(dkimAlignment(from, signing)).toBe(expected);
  });

  it.each([
    ['mail.acme.com', 'acme.com', 'relaxed'],
    ['acme.com', 'sendgrid.net', 'none'],
    ['a.acme.com', 'b.acme.com', 'unknown'],
  ])('without the list, From %s, d=%s: %s', (from, signing, expected) => {
    expect(dkimAlignment(from, signing, null)).toBe(expected);
  });
});

describe('message checks of whole templates', () => {
  it('every built-in, in every locale, passes: without and with a logo, base64 and quoted-printable', async () => {
    expect(await checkTemplates()).toEqual([]);
    expect(await checkTemplates({ logoUrl: 'https://acme.com/logo.png', htmlEncoding: 'quoted-printable' })).toEqual([]);
  });

  it('flags each fixture with its own check only, and passes the clean one', async () => {
    const findings = await checkTemplates({ dir: FIXTURES });
    expect(findings.map(({ template, locale, check }) => ({ template, locale, check }))).toEqual([
      { template: 'http-link', locale: '', check: 'link-https' },
      { template: 'no-alt', locale: '', check: 'image-alt' },
      { template: 'oversized', locale: '', check: 'html-size' },
    ]);
    expect(findings.every((finding) => finding.file?.startsWith(FIXTURES))).toBe(true);
    expect(findings.find((finding) => finding.check === 'image-alt')!.message).toContain('https://assets.example.com/new-look.png');
  });

  it('measures the HTML part as sent: over 102 KB in both encodings, base64 the larger', async () => {
    const sizeOf = async (htmlEncoding: HtmlEncoding) => {
      const finding = (await checkTemplates({ dir: FIXTURES, htmlEncoding })).find((f) => f.check === 'html-size')!;
      const [, sent, decoded] = /is ([\d.]+) KB as sent \(.*; ([\d.]+) KB of HTML\)/.exec(finding.message)!.map(Number);
      expect(finding.message).toContain(`(${htmlEncoding};`);
      return { sent, decoded };
    };
    const base64 = await sizeOf('base64');
    const qp = await sizeOf('quoted-printable');
    expect(base64.decoded).toBe(qp.decoded);
    expect(qp.sent).toBeGreaterThan(GMAIL_CLIP_BYTES / 1024);
    expect(base64.sent).toBeGreaterThan(base64.decoded * 1.3);
  });

  it('with a DKIM domain that does not align with From: one finding about every message (*), first', async () => {
    const findings = await checkTemplates({ dkimDomain: 'sendgrid.net' });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ template: '*', locale: '', check: 'from-dkim-alignment' });
    expect(findings[0].message).toContain('acme.com');
    expect(findings[0].fix).toContain('dkim.domainName "acme.com"');
    expect(await checkTemplates({ dkimDomain: 'mail.acme.com' })).toEqual([]);
  });

  it('a template that does not render is a renders finding', async () => {
    const findings = await checkTemplates({ dir: join(__dirname, '..', 'fixtures', 'templates', 'invalid') });
    expect(findings.map(({ template, check }) => ({ template, check }))).toEqual([{ template: 'broken', check: 'renders' }]);
  });
});
