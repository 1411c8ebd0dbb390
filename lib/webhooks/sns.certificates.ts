import { get } from 'node:https';
import { KeyObject, X509Certificate } from 'node:crypto';
import { unauthorized, WebhookUnavailable } from './webhook.errors';

/**
 * Where SNS signing certificates and subscription URLs may live, as AWS documents it ("Verifying the signatures
 * of Amazon SNS messages": fetch the certificate over HTTPS, from SNS), with the host pattern of AWS's own
 * validator (github.com/aws/aws-js-sns-message-validator, index.js `defaultHostPattern`).
 */
const SNS_HOST = /^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$/;
/** Certificates kept (per URL) at most: SNS signs with a handful at a time. */
const MAX_CACHED = 50;
const FETCH_TIMEOUT_MS = 5_000;
/** A signing certificate is about 2 KB; nothing bigger is read. */
const MAX_CERTIFICATE_BYTES = 64 * 1024;

/** Where certificates are fetched from: SNS's hosts, or (tests only) one loopback server trusted through its own CA. */
export interface SnsTrust {
  testOnlyCertificateServer?: { host: string; ca: string };
}

/**
 * Fetches and caches SNS signing certificates, and confirms subscriptions, only on SNS's hosts over https:
 * a certificate URL on any other host (or over http, or with a port or credentials) is refused before anything
 * is fetched, so a forged message cannot bring its own certificate.
 */
export class SnsCertificates {
  private readonly keys = new Map<string, Promise<KeyObject>>();

  constructor(private readonly trust: SnsTrust) {}

  /** The URL when it is https on SNS's host pattern (or the test server), else undefined. */
  trusted(value: string, mustBePem: boolean): URL | undefined {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
    if (mustBePem && !url.pathname.endsWith('.pem')) return undefined;
    const test = this.trust.testOnlyCertificateServer;
    if (test !== undefined) return url.host === test.host ? url : undefined;
    return url.port === '' && SNS_HOST.test(url.hostname) ? url : undefined;
  }

  /** The public key of the signing certificate at `value`, fetched once per URL. */
  async key(value: string): Promise<KeyObject> {
    const url = this.trusted(value, true);
    if (url === undefined) throw unauthorized('SigningCertURL is not an https URL on an SNS host');
    const cached = this.keys.get(url.href);
    if (cached !== undefined) return cached;
    const loading = this.fetchKey(url);
    if (this.keys.size >= MAX_CACHED) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(url.href, loading);
    // A failed fetch is not kept: the next message tries again.
    loading.catch(() => this.keys.delete(url.href));
    return loading;
  }

  /** Visits the SubscribeURL of a verified SubscriptionConfirmation, as AWS documents for HTTP(S) endpoints. */
  async confirm(value: string): Promise<void> {
    const url = this.trusted(value, false);
    if (url === undefined) throw unauthorized('SubscribeURL is not an https URL on an SNS host');
    const { status } = await this.fetch(url);
    if (status !== 200) throw new WebhookUnavailable(`SNS answered ${status} to the subscription confirmation`);
  }

  private async fetchKey(url: URL): Promise<KeyObject> {
    const { status, body } = await this.fetch(url);
    if (status !== 200) throw unauthorized(`the signing certificate URL answered ${status}`);
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(body);
    } catch {
      throw unauthorized('the signing certificate is not a certificate');
    }
    const now = Date.now();
    if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) throw unauthorized('the signing certificate is not valid now');
    if (certificate.publicKey.asymmetricKeyType !== 'rsa') throw unauthorized('the signing certificate has no RSA key');
    return certificate.publicKey;
  }

  private fetch(url: URL): Promise<{ status: number; body: Buffer }> {
    const ca = this.trust.testOnlyCertificateServer?.ca;
    return new Promise((resolve, reject) => {
      const request = get(url, { timeout: FETCH_TIMEOUT_MS, ...(ca === undefined ? {} : { ca }) }, (response) => {
        const chunks: Buffer[] = [];
        let length = 0;
        response.on('data', (chunk: Buffer) => {
          length += chunk.length;
          if (length > MAX_CERTIFICATE_BYTES) request.destroy(new Error('the answer is too large'));
          else chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', (error) => reject(new WebhookUnavailable(`${url.host} could not be read: ${error.message}`)));
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${FETCH_TIMEOUT_MS} ms`)));
      request.on('error', (error) => reject(new WebhookUnavailable(`${url.host} could not be reached: ${error.message}`)));
    });
  }
}
