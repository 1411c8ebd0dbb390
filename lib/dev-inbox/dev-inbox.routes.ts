import { applyDecorators, Header } from '@nestjs/common';
import { posix } from 'node:path';
import type { ResolvedDevInboxOptions } from './dev-inbox.options';
import type { DevInboxNav } from './dev-inbox.pages';

/** A server-rendered page, never cached: a reload must show new emails and edited templates. */
export function HtmlPage(): MethodDecorator {
  return applyDecorators(Header('content-type', 'text/html; charset=utf-8'), Header('cache-control', 'no-store'));
}

/** What a handler needs of Express's response and Fastify's reply alike, to answer a page with another status. */
export interface PageResponse {
  status(code: number): unknown;
}

/** A configured path as Nest routes it: one leading slash, none trailing (`dev/inbox/` → `/dev/inbox`). */
export function routeOf(path: string): string {
  return `/${path.split('/').filter(Boolean).join('/')}`;
}

/**
 * A link from the page at route `from` to route `to`, relative, so it still works under an app's global
 * prefix: the browser resolves it against the parent of the page's last segment (`/dev/inbox/42` → `../templates`).
 */
export function hrefFrom(from: string, to: string): string {
  const base = posix.dirname(routeOf(from));
  const target = routeOf(to);
  const name = posix.basename(target);
  if (name === '') return posix.relative(base, target) || './';
  const folder = posix.relative(base, posix.dirname(target));
  return folder ? `${folder}/${name}` : name;
}

/** The nav of the page at route `from`. */
export function navFrom(from: string, paths: ResolvedDevInboxOptions, current: DevInboxNav['current']): DevInboxNav {
  return {
    inbox: hrefFrom(from, paths.inboxPath),
    templates: hrefFrom(from, paths.templatesPath),
    deliveryLog: hrefFrom(from, paths.deliveryLogPath),
    current,
  };
}
