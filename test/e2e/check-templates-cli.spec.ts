/**
 * `npx nestjs-email-workflow check-templates`, run as a process from the built package (dist/, built by the
 * jest global setup), as an app's developer or CI runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'templates', 'message-checks');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, 'check-templates', ...args], { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number | string }).code as number | null) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** The heading lines of the findings: `⚠ <template> · <check>`, the file dropped. */
function flagged(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('⚠ '))
    .map((line) => line.replace(/\s{2}\S+\.mjml$/, ''));
}

describe('CLI: nestjs-email-workflow check-templates', () => {
  it('the built-ins (no --dir) pass every check: exit 0', async () => {
    const result = await cli([]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Checked 45 templates and locales (the built-ins) as sent from no-reply@example.com, HTML base64-encoded.');
    expect(result.stdout).toContain('✓ No problems: every template passes the message checks.');
    expect(flagged(result.stdout)).toEqual([]);
    expect(result.stderr).toBe('');
  });

  it('flags the fixture templates, each with its check id, file, message and fix: exit 1', async () => {
    const result = await cli(['--dir', relative(ROOT, FIXTURES), '--from', 'Acme <no-reply@acme.com>']);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Checked 49 templates and locales (4 from test/fixtures/templates/message-checks, 45 built-in) as sent from no-reply@acme.com');
    expect(flagged(result.stdout)).toEqual(['⚠ http-link · link-https', '⚠ no-alt · image-alt', '⚠ oversized · html-size']);
    expect(result.stdout).toContain('⚠ oversized · html-size  test/fixtures/templates/message-checks/oversized.mjml');
    expect(result.stdout).toMatch(/The HTML part is \d+\.\d KB as sent \(base64; \d+\.\d KB of HTML\)/);
    expect(result.stdout).toContain('"http://promo.example.com/deals?week=48&tag=<script>alert(1)</script>"');
    expect(result.stdout).toContain('The image "https://assets.example.com/new-look.png" has an empty alt');
    expect(result.stdout.match(/^ {4}Fix: /gm)).toHaveLength(3);
    expect(result.stdout).not.toContain('clean');
    expect(result.stdout).toContain('✗ 3 problems: 3 in 3 templates.');
  });

  it('--dkim-domain: a From domain that does not align is a problem about every message (exit 1); an aligned one passes (exit 0)', async () => {
    const misaligned = await cli(['--from', 'no-reply@acme.com', '--dkim-domain', 'mailer.example.net']);
    expect(misaligned.code).toBe(1);
    expect(flagged(misaligned.stdout)).toEqual(['⚠ every message · from-dkim-alignment']);
    expect(misaligned.stdout).toContain('The From domain acme.com does not align with the DKIM domain mailer.example.net');
    expect(misaligned.stdout).toContain('✗ 1 problem: 1 about every message.');

    const aligned = await cli(['--from', 'no-reply@mail.acme.com', '--dkim-domain', 'acme.com']);
    expect(aligned.code).toBe(0);
    expect(flagged(aligned.stdout)).toEqual([]);
  });

  it('--html-encoding quoted-printable measures the HTML part in that encoding', async () => {
    const result = await cli(['--dir', FIXTURES, '--html-encoding', 'quoted-printable']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('HTML quoted-printable-encoded');
    expect(result.stdout).toMatch(/The HTML part is \d+\.\d KB as sent \(quoted-printable; /);
  });

  describe('a --dir that cannot be checked: a clear message and exit 2', () => {
    let empty: string;
    beforeAll(() => {
      empty = mkdtempSync(join(tmpdir(), 'check-templates-'));
    });
    afterAll(() => rmSync(empty, { recursive: true, force: true }));

    it.each([
      ['a missing folder', () => join(FIXTURES, 'nope'), /--dir \S+nope cannot be read \(ENOENT\): point it at your templates\.dir/],
      ['a file', () => join(FIXTURES, 'clean.mjml'), /--dir \S+clean\.mjml is a file, not a folder/],
      ['a folder without templates', () => empty, /--dir \S+ holds no templates \(name\.mjml or name\.<locale>\.mjml files\)/],
    ])('%s', async (_what, dir, message) => {
      const result = await cli(['--dir', dir()]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain('nestjs-email-workflow check-templates [--dir ./templates]');
      expect(result.stdout).toBe('');
    });

    it('a bad --from, --dkim-domain or --html-encoding', async () => {
      const results = await Promise.all([
        cli(['--from', 'not an address']),
        cli(['--dkim-domain', 'no-reply@acme.com']),
        cli(['--html-encoding', '8bit']),
      ]);
      expect(results.map((result) => result.code)).toEqual([2, 2, 2]);
      expect(results[0].stderr).toContain('--from "not an address" is not an address');
      expect(results[1].stderr).toContain('--dkim-domain "no-reply@acme.com" is not a domain name');
      expect(results[2].stderr).toContain('--html-encoding must be base64 or quoted-printable');
    });
  });
});
