import { domainToASCII } from 'node:url';

/**
 * How a DKIM signature's domain (d=) aligns with the From domain under DMARC (RFC 7489, 3.1.1):
 * `strict` when they are the same name, `relaxed` when they share an organisational domain (the
 * registrable domain the Public Suffix List gives, e.g. acme.co.uk for mail.acme.co.uk), `none` when
 * they do not, `unknown` when that takes the Public Suffix List and it is not installed.
 */
export type DkimAlignment = 'strict' | 'relaxed' | 'none' | 'unknown';

type OrganisationalDomainOf = (domain: string) => string;

/** A domain as compared: lower case, without a trailing dot, an internationalised name in its ASCII (xn--) form. */
function normalised(domain: string): string {
  const trimmed = domain.trim().toLowerCase().replace(/\.$/, '');
  return domainToASCII(trimmed) || trimmed;
}

/**
 * The organisational domain by the Public Suffix List, through `tldts` (an optional peer: 3 MB that
 * only this development check needs), as mailauth's DMARC does; null when tldts is not installed.
 */
export function organisationalDomains(): OrganisationalDomainOf | null {
  let tldts: typeof import('tldts');
  try {
    tldts = require('tldts') as typeof import('tldts');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'MODULE_NOT_FOUND' && message.includes("'tldts'")) return null;
    throw error;
  }
  // A name that is itself a public suffix has no registrable domain; it stands for itself.
  return (domain) => tldts.getDomain(domain, { allowPrivateDomains: true }) ?? domain;
}

/**
 * Without the Public Suffix List: a parent and its subdomain share the parent's organisational domain
 * (whoever publishes DKIM keys at a name owns it, so it is not a public suffix); names whose only common
 * label is the top-level one share none; for the rest (siblings such as a.acme.com and b.acme.com) it
 * depends on where the public suffix ends.
 */
function alignmentWithoutList(from: string, signing: string): DkimAlignment {
  if (from.endsWith(`.${signing}`) || signing.endsWith(`.${from}`)) return 'relaxed';
  const fromLabels = from.split('.').reverse();
  const signingLabels = signing.split('.').reverse();
  let common = 0;
  while (common < Math.min(fromLabels.length, signingLabels.length) && fromLabels[common] === signingLabels[common]) common++;
  return common < 2 ? 'none' : 'unknown';
}

/** How `signingDomain` (DKIM d=) aligns with `fromDomain`; see DkimAlignment. `null` decides without the Public Suffix List. */
export function dkimAlignment(fromDomain: string, signingDomain: string, organisationalDomainOf: OrganisationalDomainOf | null = organisationalDomains()): DkimAlignment {
  const from = normalised(fromDomain);
  const signing = normalised(signingDomain);
  if (from === signing) return 'strict';
  if (!organisationalDomainOf) return alignmentWithoutList(from, signing);
  return normalised(organisationalDomainOf(from)) === normalised(organisationalDomainOf(signing)) ? 'relaxed' : 'none';
}
