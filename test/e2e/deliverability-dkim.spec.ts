import { Test, TestingModule } from '@nestjs/testing';
import { authenticate } from 'mailauth';
import { EmailWorkflowModule, EmailWorkflowService } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { SilentLogger } from '../support/capturing-logger';
import { checkOf, dkimKey, DkimKey, SELECTOR, verdicts } from '../support/deliverability-zones';
import { DnsRecord, ThrowawayDns } from '../support/dns-server';
import { localOptions } from '../support/module-options';
import { RawSmtpSink } from '../support/raw-smtp-sink';

/** loop.test sends from 127.0.0.1 (the sink sees the library connect from there): SPF lists it, DMARC is strict. */
function loopZone(key: DkimKey, withDkimRecord: boolean): DnsRecord[] {
  return [
    { type: 'TXT', name: 'loop.test', value: 'v=spf1 ip4:127.0.0.1 -all' },
    { type: 'TXT', name: '_dmarc.loop.test', value: 'v=DMARC1; p=reject; adkim=s; aspf=s' },
    { type: 'MX', name: 'loop.test', exchange: 'mx.loop.test' },
    { type: 'A', name: 'mx.loop.test', address: '192.0.2.40' },
    ...(withDkimRecord ? [{ type: 'TXT' as const, name: `${SELECTOR}._domainkey.loop.test`, value: `v=DKIM1; k=rsa; p=${key.p}` }] : []),
  ];
}

/** A zone-file TXT record as the doctor writes it (`name. TXT "part" "part"`), as the name and the joined value. */
function parseTxtRecord(record: string): { name: string; value: string } {
  const match = /^(\S+)\. TXT ((?:"[^"]*" ?)+)$/.exec(record);
  if (!match) throw new Error(`not a TXT record in zone-file form: ${record}`);
  return { name: match[1], value: [...match[2].matchAll(/"([^"]*)"/g)].map((part) => part[1]).join('') };
}

describe('DKIM end to end: mail the library signs verifies with mailauth against the key in a real DNS server', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(records: DnsRecord[]): Promise<ThrowawayDns> {
    const dns = await ThrowawayDns.start(records);
    cleanups.push(() => dns.stop());
    return dns;
  }

  async function boot(options: EmailWorkflowModuleOptions): Promise<EmailWorkflowService> {
    const moduleRef: TestingModule = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
      .setLogger(new SilentLogger())
      .compile();
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    return moduleRef.get(EmailWorkflowService);
  }

  async function sendOne(key: DkimKey, dns: ThrowawayDns): Promise<{ emails: EmailWorkflowService; raw: Buffer; sender: string }> {
    const sink = await RawSmtpSink.start();
    cleanups.push(() => sink.close());
    const emails = await boot(
      localOptions(sink.port, {
        from: 'Acme <no-reply@loop.test>',
        dkim: { domainName: 'loop.test', keySelector: SELECTOR, privateKey: key.privateKey },
        dns: { servers: [dns.address], timeout: 3_000 },
      }),
    );
    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [message] = await sink.waitForMessages(1);
    return { emails, raw: message.raw, sender: message.from };
  }

  const verify = (raw: Buffer, sender: string, dns: ThrowawayDns) =>
    authenticate(raw, { ip: '127.0.0.1', helo: 'client.loop.test', sender, mta: 'mx.example.test', resolver: dns.resolver(), disableArc: true, disableBimi: true });

  it('DKIM, SPF and DMARC pass for a sent email; the doctor says ✓ for the same zone; a changed body fails DKIM', async () => {
    const key = dkimKey();
    const dns = await start(loopZone(key, true));
    const { emails, raw, sender } = await sendOne(key, dns);

    const result = await verify(raw, sender, dns);
    expect(result.dkim.results).toHaveLength(1);
    expect(result.dkim.results[0]).toMatchObject({ signingDomain: 'loop.test', selector: SELECTOR, status: { result: 'pass', aligned: 'loop.test' } });
    expect(result.spf && result.spf.status.result).toBe('pass');
    expect(result.dmarc && result.dmarc.status.result).toBe('pass');
    // mailauth asked this server for the key.
    expect(await dns.queries()).toContain(`TXT ${SELECTOR}._domainkey.loop.test`);

    const diagnosis = await emails.diagnoseDeliverability();
    expect(verdicts(diagnosis)).toEqual(['spf ok', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host warning SMTP_HOST_PRIVATE']);

    const text = raw.toString('latin1');
    const bodyStart = text.indexOf('\r\n\r\n') + 4;
    const at = bodyStart + text.slice(bodyStart).search(/[A-Za-z]/);
    const tampered = Buffer.from(text.slice(0, at) + (text[at] === 'x' ? 'y' : 'x') + text.slice(at + 1), 'latin1');
    expect((await verify(tampered, sender, dns)).dkim.results[0].status.result).not.toBe('pass');
  });

  it('with no key published the doctor says ✗ DKIM_RECORD_MISSING; publishing the record it gives makes the signature verify', async () => {
    const key = dkimKey();
    const without = await start(loopZone(key, false));
    const { emails, raw, sender } = await sendOne(key, without);

    expect((await verify(raw, sender, without)).dkim.results[0].status.result).not.toBe('pass');
    const dkim = checkOf(await emails.diagnoseDeliverability(), 'dkim');
    expect(dkim).toMatchObject({ status: 'problem', code: 'DKIM_RECORD_MISSING', fix: `Publish the public key of dkim.privateKey at ${SELECTOR}._domainkey.loop.test` });

    const published = parseTxtRecord(dkim.record as string);
    expect(published.name).toBe(`${SELECTOR}._domainkey.loop.test`);
    const fixed = await start([...loopZone(key, false), { type: 'TXT', name: published.name, value: published.value }]);
    const result = await verify(raw, sender, fixed);
    expect(result.dkim.results[0].status.result).toBe('pass');
    expect(result.dmarc && result.dmarc.status.result).toBe('pass');
  });
});
