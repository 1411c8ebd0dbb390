import { Test, TestingModule } from '@nestjs/testing';
import { dkimVerify } from 'mailauth';
import { generateKeyPairSync } from 'node:crypto';
import { EmailWorkflowModule, EmailWorkflowModuleOptions, EmailWorkflowService, InvalidOptionsError } from 'nestjs-email-workflow';
import { localOptions } from '../support/module-options';
import { RawSmtpSink } from '../support/raw-smtp-sink';

const SELECTOR = 'test';
const DOMAIN = 'acme.test';
const KEY_NAME = `${SELECTOR}._domainkey.${DOMAIN}`;

/** A 2048-bit RSA key pair: the PEM private key for the module, the DNS record for the verifier. */
function rsaKeyPair(): { privateKey: string; record: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, record: `v=DKIM1; k=rsa; p=${spki}` };
}

/**
 * A DNS resolver for mailauth that knows one TXT record and nothing else: no DNS traffic. The
 * record is split into 255-byte strings, as a real TXT answer for a 2048-bit key is.
 */
function resolverFor(records: Record<string, string>, lookups: string[]) {
  return async (name: string, rrtype: string): Promise<string[][]> => {
    lookups.push(`${rrtype} ${name}`);
    const record = rrtype === 'TXT' ? records[name] : undefined;
    if (record === undefined) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return [record.match(/.{1,255}/g) as string[]];
  };
}

/** Changes one letter of the body (after the blank line that ends the headers). */
function alterBody(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const bodyStart = text.indexOf('\r\n\r\n') + 4;
  const offset = text.slice(bodyStart).search(/[A-Za-z]/);
  expect(bodyStart).toBeGreaterThan(4);
  expect(offset).toBeGreaterThanOrEqual(0);
  const at = bodyStart + offset;
  const changed = text[at] === 'x' ? 'y' : 'x';
  return Buffer.from(text.slice(0, at) + changed + text.slice(at + 1), 'latin1');
}

describe('DKIM signing, verified with mailauth against the published public key', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function boot(options: EmailWorkflowModuleOptions): Promise<EmailWorkflowService> {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] }).compile();
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    return moduleRef.get(EmailWorkflowService);
  }

  async function startSink(): Promise<RawSmtpSink> {
    const sink = await RawSmtpSink.start();
    cleanups.push(() => sink.close());
    return sink;
  }

  it('signs with d=acme.test s=test; the signature verifies, and fails once one body character changes', async () => {
    const { privateKey, record } = rsaKeyPair();
    const sink = await startSink();
    const emails = await boot(
      localOptions(sink.port, { from: 'Acme <no-reply@acme.test>', dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey } }),
    );

    const { messageId } = await emails.send({
      template: 'verify-email',
      to: { address: 'ada@example.test', name: 'Ada Lovelace' },
      context: { name: 'Ada', link: 'http://localhost:3000/verify-email?token=abc123' },
    });
    const [message] = await sink.waitForMessages(1);
    const raw = message.raw;
    const headers = raw.toString('latin1').slice(0, raw.indexOf('\r\n\r\n'));
    expect(headers).toContain(messageId);
    expect(headers).toMatch(/^DKIM-Signature: /m);
    expect(headers).toMatch(/\bd=acme\.test;/);
    expect(headers).toMatch(/\bs=test;/);

    const lookups: string[] = [];
    const resolver = resolverFor({ [KEY_NAME]: record }, lookups);

    const verified = await dkimVerify(raw, { resolver });
    expect(verified.results).toHaveLength(1);
    expect(verified.results[0]).toMatchObject({ signingDomain: DOMAIN, selector: SELECTOR, status: { result: 'pass', aligned: DOMAIN } });
    expect(lookups).toEqual([`TXT ${KEY_NAME}`]);

    const tampered = await dkimVerify(alterBody(raw), { resolver });
    expect(tampered.results).toHaveLength(1);
    expect(tampered.results[0].status.result).not.toBe('pass');
    expect(tampered.results[0].status.comment).toMatch(/body hash did not verify/);
  });

  it('signs the headers too: an altered Subject fails verification', async () => {
    const { privateKey, record } = rsaKeyPair();
    const sink = await startSink();
    const emails = await boot(localOptions(sink.port, { dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey } }));

    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [{ raw }] = await sink.waitForMessages(1);
    const resolver = resolverFor({ [KEY_NAME]: record }, []);
    expect((await dkimVerify(raw, { resolver })).results[0].status.result).toBe('pass');

    const text = raw.toString('latin1');
    expect(text).toMatch(/^Subject: Test email from Acme\r\n/m);
    const altered = Buffer.from(text.replace(/^Subject: Test email from Acme\r\n/m, 'Subject: Test email from Acne\r\n'), 'latin1');
    const result = (await dkimVerify(altered, { resolver })).results[0];
    expect(result.status.result).toBe('fail');
  });

  it('does not verify against another key published under the selector', async () => {
    const signing = rsaKeyPair();
    const other = rsaKeyPair();
    const sink = await startSink();
    const emails = await boot(localOptions(sink.port, { dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey: signing.privateKey } }));

    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [{ raw }] = await sink.waitForMessages(1);
    const result = (await dkimVerify(raw, { resolver: resolverFor({ [KEY_NAME]: other.record }, []) })).results[0];
    expect(result.status.result).toBe('fail');
  });

  /**
   * Regression guard: sendTestEmail() (email-workflow.service.ts) builds the message with
   * MailComposer and writes it over its own SMTP dialogue, bypassing nodemailer's DKIM signer: with
   * `dkim` set, the one email meant to prove the settings work goes out unsigned.
   */
  it('sendTestEmail() signs the test email with DKIM too', async () => {
    const { privateKey, record } = rsaKeyPair();
    const sink = await startSink();
    const emails = await boot(localOptions(sink.port, { dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey } }));

    const diagnosis = await emails.sendTestEmail('ada@example.test');
    expect(diagnosis.ok).toBe(true);
    const [{ raw }] = await sink.waitForMessages(1);
    const result = (await dkimVerify(raw, { resolver: resolverFor({ [KEY_NAME]: record }, []) })).results[0];
    expect(result.status.result).toBe('pass');
  });

  it.each([
    ['text that is not PEM', 'not a private key'],
    ['a public key', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
  ])('fails the boot with InvalidOptionsError naming dkim.privateKey for %s', async (_, privateKey) => {
    const error = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(2525, { dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey } }))],
    })
      .compile()
      .then(
        async (moduleRef) => {
          await moduleRef.close();
          return undefined;
        },
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).problems.map((problem) => problem.path)).toEqual(['dkim.privateKey']);
    expect((error as InvalidOptionsError).message).toContain('dkim.privateKey');
  });

  /**
   * Regression guard: 
   * `dkim.privateKey` is only matched against a PEM header (transport/transport.options-validation.ts, DkimDto), so a key
   * that cannot sign boots; nodemailer's DKIM signer then returns no signature on a key error and
   * every email goes out unsigned, with no error, event or log. An EC key boots too, and nodemailer
   * puts an ECDSA signature under `a=rsa-sha256`, which every verifier rejects.
   */
  it.each([
    ['a PEM-shaped key whose content is not a key', '-----BEGIN PRIVATE KEY-----\nAAAAbm90IGEga2V5\n-----END PRIVATE KEY-----\n'],
    [
      'an EC key (nodemailer signs rsa-sha256 only)',
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    ],
  ])('a key that cannot make a valid signature fails the boot naming dkim.privateKey: %s', async (_, privateKey) => {
    const sink = await startSink();
    const outcome = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey } }))],
    })
      .compile()
      .then(
        async (moduleRef) => {
          // Booted: show what happens to mail.
          await moduleRef.init();
          cleanups.push(() => moduleRef.close());
          await moduleRef.get(EmailWorkflowService).send({ template: 'test-email', to: 'ada@example.test' });
          const [{ raw }] = await sink.waitForMessages(1);
          const algorithm = /^DKIM-Signature:[^]*?\ba=([\w-]+)/m.exec(raw.toString('latin1'))?.[1];
          return algorithm ? `booted, signed a=${algorithm} with a key that is not RSA: no verifier accepts it` : 'booted, sent UNSIGNED';
        },
        (error: unknown) => error,
      );
    expect(outcome).toBeInstanceOf(InvalidOptionsError);
    expect((outcome as InvalidOptionsError).problems.map((problem) => problem.path)).toEqual(['dkim.privateKey']);
  });

  /**
   * Regression guard: DkimOptions documents "PEM private key (RSA or Ed25519)", but an Ed25519
   * key boots and every email goes out unsigned (nodemailer signs rsa-sha256 only). Either
   * signing with ed25519-sha256 or refusing the key at boot would make this pass.
   */
  it('an Ed25519 key either signs verifiably or fails the boot', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // An Ed25519 DKIM record holds the raw 32-byte key (RFC 8463), the end of the SPKI DER.
    const record = `v=DKIM1; k=ed25519; p=${publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64')}`;
    const sink = await startSink();
    const options = localOptions(sink.port, {
      dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
    });
    const booted = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
      .compile()
      .catch((error: unknown) => error);
    if (booted instanceof InvalidOptionsError) {
      expect(booted.problems.map((problem) => problem.path)).toEqual(['dkim.privateKey']);
      return;
    }
    const moduleRef = booted as TestingModule;
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    await moduleRef.get(EmailWorkflowService).send({ template: 'test-email', to: 'ada@example.test' });
    const [{ raw }] = await sink.waitForMessages(1);
    const result = (await dkimVerify(raw, { resolver: resolverFor({ [KEY_NAME]: record }, []) })).results[0];
    expect(result.status.result).toBe('pass');
  });
});
