#!/usr/bin/env node
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import { credentialKeysFrom, CREDENTIAL_KEY_ENV, decryptCredential, encryptCredential, isEncryptedCredential } from '../crypto';
import { diagnoseSmtp } from '../diagnostics';
import type { DiagnosisRequest, TransportDiagnosis } from '../diagnostics';
import { describeTransport, toNodemailerOptions, DOCTOR_PASSWORD_ENV, resolveSmtpTransport } from '../transport';
import { CHECK_TEMPLATES_USAGE, checkTemplatesCommand } from './check-templates.command';
import { DELIVERABILITY_FLAGS, DELIVERABILITY_USAGE, deliverabilityDoctor, deliverabilityRequestFrom } from './deliverability.command';
import { promptHidden } from './prompt';
import { CliUsageError } from './usage.error';

const DOCTOR_USAGE = `  nestjs-email-workflow doctor --url smtps://user@smtp.example.com:465 [--to you@example.com] [--from sender@example.com]
                               [--ca ca.pem] [--servername name] [--timeout ms]
      Checks each step of sending through that server and says what to fix. With --to, sends a test email.
      The password comes from ${DOCTOR_PASSWORD_ENV} (plain or enc:v1:) or a prompt; never put it in the URL.
${DELIVERABILITY_USAGE}`;

const ENCRYPT_SECRET_USAGE = `  nestjs-email-workflow encrypt-secret
      Prints an enc:v1: value of an SMTP password (from ${DOCTOR_PASSWORD_ENV} or a prompt) under ${CREDENTIAL_KEY_ENV}.`;

const USAGE = `Usage:
${DOCTOR_USAGE}
${ENCRYPT_SECRET_USAGE}
${CHECK_TEMPLATES_USAGE}
  nestjs-email-workflow --help | <command> --help
      Prints this help (or one command's); --version prints the version.`;

/** Each command's own usage, for `<command> --help` and `help <command>`. */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  doctor: DOCTOR_USAGE,
  'encrypt-secret': ENCRYPT_SECRET_USAGE,
  'check-templates': CHECK_TEMPLATES_USAGE,
};

const HELP_FLAGS = new Set(['--help', '-h', 'help']);

/** The version in the package's own package.json (two folders up, from lib/cli and from dist/cli alike). */
function version(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}

/** Help asked for: the whole usage, or one command's (`help doctor`, `doctor --help`). */
function help(command: string | undefined): number {
  const usage = command === undefined ? undefined : COMMAND_USAGE[command];
  if (command !== undefined && usage === undefined) throw new CliUsageError(`Unknown command "${command}".`);
  console.log(usage === undefined ? USAGE : `Usage:\n${usage}`);
  return 0;
}

async function password(user: string | undefined): Promise<string | undefined> {
  const fromEnv = process.env[DOCTOR_PASSWORD_ENV];
  const value = fromEnv ?? (user ? await promptHidden(`Password for ${user}: `, DOCTOR_PASSWORD_ENV) : undefined);
  if (!isEncryptedCredential(value)) return value;
  const plain = decryptCredential(value, credentialKeysFrom(undefined));
  if (plain === undefined) throw new CliUsageError(`${DOCTOR_PASSWORD_ENV} is encrypted but ${CREDENTIAL_KEY_ENV} does not open it: check the key.`);
  return plain;
}

/** The PEM file `--ca` names. */
function readCertificate(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`--ca ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
}

/** The email `--to` sends, whole, for DATA. */
function testEmail(from: string, to: string): Promise<Buffer> {
  return new MailComposer({
    from,
    to,
    subject: 'nestjs-email-workflow doctor: test email',
    text: 'This test email reached you, so these SMTP settings can deliver mail.',
  })
    .compile()
    .build();
}

function printDiagnosis(diagnosis: TransportDiagnosis): void {
  console.log(`Checking ${diagnosis.transport}`);
  for (const step of diagnosis.steps) {
    console.log(`  ${step.ok ? '✓' : '✗'} ${step.step.padEnd(9)} ${String(step.ms).padStart(5)} ms  ${step.detail}`);
  }
  if (diagnosis.failure) {
    console.log(`\n✗ ${diagnosis.failure.message}${diagnosis.failure.responseCode ? ` (${diagnosis.failure.responseCode})` : ''}`);
    console.log(`  Fix: ${diagnosis.failure.hint}`);
  } else {
    console.log('\n✓ All steps passed.');
  }
}

async function doctor(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      to: { type: 'string' },
      from: { type: 'string' },
      ca: { type: 'string' },
      servername: { type: 'string' },
      timeout: { type: 'string' },
      ...DELIVERABILITY_FLAGS,
    },
  });
  if (!values.url && !values.from) throw new CliUsageError('doctor needs --url (the SMTP checks), --from (the DNS checks) or both.');
  // Flags are checked before anything runs: a bad one must not cost a password prompt or an SMTP conversation.
  const dnsChecks = values.from === undefined ? undefined : deliverabilityRequestFrom({ ...values, from: values.from });
  const smtp = values.url ? await smtpDoctor(values.url, values) : undefined;
  if (smtp && dnsChecks) console.log('');
  const dnsOk = dnsChecks ? await deliverabilityDoctor(dnsChecks, smtp?.server) : true;
  return (smtp?.ok ?? true) && dnsOk ? 0 : 1;
}

/** The SMTP checks of `--url`, printed; what the DNS checks need to know of the server. */
async function smtpDoctor(url: string, values: { to?: string; from?: string; ca?: string; servername?: string; timeout?: string }) {
  const resolved = resolveSmtpTransport(url, { credentialKeys: [] }, '--url');
  if (!resolved.ok) throw new CliUsageError(resolved.problems.map((p) => `--url ${p.problem}. Fix: ${p.fix}`).join('\n'));
  const transport = resolved.value.settings;
  if (transport.auth?.pass) console.error(`Warning: a password in --url ends up in your shell history; use ${DOCTOR_PASSWORD_ENV} instead.`);
  const user = transport.auth?.user;
  const pass = transport.auth?.pass || (await password(user));
  const timeout = values.timeout ? Number(values.timeout) : 10_000;
  if (!Number.isInteger(timeout) || timeout <= 0) throw new CliUsageError('--timeout must be a whole number of milliseconds, e.g. 10000.');
  const options = toNodemailerOptions({
    ...transport,
    auth: user ? { user, pass: pass ?? '' } : undefined,
    tls: { ca: values.ca ? readCertificate(values.ca) : undefined, servername: values.servername },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const from = values.from ?? (user?.includes('@') ? user : `postmaster@${transport.host}`);
  const request: DiagnosisRequest = values.to
    ? { from, to: values.to, message: await testEmail(from, values.to), hints: 'cli' }
    : { from, hints: 'cli' };
  const diagnosis = await diagnoseSmtp(options, describeTransport(transport), request);
  printDiagnosis(diagnosis);
  return { ok: diagnosis.ok, server: { host: transport.host } };
}

async function encryptSecret(): Promise<number> {
  const [key] = credentialKeysFrom(undefined);
  if (!key) throw new CliUsageError(`Set ${CREDENTIAL_KEY_ENV} to the key (at least 32 random bytes) the app will decrypt with.`);
  if (Buffer.byteLength(key) < 32) throw new CliUsageError(`${CREDENTIAL_KEY_ENV} is shorter than 32 bytes; generate one with: openssl rand -base64 32`);
  const secret = process.env[DOCTOR_PASSWORD_ENV] ?? (await promptHidden('SMTP password to encrypt: ', DOCTOR_PASSWORD_ENV));
  if (!secret) throw new CliUsageError('Nothing to encrypt: the password is empty.');
  console.log(encryptCredential(secret, key));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === '--version' || command === '-V') {
      console.log(version());
      return 0;
    }
    if (command !== undefined && HELP_FLAGS.has(command)) return help(args[0]);
    if (command !== undefined && command in COMMAND_USAGE && args.some((arg) => arg === '--help' || arg === '-h')) return help(command);
    if (command === 'doctor') return await doctor(args);
    if (command === 'encrypt-secret') return await encryptSecret();
    if (command === 'check-templates') return await checkTemplatesCommand(args);
    throw new CliUsageError(command ? `Unknown command "${command}".` : 'No command given.');
  } catch (error) {
    if (error instanceof CliUsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`Error: ${(error as Error).message}`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
