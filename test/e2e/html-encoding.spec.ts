import { Test, TestingModule } from '@nestjs/testing';
import { simpleParser } from 'mailparser';
import { EmailWorkflowModule, EmailWorkflowModuleOptions, EmailWorkflowService } from 'nestjs-email-workflow';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { RawSmtpSink } from '../support/raw-smtp-sink';
import { deleteKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';

const TO = { address: 'zoe@example.test', name: 'Zoë Ångström' };
// Non-ASCII in the variables, so either encoding has UTF-8 to carry.
const CONTEXT = { name: 'Zoë', link: 'http://localhost:3000/verify-email?token=abc123' };

/** The headers of the message part whose Content-Type is `type`, as sent. */
function partHeaders(raw: Buffer, type: string): string {
  const parts = raw.toString('latin1').split(/\r\n--[^\r\n]+\r\n/);
  const part = parts.find((candidate) => candidate.toLowerCase().startsWith(`content-type: ${type}`));
  if (!part) throw new Error(`no ${type} part in:\n${raw.toString('latin1').slice(0, 2_000)}`);
  return part.slice(0, part.indexOf('\r\n\r\n'));
}

describe('htmlEncoding: the Content-Transfer-Encoding of the HTML part', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function sendOne(overrides: Partial<EmailWorkflowModuleOptions>): Promise<{ raw: Buffer; html: string; text: string }> {
    const sink = await RawSmtpSink.start();
    cleanups.push(() => sink.close());
    const moduleRef: TestingModule = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, overrides))] }).compile();
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    const emails = moduleRef.get(EmailWorkflowService);
    await emails.send({ template: 'verify-email', to: TO, context: CONTEXT });
    const [message] = await sink.waitForMessages(1);
    const { html, text } = emails.render({ template: 'verify-email', context: CONTEXT });
    return { raw: message.raw, html, text };
  }

  it('is base64 by default; the HTML and text that arrive are exactly the rendered ones', async () => {
    const { raw, html, text } = await sendOne({});

    expect(partHeaders(raw, 'text/html')).toMatch(/^Content-Transfer-Encoding: base64$/im);
    expect(partHeaders(raw, 'text/plain')).not.toMatch(/^Content-Transfer-Encoding: base64$/im);
    // Declared UTF-8, so spam filters' rule against base64 in a 7-bit charset (MIME_BASE64_TEXT) does not apply.
    expect(partHeaders(raw, 'text/html')).toMatch(/^Content-Type: text\/html; charset=utf-8$/im);
    expect(raw.toString('latin1')).not.toContain('<!doctype html>');
    const parsed = await simpleParser(raw);
    expect(parsed.html).toBe(html);
    expect(parsed.text?.trim()).toBe(text.trim());
    expect(parsed.to).toMatchObject({ value: [TO] });
  });

  it("is quoted-printable with htmlEncoding: 'quoted-printable': the raw source stays readable and decodes to the same HTML", async () => {
    const { raw, html } = await sendOne({ htmlEncoding: 'quoted-printable' });

    expect(partHeaders(raw, 'text/html')).toMatch(/^Content-Transfer-Encoding: quoted-printable$/im);
    expect(raw.toString('latin1')).toContain('<!doctype html>');
    expect((await simpleParser(raw)).html).toBe(html);
  });

  it('is applied by the worker of the Redis queue too', async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const { raw, html } = await sendOne({ secret: TEST_SECRET, queue: { redis: REDIS_URL, prefix } });

    expect(partHeaders(raw, 'text/html')).toMatch(/^Content-Transfer-Encoding: base64$/im);
    expect((await simpleParser(raw)).html).toBe(html);
  });

  it('refuses any other value at boot, naming the field and the two it takes', async () => {
    const error = await invalidOptionsError(localOptions(2525, { htmlEncoding: '7bit' as never }));

    expect(error.problems).toEqual([
      expect.objectContaining({ path: 'htmlEncoding', problem: 'must be "base64" or "quoted-printable"', fix: expect.stringContaining('quoted-printable') }),
    ]);
  });
});
