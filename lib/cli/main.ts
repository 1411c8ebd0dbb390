#!/usr/bin/env node
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import { credentialKeysFrom, CREDENTIAL_KEY_ENV, decryptCredential, encryptCredential, isEncryptedCredential } from '../crypto/credential.cipher';
import { diagnoseSmtp } from '../diagnostics';
import type { TransportDiagnosis } from '../diagnostics';
import { describeTransport, toNodemailerOptions } from '../transport/smtp-transport.resolver';
import { resolveSmtpTransport } from '../transport/transport.options';
import { promptHidden } from './prompt';

const PASSWORD_ENV = 'SMTP_PASSWORD';
const USAGE = `Usage:
  nestjs-email-workflow doctor --url smtps://user@smtp.example.com:465 [--to you@example.com] [--from sender@example.com]
                               [--ca ca.pem] [--servername name] [--timeout ms]
      Checks each step of sending through that server and says what to fix. With --to, sends a test email.
      The password comes from ${PASSWORD_ENV} (plain or enc:v1:) or a prompt; never put it in the URL.
  nestjs-email-workflow encrypt-secret
      Prints an enc:v1: value of an SMTP password (from ${PASSWORD_ENV} or a prompt) under ${CREDENTIAL_KEY_ENV}.`;

class UsageError extends Error {}

async function password(user: string | undefined): Promise<string | undefined> {
  const fromEnv = process.env[PASSWORD_ENV];
  const value = fromEnv ?? (user ? await promptHidden(`Password for ${user}: `) : undefined);
  if (!isEncryptedCredential(value)) return value;
  const plain = decryptCredential(value, credentialKeysFrom(undefined));
  if (plain === undefined) throw new UsageError(`${PASSWORD_ENV} is encrypted but ${CREDENTIAL_KEY_ENV} does not open it: check the key.`);
  return plain;
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
    },
  });
  if (!values.url) throw new UsageError('doctor needs --url.');
  const resolved = resolveSmtpTransport(values.url, { credentialKeys: [] }, '--url');
  if (!resolved.ok) throw new UsageError(resolved.problems.map((p) => `--url ${p.problem}. Fix: ${p.fix}`).join('\n'));
  const transport = resolved.value.settings;
  if (transport.auth?.pass) console.error(`Warning: a password in --url ends up in your shell history; use ${PASSWORD_ENV} instead.`);
  const user = transport.auth?.user;
  const pass = transport.auth?.pass || (await password(user));
  const timeout = values.timeout ? Number(values.timeout) : 10_000;
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError('--timeout must be a whole number of milliseconds, e.g. 10000.');
  const options = toNodemailerOptions({
    ...transport,
    auth: user ? { user, pass: pass ?? '' } : undefined,
    tls: { ca: values.ca ? readFileSync(values.ca, 'utf8') : undefined, servername: values.servername },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const from = values.from ?? (user?.includes('@') ? user : `postmaster@${transport.host}`);
  const message = values.to
    ? await new MailComposer({
        from,
        to: values.to,
        subject: 'nestjs-email-workflow doctor: test email',
        text: 'This test email reached you, so these SMTP settings can deliver mail.',
      })
        .compile()
        .build()
    : undefined;
  const diagnosis = await diagnoseSmtp(options, describeTransport(transport), { from, to: values.to, message });
  printDiagnosis(diagnosis);
  return diagnosis.ok ? 0 : 1;
}

async function encryptSecret(): Promise<number> {
  const [key] = credentialKeysFrom(undefined);
  if (!key) throw new UsageError(`Set ${CREDENTIAL_KEY_ENV} to the key (at least 32 random bytes) the app will decrypt with.`);
  if (Buffer.byteLength(key) < 32) throw new UsageError(`${CREDENTIAL_KEY_ENV} is shorter than 32 bytes; generate one with: openssl rand -base64 32`);
  const secret = process.env[PASSWORD_ENV] ?? (await promptHidden('SMTP password to encrypt: '));
  if (!secret) throw new UsageError('Nothing to encrypt: the password is empty.');
  console.log(encryptCredential(secret, key));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === 'doctor') return await doctor(args);
    if (command === 'encrypt-secret') return await encryptSecret();
    throw new UsageError(command ? `Unknown command "${command}".` : 'No command given.');
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
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
