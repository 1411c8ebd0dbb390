/** Removes what a transport sends as its login from text a server or nodemailer produced. */
export type CredentialRedactor = (text: string) => string;

const REDACTED = '[redacted]';

/** Both spellings of a base64 value: servers that echo an argument may drop its padding. */
function base64Forms(value: string): string[] {
  const encoded = Buffer.from(value, 'utf8').toString('base64');
  return [encoded, encoded.replace(/=+$/, '')];
}

/**
 * A redactor for one transport's login: the password as sent, and every encoding the AUTH exchange
 * carries it in: base64 of the PLAIN argument (`\0user\0pass`), and of the LOGIN user and password
 * each alone. Patterns cannot catch these (a short base64 credential looks like any word), so the
 * values are removed, longest first, so that no shorter value leaves part of a longer one behind.
 * The user name alone in plain text is kept: it is no secret, and messages name the account with it.
 */
export function credentialRedactor(auth: { user?: unknown; pass?: unknown } | undefined): CredentialRedactor {
  const user = typeof auth?.user === 'string' ? auth.user : '';
  const pass = typeof auth?.pass === 'string' ? auth.pass : '';
  const values = [
    pass,
    ...(user || pass ? base64Forms(`\0${user}\0${pass}`) : []),
    ...(user ? base64Forms(user) : []),
    ...(pass ? base64Forms(pass) : []),
  ];
  const secrets = [...new Set(values.filter((value) => value.length > 0))].sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return (text) => text;
  // One pass, so that a value is never looked for inside a "[redacted]" already put in.
  const pattern = new RegExp(secrets.map((secret) => secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
}

/**
 * Server text may echo what the client sent: drop the transport's own credentials by value (first, so
 * that no pattern leaves a piece of one behind), then AUTH lines, long base64 runs and URL user info.
 */
export function redact(text: string, credentials: CredentialRedactor = (plain) => plain): string {
  return credentials(text)
    .replace(/AUTH\s+\S+(\s+\S+)?/gi, 'AUTH [redacted]')
    .replace(/[A-Za-z0-9+/]{20,}={0,2}/g, '[redacted]')
    .replace(/\/\/[^/\s@]*@/g, '//[redacted]@');
}
