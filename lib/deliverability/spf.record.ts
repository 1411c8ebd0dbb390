import { isIPv4, isIPv6 } from 'node:net';
import type { DnsClient } from './dns.client';

/** RFC 7208, 4.6.4: evaluating a record may take at most 10 DNS lookups, or the result is permerror. */
export const SPF_LOOKUP_LIMIT = 10;
/** The walk stops once this far past the limit: the verdict is known, and includes that loop must end. */
const WALK_LIMIT = 30;

const MECHANISM = /^([+\-~?]?)(all|include|a|mx|ptr|ip4|ip6|exists)(?:([:/])(.*))?$/i;
const MODIFIER = /^([a-z][a-z0-9_.-]*)=(.*)$/i;
const DOMAIN_SPEC = /^[\x21-\x7e]+$/;
const PLAIN_DOMAIN = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*\.?$/i;

/** One term of a record: a mechanism with its qualifier, or a modifier (`redirect=`, `exp=`, unknown ones). */
export interface SpfTerm {
  text: string;
  kind: 'mechanism' | 'modifier';
  /** Lower-cased: `include`, `all`, `redirect`, … */
  name: string;
  qualifier: '+' | '-' | '~' | '?';
  /** What follows `:`/`=` (a domain-spec, an address), or `/…` for a bare CIDR. */
  value: string;
}

export function isSpfRecord(text: string): boolean {
  return /^v=spf1(?:\s|$)/i.test(text.trim());
}

/** The terms after `v=spf1`; throws an Error naming the first term that is neither a mechanism nor a modifier. */
export function spfTerms(record: string): SpfTerm[] {
  return record
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((text) => {
      const mechanism = MECHANISM.exec(text);
      if (mechanism) {
        const [, qualifier, name, separator = '', value = ''] = mechanism;
        return { text, kind: 'mechanism', name: name.toLowerCase(), qualifier: (qualifier || '+') as SpfTerm['qualifier'], value: separator === '/' ? `/${value}` : value };
      }
      const modifier = MODIFIER.exec(text);
      if (modifier) return { text, kind: 'modifier', name: modifier[1].toLowerCase(), qualifier: '+', value: modifier[2] };
      throw new Error(`"${text}" is not an SPF mechanism`);
    });
}

/** Why a term is malformed, or undefined. */
function termProblem(term: SpfTerm): string | undefined {
  const { name, value, text } = term;
  const [target, cidr] = value.startsWith('/') ? ['', value.slice(1)] : value.split('/', 2);
  const prefix = (max: number, length: string | undefined) => length === undefined || (/^\d+$/.test(length) && Number(length) <= max);
  if (term.kind === 'modifier') {
    if ((name === 'redirect' || name === 'exp') && !DOMAIN_SPEC.test(value)) return `"${text}" has no domain`;
    return undefined;
  }
  switch (name) {
    case 'all':
      return value ? `"${text}": all takes no value` : undefined;
    case 'include':
    case 'exists':
      return DOMAIN_SPEC.test(value) && !value.includes('/') ? undefined : `"${text}" needs a domain (${name}:example.com)`;
    case 'ip4':
      return isIPv4(target) && prefix(32, cidr) ? undefined : `"${text}" is not an IPv4 address or range`;
    case 'ip6':
      return isIPv6(target) && prefix(128, cidr) ? undefined : `"${text}" is not an IPv6 address or range`;
    default: {
      // a, mx, ptr: an optional domain, a and mx an optional /cidr4 and //cidr6 too.
      if (value.startsWith('/')) return /^\/\d+(?:\/\/\d+)?$|^\/\/\d+$/.test(value) && name !== 'ptr' ? undefined : `"${text}" has a malformed prefix length`;
      return value === '' || DOMAIN_SPEC.test(value) ? undefined : `"${text}" has a malformed domain`;
    }
  }
}

/** What walking a record and everything it includes found. */
export interface SpfWalk {
  /** DNS lookups that evaluating it can take (RFC 7208, 4.6.4), counted through every include and redirect. */
  lookups: number;
  /** The walk stopped counting (well past the limit, or includes that loop). */
  stopped: boolean;
  /** The first malformed term or broken include found, if any. */
  invalid?: string;
}

/**
 * Counts the lookups of `terms` (a domain's one SPF record) the way receivers do: every `include`, `a`, `mx`,
 * `ptr`, `exists` and `redirect` costs one, and so do those of each included record, however deeply nested;
 * looking up the record itself does not. Static, over the whole tree: receivers evaluate from the top and stop
 * at the first match, so a record whose tail is over the limit fails for exactly the servers listed last.
 */
export async function walkSpf(dns: DnsClient, domain: string, terms: SpfTerm[]): Promise<SpfWalk> {
  const walk: SpfWalk = { lookups: 0, stopped: false };
  await visit(dns, terms, walk, [domain.toLowerCase()]);
  return walk;
}

async function visit(dns: DnsClient, terms: SpfTerm[], walk: SpfWalk, chain: string[]): Promise<void> {
  const hasAll = terms.some((term) => term.kind === 'mechanism' && term.name === 'all');
  for (const term of terms) {
    walk.invalid ??= termProblem(term);
    if (walk.lookups > WALK_LIMIT) {
      walk.stopped = true;
      return;
    }
    const recurses = (term.kind === 'mechanism' && term.name === 'include') || (term.kind === 'modifier' && term.name === 'redirect' && !hasAll);
    const looksUp = recurses || (term.kind === 'mechanism' && ['a', 'mx', 'ptr', 'exists'].includes(term.name));
    if (!looksUp) continue;
    walk.lookups += 1;
    // A target with a macro (%{i}, …) depends on the sender and the address: it cannot be followed from here.
    if (!recurses || term.value.includes('%') || !PLAIN_DOMAIN.test(term.value)) continue;
    const target = term.value.toLowerCase().replace(/\.$/, '');
    if (chain.includes(target)) {
      walk.invalid ??= `${term.text} loops back (${[...chain, target].join(' → ')})`;
      walk.stopped = true;
      return;
    }
    const records = (await dns.txt(target)).filter(isSpfRecord);
    if (records.length !== 1) {
      walk.invalid ??= `${term.text}: ${target} has ${records.length === 0 ? 'no SPF record' : `${records.length} SPF records`}`;
      continue;
    }
    let nested: SpfTerm[];
    try {
      nested = spfTerms(records[0]);
    } catch (error) {
      walk.invalid ??= `${term.text}: ${(error as Error).message} in ${target}'s record`;
      continue;
    }
    await visit(dns, nested, walk, [...chain, target]);
  }
}

/** The record with `term` added after `v=spf1`, or with its `all` replaced by `all` when given. */
export function editedRecord(record: string, edit: { add?: string; all?: string }): string {
  const terms = record.trim().split(/\s+/).slice(1);
  const kept = edit.all === undefined ? terms : terms.filter((term) => !/^[+\-~?]?all$/i.test(term));
  return ['v=spf1', ...(edit.add ? [edit.add] : []), ...kept, ...(edit.all ? [edit.all] : [])].join(' ');
}

/** Two or more records as one: every term of each once, `redirect=` dropped, the first record's `all` last. */
export function mergedRecord(records: string[]): string {
  const all = records.flatMap((record) => record.trim().split(/\s+/).slice(1)).find((term) => /^[+\-~?]?all$/i.test(term)) ?? '~all';
  const terms = [...new Set(records.flatMap((record) => record.trim().split(/\s+/).slice(1)))];
  return ['v=spf1', ...terms.filter((term) => !/^[+\-~?]?all$/i.test(term) && !/^redirect=/i.test(term)), all].join(' ');
}
