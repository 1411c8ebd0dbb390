import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverabilityZones, GOOD_SPF, pemBody, SELECTOR, zoneTxt, Zones } from '../support/deliverability-zones';
import { SilentDnsServer, ThrowawayDns } from '../support/dns-server';
import { SmtpSink } from '../support/smtp-sink';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const CA_FILE = join(ROOT, 'test', 'fixtures', 'tls', 'ca.pem');
const PASSWORD = 'Dns-Doctor-S3cret';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built CLI as a child process (asynchronously: the DNS and SMTP servers live in this process). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!env.SMTP_PASSWORD) delete childEnv.SMTP_PASSWORD;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number | string }).code as number | null) : 0, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin?.end();
  });
}

/** The DNS check lines (`✓ spf`, `⚠ dkim`, …) as `name mark`, in order. */
function checkLines(stdout: string): string[] {
  const section = stdout.slice(stdout.indexOf('Checking the DNS of'));
  return [...section.matchAll(/^ {2}([✓⚠✗]) (\S+)/gm)].map((match) => `${match[2]} ${match[1]}`);
}

/** The Fix: line and the record line under a check. */
function fixOf(stdout: string, check: string): { fix?: string; record?: string } {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => new RegExp(`^ {2}[✓⚠✗] ${check} `).test(line));
  const [fix, record] = [lines[at + 1], lines[at + 2]].map((line) => (line?.startsWith(' '.repeat(15)) ? line.trim() : undefined));
  return { fix: fix?.startsWith('Fix: ') ? fix.slice(5) : undefined, record: fix?.startsWith('Fix: ') ? record : undefined };
}

describe('CLI: doctor --from checks the DNS of the sending domains (a real DNS server)', () => {
  let zones: Zones;
  let dns: ThrowawayDns;
  let dir: string;
  let keyFile: string;
  let shortKeyFile: string;

  beforeAll(async () => {
    zones = deliverabilityZones();
    dns = await ThrowawayDns.start(zones.records);
    dir = await mkdtemp(join(tmpdir(), 'ew-dkim-'));
    keyFile = join(dir, 'dkim.pem');
    shortKeyFile = join(dir, 'short.pem');
    await writeFile(keyFile, zones.key.privateKey);
    await writeFile(shortKeyFile, zones.shortKey.privateKey);
  });

  afterAll(async () => {
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const doctor = (from: string, ...extra: string[]) => cli(['doctor', '--from', from, '--dns', dns.address, ...extra]);
  const signed = ['--dkim-selector', SELECTOR];

  it('a good domain: every check ✓, exit 0, and the private key is never printed', async () => {
    const result = await doctor('no-reply@good.test', ...signed, '--dkim-key-file', keyFile);

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(`Checking the DNS of good.test, asking ${dns.address}`);
    expect(checkLines(result.stdout)).toEqual(['spf ✓', 'dkim ✓', 'dmarc ✓', 'bounces ✓']);
    expect(result.stdout).toContain(`✓ spf        good.test: "${GOOD_SPF}" (1 of 10 DNS lookups)`);
    expect(result.stdout).toContain(`✓ dkim       ${SELECTOR}._domainkey.good.test: the 2048-bit RSA key matches --dkim-key-file`);
    expect(result.stdout).not.toContain('Fix:');
    expect(result.stdout.trimEnd().split('\n').pop()).toBe('✓ No problems.');
    expect(`${result.stdout}${result.stderr}`).not.toContain(pemBody(zones.key.privateKey).slice(0, 40));
  });

  it.each([
    {
      name: 'no SPF',
      from: 'no-reply@nospf.test',
      args: [...signed, '--dkim-key-file', 'KEY'],
      checks: ['spf ✗', 'dkim ✓', 'dmarc ✓', 'bounces ✓'],
      check: 'spf',
      fix: 'Publish an SPF record for nospf.test listing the servers your mail leaves from.',
      record: `nospf.test. TXT "v=spf1 include:<your mail provider's SPF domain> ~all"`,
    },
    {
      name: 'two SPF records',
      from: 'no-reply@twospf.test',
      args: [...signed, '--dkim-key-file', 'KEY'],
      checks: ['spf ✗', 'dkim ✓', 'dmarc ✓', 'bounces ✓'],
      check: 'spf',
      fix: 'Replace them with one record that lists every sender.',
      record: expect.stringMatching(/^twospf\.test\. TXT "v=spf1 \S+ \S+ [~-]all"$/),
    },
    {
      name: 'SPF over 10 lookups through nested includes',
      from: 'no-reply@deep.test',
      args: [...signed, '--dkim-key-file', 'KEY'],
      checks: ['spf ✗', 'dkim ✓', 'dmarc ✓', 'bounces ✓'],
      check: 'spf',
      fix: 'Remove the includes of services you no longer send through, or replace an include by the ip4:/ip6: ranges it lists.',
      record: undefined,
    },
    {
      name: 'a DKIM key that is not the configured one',
      from: 'no-reply@mismatch.test',
      args: [...signed, '--dkim-key-file', 'KEY'],
      checks: ['spf ✓', 'dkim ✗', 'dmarc ✓', 'bounces ✓'],
      check: 'dkim',
      fix: `Publish the public key of --dkim-key-file at ${SELECTOR}._domainkey.mismatch.test (or sign with the private key of the published one).`,
      record: 'DKIM mismatch.test',
    },
    {
      name: 'DMARC p=reject without alignment',
      from: 'no-reply@reject.test',
      args: [...signed, '--dkim-key-file', 'KEY', '--dkim-domain', 'signer.test', '--bounce-address', 'bounces@bounce-host.test'],
      checks: ['spf ✓', 'dkim ✓', 'dmarc ✗', 'bounces ✓'],
      check: 'dmarc',
      fix: `Sign as reject.test: set --dkim-domain to reject.test and publish the key at ${SELECTOR}._domainkey.reject.test; or send with a bounce address on reject.test (--bounce-address) that its SPF covers.`,
      record: 'DKIM reject.test',
    },
    {
      name: 'no MX for the bounce domain',
      from: 'no-reply@good.test',
      args: [...signed, '--dkim-key-file', 'KEY', '--bounce-address', 'bounces@nomx.test'],
      checks: ['spf ✓', 'dkim ✓', 'dmarc ✓', 'bounces ✗'],
      check: 'bounces',
      fix: 'Publish an MX record for nomx.test pointing at the server that receives its mail (where --bounce-address is read).',
      record: 'nomx.test. MX 10 <your inbound mail server>.',
    },
    {
      name: 'no DKIM flags',
      from: 'no-reply@good.test',
      args: [],
      checks: ['spf ✓', 'dkim ⚠', 'dmarc ✓', 'bounces ✓'],
      check: 'dkim',
      fix: 'If your app signs with DKIM, pass --dkim-selector and --dkim-key-file to check its key; if not, set dkim in its module options and publish the public key.',
      record: undefined,
    },
  ])('$name: $checks, exit code by ✗, the fix in flags and the record to publish', async ({ from, args, checks, check, fix, record }) => {
    const result = await doctor(from, ...args.map((arg) => (arg === 'KEY' ? keyFile : arg)));

    expect(checkLines(result.stdout)).toEqual(checks);
    expect(result.code).toBe(checks.some((line) => line.endsWith('✗')) ? 1 : 0);
    const expectedRecord = typeof record === 'string' && record.startsWith('DKIM ') ? zoneTxt(`${SELECTOR}._domainkey.${record.slice(5)}`, `v=DKIM1; k=rsa; p=${zones.key.p}`) : record;
    expect(fixOf(result.stdout, check)).toEqual({ fix, record: expectedRecord });
    expect(result.stdout).toMatch(checks.some((line) => line.endsWith('✗')) ? /\n✗ \d+ problems?.*: receivers will junk or refuse mail\.\n$/ : /\n✓ No problems.*\.\n$/);
  });

  it('--url with a PTR mismatch: the SMTP host (an address) is checked too; ⚠ smtp-host names where its PTR leads', async () => {
    // 192.0.2.26 is a documentation address: the SMTP part fails to connect, quickly with --timeout.
    const result = await doctor('no-reply@good.test', '--url', 'smtp://192.0.2.26:25', '--timeout', '1000');

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ {2}✗ connect /m);
    expect(checkLines(result.stdout).filter((line) => !line.startsWith('ehlo'))).toEqual(['spf ✓', 'spf-host ✓', 'dkim ⚠', 'dmarc ✓', 'bounces ✓', 'smtp-host ⚠']);
    expect(result.stdout).toContain('⚠ smtp-host  192.0.2.26 has PTR mail.elsewhere.test, which resolves to 192.0.2.99, not back to 192.0.2.26');
    expect(fixOf(result.stdout, 'smtp-host').fix).toBe('Ask whoever runs 192.0.2.26 (the hosting provider sets PTR records) to set its PTR to a name that resolves back to it.');
  });

  it('--url and --from together: the SMTP steps, then the DNS checks; a loopback SMTP host is ⚠ private; the password is never printed', async () => {
    const sink = await SmtpSink.start({ credentials: { user: 'ada', pass: PASSWORD } });
    try {
      const result = await cli(
        ['doctor', '--url', `smtp://ada@localhost:${sink.port}?security=starttls`, '--ca', CA_FILE, '--from', 'no-reply@good.test', '--dns', dns.address, ...signed, '--dkim-key-file', keyFile],
        { SMTP_PASSWORD: PASSWORD },
      );

      expect(result.stdout).toContain('✓ All steps passed.');
      expect(result.stdout.indexOf('✓ All steps passed.')).toBeLessThan(result.stdout.indexOf('Checking the DNS of good.test'));
      expect(checkLines(result.stdout).filter((line) => !line.startsWith('ehlo'))).toEqual(['spf ✓', 'dkim ✓', 'dmarc ✓', 'bounces ✓', 'smtp-host ⚠']);
      expect(result.stdout).toContain('⚠ smtp-host  localhost is 127.0.0.1, a private address');
      expect(result.code).toBe(0);
      expect(sink.authAttempts).toEqual(['ada']);
      expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
    } finally {
      await sink.close();
    }
  });

  it('a DNS server that never answers: ✗ DNS_TIMEOUT named per check, fix pointing at --dns, within a bound', async () => {
    const silent = await SilentDnsServer.start();
    try {
      const result = await cli(['doctor', '--from', 'no-reply@good.test', '--dns', silent.address, '--timeout', '500']);

      expect(result.code).toBe(1);
      expect(checkLines(result.stdout)).toEqual(['spf ✗', 'dkim ⚠', 'dmarc ✗', 'bounces ✗']);
      expect(result.stdout).toContain(`✗ spf        No answer from ${silent.address} within 500 ms (TXT good.test)`);
      expect(fixOf(result.stdout, 'spf').fix).toBe('Check that this DNS server answers from here, or point --dns at one that does (e.g. 1.1.1.1).');
      expect(result.ms).toBeLessThan(10_000);
      expect(silent.datagrams).toBeGreaterThan(0);
    } finally {
      await silent.stop();
    }
  });

  it.each([
    ['a --dns that is a host name', ['--from', 'a@good.test', '--dns', 'dns.example.com'], '--dns dns.example.com is not an IP address'],
    ['--dkim-selector without --dkim-key-file', ['--from', 'a@good.test', '--dkim-selector', 's1'], '--dkim-selector and --dkim-key-file go together'],
    ['a --from that is no address', ['--from', 'good.test'], '--from must be an email address'],
    ['a --dkim-key-file that is no key', ['--from', 'a@good.test', '--dkim-selector', 's1', '--dkim-key-file', CA_FILE], 'is not a PEM private key'],
    ['neither --url nor --from', [], 'doctor needs --url (the SMTP checks), --from (the DNS checks) or both.'],
  ])('%s exits 2 with the usage', async (_name, args, message) => {
    const result = await cli(['doctor', ...args]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('doctor --from you@acme.com');
  });
});
