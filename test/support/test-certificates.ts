import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const OPENSSL = process.env.OPENSSL_BIN ?? 'openssl';

/** Runs a command to its end; rejects with what it printed when it fails or outlasts `timeoutMs`. */
export function runCommand(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.message.split('\n')[0]}):\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** What `makeTestCertificates` wrote, as PEM text and as the files a server's config names. */
export interface TestCertificates {
  /** The CA that signed the server's certificate: trust it as `tls: { ca }`. */
  ca: string;
  /** The server's certificate, for 127.0.0.1 and localhost. */
  cert: string;
  /** Its private key. */
  key: string;
  /** A CA that signed nothing here: a client trusting only it must refuse the server. */
  untrustedCa: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

const OPENSSL_CONF = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** A throw-away test CA made by openssl in `dir`, a server certificate it signed, and a second CA that signed nothing. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const path = (name: string) => join(dir, name);
  const conf = path('openssl.cnf');
  await writeFile(conf, OPENSSL_CONF);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const newCa = (name: string, subject: string) =>
    runCommand(OPENSSL, ['req', '-x509', ...newKey, '-keyout', path(`${name}.key`), '-out', path(`${name}.pem`), '-days', '2', '-subj', subject, '-config', conf, '-extensions', 'ca']);
  await Promise.all([
    newCa('ca', '/CN=nestjs-email-workflow throwaway test CA'),
    newCa('untrusted-ca', '/CN=nestjs-email-workflow unrelated CA'),
    runCommand(OPENSSL, ['req', '-new', ...newKey, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost', '-config', conf]),
  ]);
  await runCommand(OPENSSL, [
    'x509', '-req', '-in', path('server.csr'),
    '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '2', '-out', path('server.pem'), '-extfile', conf, '-extensions', 'server',
  ]);
  const [ca, cert, key, untrustedCa] = await Promise.all(['ca.pem', 'server.pem', 'server.key', 'untrusted-ca.pem'].map((name) => readFile(path(name), 'utf8')));
  return { ca, cert, key, untrustedCa, caFile: path('ca.pem'), certFile: path('server.pem'), keyFile: path('server.key') };
}
