import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowModule, EmailWorkflowService, InvalidArgumentError } from 'nestjs-email-workflow';
import type { DeliverabilityDiagnosis, EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { SilentLogger } from '../support/capturing-logger';
import { checkOf, deliverabilityZones, expectedEhlo, GOOD_SPF, pemBody, SELECTOR, SMTP, verdicts, zoneTxt, Zones } from '../support/deliverability-zones';
import { SilentDnsServer, ThrowawayDns } from '../support/dns-server';
import { invalidOptionsError, localOptions } from '../support/module-options';

/**
 * diagnoseDeliverability() against a real DNS server (dnsmasq, test/support/dns-server.ts) serving one test
 * domain per thing that can be wrong: each gives exactly its verdict, and the fix it gives is the record to publish.
 */
describe('diagnoseDeliverability(): SPF, DKIM, DMARC, MX and the SMTP host, checked in a real DNS server', () => {
  let zones: Zones;
  let dns: ThrowawayDns;
  const modules: TestingModule[] = [];

  beforeAll(async () => {
    zones = deliverabilityZones();
    dns = await ThrowawayDns.start(zones.records);
  });

  afterAll(async () => {
    await Promise.all(modules.map((moduleRef) => moduleRef.close()));
    await dns?.stop();
  });

  /** A module sending as `from` through smtp.good.test (never connected to), signing as good.test, asking `dns`. */
  async function boot(overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<EmailWorkflowService> {
    const options = localOptions(0, {
      transport: { host: SMTP.good.host, port: 587, security: 'starttls', pool: false },
      from: 'Acme <no-reply@good.test>',
      dkim: { domainName: 'good.test', keySelector: SELECTOR, privateKey: zones.key.privateKey },
      dns: { servers: [dns.address], timeout: 3_000 },
      ...overrides,
    });
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
      .setLogger(new SilentLogger())
      .compile();
    modules.push(moduleRef);
    await moduleRef.init();
    return moduleRef.get(EmailWorkflowService);
  }

  const from = (domain: string) => ({ from: `Acme <no-reply@${domain}>`, dkim: { domainName: domain, keySelector: SELECTOR, privateKey: zones.key.privateKey } });

  it('the test DNS server answers its records only: a 2048-bit key in 255-byte strings, NXDOMAIN elsewhere, nothing forwarded', async () => {
    const resolve = dns.resolver();
    const [strings] = (await resolve(`${SELECTOR}._domainkey.good.test`, 'TXT')) as string[][];
    expect(strings.length).toBeGreaterThan(1);
    expect(strings.every((part) => part.length <= 255)).toBe(true);
    expect(strings.join('')).toBe(`v=DKIM1; k=rsa; p=${zones.key.p}`);
    await expect(resolve('example.com', 'A')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolve('sub.smtp.good.test', 'A')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('good.test: every check ✓, each saying what it found', async () => {
    const diagnosis = await (await boot()).diagnoseDeliverability();

    expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host ok', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
    expect(verdicts(diagnosis, [])).toContain(expectedEhlo());
    expect(diagnosis).toMatchObject({ ok: true, fromDomain: 'good.test', envelopeDomain: 'good.test', dnsServers: [dns.address] });
    expect(checkOf(diagnosis, 'spf').found).toBe(`good.test: "${GOOD_SPF}" (1 of 10 DNS lookups)`);
    expect(checkOf(diagnosis, 'spf-host').found).toBe(`${SMTP.good.address} (${SMTP.good.host}) passes good.test's SPF`);
    expect(checkOf(diagnosis, 'dkim').found).toBe(`${SELECTOR}._domainkey.good.test: the 2048-bit RSA key matches dkim.privateKey`);
    expect(checkOf(diagnosis, 'dmarc').found).toBe('_dmarc.good.test: p=reject; DKIM (d=good.test, strict) and SPF (good.test, strict) align with good.test');
    expect(checkOf(diagnosis, 'bounces').found).toBe('good.test receives mail: MX mx.good.test (10)');
    expect(checkOf(diagnosis, 'smtp-host').found).toBe(`${SMTP.good.host} → ${SMTP.good.address}; the PTR resolves back (forward-confirmed)`);
    expect(diagnosis.checks.filter((check) => check.status === 'ok').every((check) => check.fix === undefined && check.code === undefined)).toBe(true);
    // Every answer came from this server: the queries are in its log.
    expect(await dns.queries()).toEqual(expect.arrayContaining(['TXT good.test', 'TXT s1._domainkey.good.test', 'TXT _dmarc.good.test', 'MX good.test', 'PTR 25.2.0.192.in-addr.arpa']));
  });

  it('nospf.test: ✗ spf SPF_MISSING, the fix a record listing the SMTP host; the rest ✓', async () => {
    const diagnosis = await (await boot(from('nospf.test'))).diagnoseDeliverability();

    expect(verdicts(diagnosis)).toEqual(['spf problem SPF_MISSING', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
    expect(diagnosis.ok).toBe(false);
    expect(checkOf(diagnosis, 'spf')).toMatchObject({
      found: expect.stringMatching(/^nospf\.test has no SPF record: receivers cannot tell your servers from a forger's/),
      fix: 'Publish an SPF record for nospf.test listing the servers your mail leaves from',
      record: `nospf.test. TXT "v=spf1 ip4:${SMTP.good.address} ~all"`,
    });
  });

  it('twospf.test: ✗ spf SPF_MULTIPLE, the fix one merged record', async () => {
    const diagnosis = await (await boot(from('twospf.test'))).diagnoseDeliverability();

    expect(verdicts(diagnosis)).toEqual(['spf problem SPF_MULTIPLE', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
    const spf = checkOf(diagnosis, 'spf');
    expect(spf.found).toMatch(/^twospf\.test has 2 SPF records .*permerror/);
    expect(spf.record).toMatch(/^twospf\.test\. TXT "v=spf1 (include:_spf\.provider\.test ip4:198\.51\.100\.7|ip4:198\.51\.100\.7 include:_spf\.provider\.test) (~all|-all)"$/);
  });

  it('deep.test: ✗ SPF_TOO_MANY_LOOKUPS, 12 lookups counted through nested includes (no record has more than 4)', async () => {
    const diagnosis = await (await boot(from('deep.test'))).diagnoseDeliverability();

    expect(verdicts(diagnosis)).toEqual(['spf problem SPF_TOO_MANY_LOOKUPS', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
    expect(checkOf(diagnosis, 'spf').found).toBe(
      '"v=spf1 include:a.spf-deep.test include:b.spf-deep.test ~all" takes 12 DNS lookups, counting those of every include: over the limit of 10, receivers fail SPF (permerror)',
    );
    expect(checkOf(diagnosis, 'spf').fix).toMatch(/Remove the includes .* ip4:\/ip6: ranges/);
  });

  it('ten.test: exactly 10 lookups through includes is within the limit (✓, "10 of 10")', async () => {
    const diagnosis = await (await boot(from('ten.test'))).diagnoseDeliverability();

    expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host ok', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
    expect(checkOf(diagnosis, 'spf').found).toMatch(/\(10 of 10 DNS lookups\)$/);
  });

  it.each([
    ['badip.test', 'badip.test\'s SPF record "v=spf1 ip4:192.0.2.300 include:_spf.provider.test ~all" is malformed: "ip4:192.0.2.300" is not an IPv4 address or range'],
    ['loop.spf.test', 'loop.spf.test\'s SPF record "v=spf1 include:back.spf.test ~all" is malformed: include:loop.spf.test loops back (loop.spf.test → back.spf.test → loop.spf.test)'],
    ['noinclude.test', 'noinclude.test\'s SPF record "v=spf1 include:nothing-here.test ~all" is malformed: include:nothing-here.test: nothing-here.test has no SPF record'],
  ])('%s: ✗ SPF_INVALID naming the term', async (domain, found) => {
    const diagnosis = await (await boot(from(domain))).diagnoseDeliverability();

    expect(checkOf(diagnosis, 'spf')).toEqual({ check: 'spf', status: 'problem', code: 'SPF_INVALID', found: `${found}; receivers fail SPF (permerror)`, fix: 'Correct the record (RFC 7208 syntax)' });
    expect(verdicts(diagnosis)).not.toContain('spf-host ok');
  });

  it('plusall.test: ✗ SPF_PASS_ALL, the fix the same record ending in ~all', async () => {
    const diagnosis = await (await boot(from('plusall.test'))).diagnoseDeliverability();

    expect(checkOf(diagnosis, 'spf')).toMatchObject({ status: 'problem', code: 'SPF_PASS_ALL', record: 'plusall.test. TXT "v=spf1 include:_spf.provider.test ~all"' });
  });

  it('mismatch.test: ✗ DKIM_KEY_MISMATCH, the fix the public key of the configured private key; DMARC still aligns by SPF', async () => {
    const diagnosis = await (await boot(from('mismatch.test'))).diagnoseDeliverability();

    expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host ok', 'dkim problem DKIM_KEY_MISMATCH', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
    const dkim = checkOf(diagnosis, 'dkim');
    expect(dkim.found).toBe(`The key at ${SELECTOR}._domainkey.mismatch.test is not the public key of dkim.privateKey: every signature fails`);
    // The configured key's public half, split into 255-character strings: the record to publish, as is.
    expect(dkim.record).toBe(zoneTxt(`${SELECTOR}._domainkey.mismatch.test`, `v=DKIM1; k=rsa; p=${zones.key.p}`));
    expect(dkim.record).not.toContain(zones.otherKey.p);
    expect(checkOf(diagnosis, 'dmarc').found).toBe('_dmarc.mismatch.test: p=quarantine; SPF (mismatch.test, relaxed) aligns with mismatch.test');
  });

  it('revoked.test: ✗ DKIM_RECORD_INVALID for a record whose p= is empty, the fix the record with the key', async () => {
    const diagnosis = await (await boot(from('revoked.test'))).diagnoseDeliverability();

    expect(checkOf(diagnosis, 'dkim')).toEqual({
      check: 'dkim',
      status: 'problem',
      code: 'DKIM_RECORD_INVALID',
      found: `The DKIM record at ${SELECTOR}._domainkey.revoked.test does not hold a usable key: its p= is empty (the key is revoked)`,
      fix: 'Replace it with the public key of dkim.privateKey',
      record: zoneTxt(`${SELECTOR}._domainkey.revoked.test`, `v=DKIM1; k=rsa; p=${zones.key.p}`),
    });
  });

  it('short.test: ⚠ DKIM_KEY_SHORT for a 1024-bit key that matches', async () => {
    const diagnosis = await (await boot({ ...from('short.test'), dkim: { domainName: 'short.test', keySelector: SELECTOR, privateKey: zones.shortKey.privateKey } })).diagnoseDeliverability();

    expect(checkOf(diagnosis, 'dkim')).toMatchObject({ status: 'warning', code: 'DKIM_KEY_SHORT', found: expect.stringContaining('1024-bit key, which verifies, but 2048 bits are recommended') });
    expect(checkOf(diagnosis, 'dmarc').status).toBe('ok');
  });

  it('reject.test: ✗ DMARC_NOT_ALIGNED under p=reject when DKIM signs as another domain and bounces go to another', async () => {
    const diagnosis = await (
      await boot({
        from: 'Acme <no-reply@reject.test>',
        dkim: { domainName: 'signer.test', keySelector: SELECTOR, privateKey: zones.key.privateKey },
        bounces: { address: 'bounces@bounce-host.test' },
        secret: 'deliverability-spec-secret-of-32-bytes-or-more',
      })
    ).diagnoseDeliverability();

    expect(diagnosis.envelopeDomain).toBe('bounce-host.test');
    expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host ok', 'dkim ok', 'dmarc problem DMARC_NOT_ALIGNED', 'bounces ok', 'smtp-host ok']);
    expect(checkOf(diagnosis, 'dmarc')).toEqual({
      check: 'dmarc',
      status: 'problem',
      code: 'DMARC_NOT_ALIGNED',
      found:
        '_dmarc.reject.test says p=reject, but neither DKIM nor SPF aligns with reject.test (DKIM signs as signer.test; SPF covers bounce-host.test): receivers refuse your mail',
      fix: 'Sign as reject.test: set dkim.domainName to reject.test and publish the key at s1._domainkey.reject.test; or send with a bounce address on reject.test (bounces.address) that its SPF covers',
      record: zoneTxt(`${SELECTOR}._domainkey.reject.test`, `v=DKIM1; k=rsa; p=${zones.key.p}`),
    });
  });

  it('strict.test: adkim=s is enforced: d=mail.strict.test does not align with strict.test (relaxed would)', async () => {
    const diagnosis = await (
      await boot({
        from: 'Acme <no-reply@strict.test>',
        dkim: { domainName: 'mail.strict.test', keySelector: SELECTOR, privateKey: zones.key.privateKey },
        bounces: { address: 'bounces@bounce-host.test' },
        secret: 'deliverability-spec-secret-of-32-bytes-or-more',
      })
    ).diagnoseDeliverability();

    expect(checkOf(diagnosis, 'dkim').status).toBe('ok');
    expect(checkOf(diagnosis, 'dmarc')).toMatchObject({
      status: 'problem',
      code: 'DMARC_NOT_ALIGNED',
      found: expect.stringContaining('(DKIM signs as mail.strict.test (adkim=s wants exactly strict.test); SPF covers bounce-host.test)'),
      fix: expect.stringMatching(/^Sign as strict\.test: set dkim\.domainName to strict\.test/),
    });
  });

  it('nomx.test as the bounce domain: ✗ BOUNCES_NO_MX; SPF is checked on the bounce domain', async () => {
    const diagnosis = await (await boot({ bounces: { address: 'bounces@nomx.test' }, secret: 'deliverability-spec-secret-of-32-bytes-or-more' })).diagnoseDeliverability();

    expect(diagnosis).toMatchObject({ fromDomain: 'good.test', envelopeDomain: 'nomx.test' });
    expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host ok', 'dkim ok', 'dmarc ok', 'bounces problem BOUNCES_NO_MX', 'smtp-host ok']);
    expect(checkOf(diagnosis, 'spf').found).toMatch(/^nomx\.test: /);
    expect(checkOf(diagnosis, 'bounces')).toMatchObject({
      found: expect.stringMatching(/^nomx\.test has no MX \(nor A\/AAAA\) record: bounces cannot come back/),
      fix: 'Publish an MX record for nomx.test pointing at the server that receives its mail (where bounces.address is read)',
      record: 'nomx.test. MX 10 <your inbound mail server>.',
    });
  });

  describe('a tenant transport: its SMTP host is the one checked', () => {
    let emails: EmailWorkflowService;
    beforeAll(async () => {
      const hosts: Record<string, string> = { ptr: SMTP.ptrMismatch.host, outside: SMTP.outside.host };
      emails = await boot({ transportResolver: async (tenant) => ({ host: hosts[tenant], port: 587, security: 'starttls' }) });
    });

    it('PTR mismatch: ⚠ PTR_MISMATCH naming where the PTR leads, with the PTR record to ask for', async () => {
      const diagnosis = await emails.diagnoseDeliverability({ tenant: 'ptr' });

      expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host ok', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host warning PTR_MISMATCH']);
      expect(diagnosis.ok).toBe(true);
      expect(checkOf(diagnosis, 'smtp-host')).toMatchObject({
        found: expect.stringMatching(/^192\.0\.2\.26 has PTR mail\.elsewhere\.test, which resolves to 192\.0\.2\.99, not back to 192\.0\.2\.26: /),
        fix: 'Ask whoever runs 192.0.2.26 (the hosting provider sets PTR records) to set its PTR to smtp.ptr.test, which resolves to it',
        record: '26.2.0.192.in-addr.arpa. PTR smtp.ptr.test.',
      });
    });

    it('a host outside the SPF record: ⚠ SPF_HOST_NOT_PERMITTED (a relay may send from other addresses), the record with it added', async () => {
      const diagnosis = await emails.diagnoseDeliverability({ tenant: 'outside' });

      expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host warning SPF_HOST_NOT_PERMITTED', 'dkim ok', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
      expect(checkOf(diagnosis, 'spf-host')).toMatchObject({
        found: `${SMTP.outside.address} (${SMTP.outside.host}) gets "softfail" from good.test's SPF`,
        fix: expect.stringContaining('A relay or provider usually sends from other addresses'),
        record: `good.test. TXT "v=spf1 ip4:${SMTP.outside.address} include:_spf.provider.test ~all"`,
      });
    });
  });

  it('without dkim: ⚠ DKIM_NOT_CONFIGURED saying DMARC then rests on SPF alone', async () => {
    const diagnosis = await (await boot({ dkim: undefined })).diagnoseDeliverability();

    expect(verdicts(diagnosis)).toEqual(['spf ok', 'spf-host ok', 'dkim warning DKIM_NOT_CONFIGURED', 'dmarc ok', 'bounces ok', 'smtp-host ok']);
    expect(checkOf(diagnosis, 'dkim').found).toMatch(/DMARC then rests on SPF alone/);
    expect(checkOf(diagnosis, 'dmarc').found).toBe('_dmarc.good.test: p=reject; SPF (good.test, strict) aligns with good.test');
  });

  it('a DNS server that never answers: each check ✗ DNS_TIMEOUT, within a bound of about one timeout', async () => {
    const silent = await SilentDnsServer.start();
    try {
      const emails = await boot({ dns: { servers: [silent.address], timeout: 400 } });
      const started = Date.now();
      const diagnosis: DeliverabilityDiagnosis = await emails.diagnoseDeliverability();
      const elapsed = Date.now() - started;

      expect(verdicts(diagnosis)).toEqual([
        'spf problem DNS_TIMEOUT',
        'dkim problem DNS_TIMEOUT',
        'dmarc problem DNS_TIMEOUT',
        'bounces problem DNS_TIMEOUT',
        'smtp-host problem DNS_TIMEOUT',
      ]);
      expect(checkOf(diagnosis, 'spf')).toMatchObject({
        found: `No answer from ${silent.address} within 400 ms (TXT good.test)`,
        fix: 'Check that this DNS server answers from here, or point dns.servers at one that does (e.g. 1.1.1.1)',
      });
      // The first answers are asked together: one timeout, not one per query.
      expect(elapsed).toBeLessThan(2_000);
      expect(silent.datagrams).toBeGreaterThanOrEqual(5);
    } finally {
      await silent.stop();
    }
  });

  it('never prints the DKIM private key', async () => {
    const diagnosis = await (await boot(from('mismatch.test'))).diagnoseDeliverability();
    expect(JSON.stringify(diagnosis)).not.toContain(pemBody(zones.key.privateKey).slice(0, 64));
    expect(JSON.stringify(diagnosis)).toContain(zones.key.p.slice(0, 64));
  });

  it('refuses arguments of the wrong type with InvalidArgumentError', async () => {
    const emails = await boot();
    await expect(emails.diagnoseDeliverability(42 as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', method: 'diagnoseDeliverability', argument: 'request' });
    await expect(emails.diagnoseDeliverability({ tenant: 7 as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(emails.diagnoseDeliverability({ tenant: 'a' })).rejects.toMatchObject({ name: 'InvalidOptionsError', message: expect.stringContaining('transportResolver') });
  });

  it.each([
    [{ servers: ['dns.example.com'] }, 'dns.servers[0]'],
    [{ servers: '1.1.1.1' }, 'dns.servers'],
    [{ timeout: 0 }, 'dns.timeout'],
    [{ timeout: 1.5 }, 'dns.timeout'],
    [{ retries: 2 }, 'dns.retries'],
    ['1.1.1.1', 'dns'],
  ])('dns: %j fails the boot naming %s', async (value, path) => {
    const error = await invalidOptionsError(localOptions(2525, { dns: value as never }));
    expect(error.problems.map((problem) => problem.path)).toEqual([path]);
  });
});
