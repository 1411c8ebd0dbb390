import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_DNS_TIMEOUT_MS, diagnoseDeliverability, isDnsServer } from '../deliverability';
import type { DeliverabilityDiagnosis, DeliverabilityRequest } from '../deliverability';
import { CliUsageError } from './usage.error';

/** The doctor's flags of the DNS checks, for node:util parseArgs. */
export const DELIVERABILITY_FLAGS = {
  'dkim-selector': { type: 'string' },
  'dkim-key-file': { type: 'string' },
  'dkim-domain': { type: 'string' },
  'bounce-address': { type: 'string' },
  dns: { type: 'string' },
} as const;

export const DELIVERABILITY_USAGE = `  nestjs-email-workflow doctor --from you@acme.com [--dkim-selector s1 --dkim-key-file dkim.pem [--dkim-domain acme.com]]
                               [--bounce-address bounces@acme.com] [--dns 1.1.1.1[,127.0.0.1:5353]] [--url …] [--timeout ms]
      Checks the DNS of the domains you send from as receivers do: SPF, the DKIM key, DMARC and alignment, the
      bounce domain's MX; with --url also the SMTP host's reverse DNS and EHLO name. Each check is ✓/⚠/✗, with
      the DNS record to publish. Runs whenever --from is given; exits non-zero on a ✗.`;

type Flags = { from?: string; timeout?: string } & { [flag in keyof typeof DELIVERABILITY_FLAGS]?: string };

const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function address(flag: string, value: string): string {
  if (!ADDRESS.test(value)) throw new CliUsageError(`${flag} must be an email address, e.g. you@acme.com.`);
  return value;
}

/** The private key `--dkim-key-file` names; only its public half is ever printed. */
function readDkimKey(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`--dkim-key-file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  let type: string | undefined;
  try {
    type = createPrivateKey(pem).asymmetricKeyType;
  } catch {
    throw new CliUsageError(`--dkim-key-file ${path} is not a PEM private key.`);
  }
  if (type !== 'rsa') throw new CliUsageError(`--dkim-key-file ${path} is not an RSA key; nodemailer signs with RSA keys only.`);
  return pem;
}

/** The DNS checks the flags ask for, minus the SMTP host (known once --url is read); throws CliUsageError on bad flags. */
export function deliverabilityRequestFrom(values: Flags & { from: string }): Omit<DeliverabilityRequest, 'smtp'> {
  const from = address('--from', values.from);
  const selector = values['dkim-selector'];
  const keyFile = values['dkim-key-file'];
  if ((selector === undefined) !== (keyFile === undefined) || (values['dkim-domain'] !== undefined && selector === undefined)) {
    throw new CliUsageError('--dkim-selector and --dkim-key-file go together (and --dkim-domain with them).');
  }
  const servers = values.dns?.split(',').map((server) => server.trim());
  const wrong = servers?.find((server) => !isDnsServer(server));
  if (wrong !== undefined) throw new CliUsageError(`--dns ${wrong} is not an IP address (with an optional port), e.g. 1.1.1.1 or 127.0.0.1:5353.`);
  const timeoutMs = values.timeout === undefined ? DEFAULT_DNS_TIMEOUT_MS : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliUsageError('--timeout must be a whole number of milliseconds, e.g. 10000.');
  return {
    from,
    bounceAddress: values['bounce-address'] === undefined ? undefined : address('--bounce-address', values['bounce-address']),
    dkim:
      selector && keyFile
        ? { domainName: values['dkim-domain'] ?? from.slice(from.lastIndexOf('@') + 1), keySelector: selector, privateKey: readDkimKey(keyFile) }
        : undefined,
    dns: { servers, timeoutMs },
    audience: 'cli',
  };
}

const MARKS = { ok: '✓', warning: '⚠', problem: '✗' } as const;
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function printDeliverability(diagnosis: DeliverabilityDiagnosis): void {
  const { fromDomain, envelopeDomain, dnsServers } = diagnosis;
  const domains = envelopeDomain === fromDomain ? `${fromDomain}` : `${fromDomain} (From) and ${envelopeDomain} (envelope)`;
  console.log(`Checking the DNS of ${domains}, asking ${dnsServers === 'system' ? 'the system resolver' : dnsServers.join(', ')}`);
  const indent = ' '.repeat(15);
  for (const check of diagnosis.checks) {
    console.log(`  ${MARKS[check.status]} ${check.check.padEnd(10)} ${check.found}`);
    if (check.fix) console.log(`${indent}Fix: ${check.fix}.`);
    if (check.record) console.log(`${indent}${check.record}`);
  }
  const problems = diagnosis.checks.filter((check) => check.status === 'problem').length;
  const warnings = diagnosis.checks.filter((check) => check.status === 'warning').length;
  if (problems > 0) console.log(`\n✗ ${plural(problems, 'problem')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}: receivers will junk or refuse mail.`);
  else console.log(`\n✓ No problems${warnings > 0 ? ` (${plural(warnings, 'warning')} above)` : ''}.`);
}

/** Runs and prints the DNS checks; true when no check is ✗. */
export async function deliverabilityDoctor(request: Omit<DeliverabilityRequest, 'smtp'>, smtp?: DeliverabilityRequest['smtp']): Promise<boolean> {
  const diagnosis = await diagnoseDeliverability({ ...request, smtp });
  printDeliverability(diagnosis);
  return diagnosis.ok;
}
