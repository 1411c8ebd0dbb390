import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Amazon SES v2 API on loopback, speaking its documented REST-JSON wire format:
 * `SendEmail` (POST /v2/email/outbound-emails, JSON with `Content.Raw.Data` base64, answering
 * `{ "MessageId": … }`) and `GetAccount` (GET /v2/email/account). Every request must carry a valid
 * AWS Signature Version 4 for an access key it knows, checked here as AWS documents it; errors are
 * answered as SES does: the status code, the `x-amzn-ErrorType` header and a JSON `{ "message" }` body.
 */

/** An error answer, as SES sends one. */
export interface SesErrorAnswer {
  status: number;
  /** The error's name, e.g. `MessageRejected`, `TooManyRequestsException`. */
  type: string;
  message: string;
}

/** One request the stand-in took, signature checked. */
export interface SesRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Whether its SigV4 signature was valid for a known key. */
  signatureValid: boolean;
}

/** One email `SendEmail` accepted. */
export interface SesSentEmail {
  messageId: string;
  raw: Buffer;
  request: Record<string, unknown>;
}

/** `GetAccount`'s answer, in SES's field names. */
export interface SesAccount {
  SendingEnabled: boolean;
  ProductionAccessEnabled: boolean;
  EnforcementStatus: string;
  SendQuota: { Max24HourSend: number; MaxSendRate: number; SentLast24Hours: number };
}

export const TEST_REGION = 'eu-west-1';
export const TEST_CREDENTIALS = { accessKeyId: 'AKIATESTSTANDIN00001', secretAccessKey: 'stand-in/SECRET+key/0123456789abcdefghijk' };

const hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** An id shaped like SES's: 16 hex, then a UUID, then `-000000`. */
function sesMessageId(): string {
  const h = (bytes: number) => randomBytes(bytes).toString('hex');
  return `${h(8)}-${h(4)}-${h(2)}-${h(2)}-${h(2)}-${h(6)}-000000`;
}

/**
 * Checks an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header against the
 * request, with the secret of the named key (AWS's "Create a signed AWS API request", steps 1 to 4).
 */
function signatureIsValid(request: IncomingMessage, body: string, secrets: Map<string, string>): boolean {
  const authorization = request.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return false;
  const [, keyId, date, region, service, signedHeaders, signature] = match;
  const secret = secrets.get(keyId);
  const amzDate = request.headers['x-amz-date'];
  if (secret === undefined || typeof amzDate !== 'string' || !amzDate.startsWith(date)) return false;
  const url = new URL(request.url ?? '/', 'http://stand-in');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders.split(';');
  const canonicalHeaders = headers.map((name) => `${name}:${String(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = typeof request.headers['x-amz-content-sha256'] === 'string' ? request.headers['x-amz-content-sha256'] : hex(body);
  const canonicalRequest = [request.method, url.pathname, query, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return hmac(key, stringToSign).toString('hex') === signature && payloadHash === hex(body);
}

export class SesV2StandIn {
  readonly requests: SesRequest[] = [];
  readonly sent: SesSentEmail[] = [];
  /** Answers for the next `SendEmail` calls, in order; once empty, each is accepted. */
  readonly sendAnswers: SesErrorAnswer[] = [];
  /** What GetAccount answers. */
  account: SesAccount = {
    SendingEnabled: true,
    ProductionAccessEnabled: true,
    EnforcementStatus: 'HEALTHY',
    SendQuota: { Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 0 },
  };
  /** Access key ids that are active (a deactivated or deleted IAM key is answered as AWS does: 403). */
  readonly activeKeys = new Set<string>([TEST_CREDENTIALS.accessKeyId]);
  private readonly secrets = new Map<string, string>([[TEST_CREDENTIALS.accessKeyId, TEST_CREDENTIALS.secretAccessKey]]);

  private constructor(private readonly server: Server) {}

  static async start(): Promise<SesV2StandIn> {
    let standIn: SesV2StandIn | undefined;
    const server = createServer((request, response) => void standIn!.handle(request, response));
    standIn = new SesV2StandIn(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Requests to one operation: `send` (SendEmail) or `account` (GetAccount). */
  calls(operation: 'send' | 'account'): SesRequest[] {
    const path = operation === 'send' ? '/v2/email/outbound-emails' : '/v2/email/account';
    return this.requests.filter((request) => request.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    const signatureValid = signatureIsValid(request, body, this.secrets);
    this.requests.push({ method: request.method ?? '', path, headers: request.headers, body, signatureValid });

    const keyId = /Credential=([^/]+)\//.exec(request.headers.authorization ?? '')?.[1];
    if (keyId === undefined || !this.secrets.has(keyId) || !this.activeKeys.has(keyId)) {
      return this.error(response, { status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    }
    if (!signatureValid) {
      return this.error(response, {
        status: 403,
        type: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      });
    }
    if (request.method === 'GET' && path === '/v2/email/account') return this.json(response, 200, this.account);
    if (request.method === 'POST' && path === '/v2/email/outbound-emails') {
      const answer = this.sendAnswers.shift();
      if (answer) return this.error(response, answer);
      const parsed = JSON.parse(body) as { Content?: { Raw?: { Data?: string } } };
      const data = parsed.Content?.Raw?.Data;
      if (typeof data !== 'string') return this.error(response, { status: 400, type: 'BadRequestException', message: 'Content is required' });
      const messageId = sesMessageId();
      this.sent.push({ messageId, raw: Buffer.from(data, 'base64'), request: parsed });
      return this.json(response, 200, { MessageId: messageId });
    }
    this.error(response, { status: 404, type: 'NotFoundException', message: `no route ${request.method} ${path}` });
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    response.end(JSON.stringify(body));
  }

  private error(response: ServerResponse, { status, type, message }: SesErrorAnswer): void {
    response.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`,
      'x-amzn-requestid': randomUUID(),
    });
    response.end(JSON.stringify({ message }));
  }
}
