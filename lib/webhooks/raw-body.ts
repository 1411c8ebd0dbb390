import type { IncomingHttpHeaders } from 'node:http';
import type { WebhookRequest } from './webhook.request';

/** What a handler needs of Express's request and Fastify's alike. */
export interface PlatformRequest {
  /** Set by Nest when the app was created with `rawBody: true` (JSON and form bodies). */
  rawBody?: unknown;
  /** What a body parser made of it: an object (JSON), a string (Fastify's text/plain), or nothing (Express, no parser matched). */
  body?: unknown;
  headers: IncomingHttpHeaders;
  ip?: string;
  /** Express: the request is the stream itself, unread when no body parser took it (SNS posts text/plain). */
  readableEnded?: boolean;
  [Symbol.asyncIterator]?: () => AsyncIterator<unknown>;
}

/** Why there is no body to check. */
export type NoBody = 'missing-raw-body' | 'too-large';

/**
 * The body exactly as it arrived, at most `maxBytes`. Nest keeps JSON bodies raw only when the app was created
 * with `rawBody: true`; without it a parsed body cannot be checked (`missing-raw-body`). A text body (SNS
 * posts `text/plain`) is the string Fastify parsed, or the stream Express left unread.
 */
export async function rawBodyOf(request: PlatformRequest, maxBytes: number): Promise<Buffer | NoBody> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return 'too-large';
  let raw: Buffer | undefined;
  if (Buffer.isBuffer(request.rawBody)) raw = request.rawBody;
  else if (typeof request.body === 'string') raw = Buffer.from(request.body, 'utf8');
  else if (Buffer.isBuffer(request.body)) raw = request.body;
  else if (request.body === undefined && request.readableEnded === false && request[Symbol.asyncIterator]) return readStream(request as AsyncIterable<unknown>, maxBytes);
  if (raw === undefined) return 'missing-raw-body';
  return raw.length > maxBytes ? 'too-large' : raw;
}

async function readStream(stream: AsyncIterable<unknown>, maxBytes: number): Promise<Buffer | NoBody> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += bytes.length;
    // Stop reading: the rest is never buffered, and the connection closes after the 413.
    if (length > maxBytes) return 'too-large';
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** The request as the providers' checks see it. */
export function webhookRequest(request: PlatformRequest, raw: Buffer): WebhookRequest {
  return {
    raw,
    header: (name) => {
      const value = request.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    ip: request.ip?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, ''),
  };
}
