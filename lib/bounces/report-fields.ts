import { MAX_DIAGNOSTIC_LENGTH } from './bounce.limits';

/** One `Name: value` field of a header block or a report part: name lower-cased, folded lines joined. */
export interface ReportField {
  readonly name: string;
  readonly value: string;
}

const FIELD_NAME = /^[!-9;-~]+$/;
/** An enhanced status code (RFC 3463), not part of a dotted number such as an IP address. */
const ENHANCED_CODE = /(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)/;
/** `local@domain`, the domain neither starting nor ending with a dot (`grace@example.org.` ends a sentence). */
const ADDRESS = /^[^\s<>@]+@[^\s<>@.](?:[^\s<>@]*[^\s<>@.])?$/;
const MAX_ADDRESS_LENGTH = 320;
/** `rfc822;`, `smtp;`, `X-Postfix;`: the type a DSN field's value starts with. */
const TYPE_PREFIX = /^[A-Za-z0-9-]+\s*;\s*/;

/**
 * The fields of header-style text, block by block (blocks end at a blank line), as a DSN's per-message and
 * per-recipient fields are laid out. Lines that are neither a field nor a continuation are skipped.
 */
export function* fieldBlocks(text: string): Generator<ReportField[]> {
  let block: Array<{ name: string; value: string }> = [];
  let last: { name: string; value: string } | undefined;
  const finish = () => block.map(({ name, value }) => ({ name, value: value.replace(/\s+/g, ' ').trim() }));
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (block.length > 0) yield finish();
      block = [];
      last = undefined;
    } else if (line[0] === ' ' || line[0] === '\t') {
      if (last) last.value += ` ${line}`;
    } else {
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon).trimEnd().toLowerCase() : '';
      last = FIELD_NAME.test(name) ? { name, value: line.slice(colon + 1) } : undefined;
      if (last) block.push(last);
    }
  }
  if (block.length > 0) yield finish();
}

/** The first block of header-style text: the header of a message. */
export function headerFields(text: string): ReportField[] {
  for (const block of fieldBlocks(text)) return block;
  return [];
}

/** The value of the first field of that name. */
export function fieldValue(fields: readonly ReportField[], name: string): string | undefined {
  return fields.find((field) => field.name === name)?.value;
}

/**
 * An address as a report gives it, normalised: trimmed, its `rfc822;` type and angle brackets stripped,
 * a trailing comment dropped, case kept. Undefined for what is not an address.
 */
export function addressOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const untyped = value.trim().replace(TYPE_PREFIX, '');
  const bracketed = /^<([^<>]*)>/.exec(untyped);
  const address = (bracketed ? bracketed[1] : untyped.split(/\s/)[0]).trim();
  return ADDRESS.test(address) && address.length <= MAX_ADDRESS_LENGTH ? address : undefined;
}

/** Every address in an address header (`Ada <ada@example.com>, bo@example.com`), in order. */
export function addressesIn(value: string): string[] {
  const bracketed = [...value.matchAll(/<([^<>\s]+@[^<>\s]+)>/g)].map((match) => match[1]);
  return bracketed.length > 0 ? bracketed : [...value.matchAll(/[^\s<>(),;:"]+@[^\s<>(),;:"]+/g)].map((match) => match[0]);
}

/** The tag after the first `+` of an address's local part: `bounces+ABC@acme.test` → `ABC`. */
export function tagOf(address: string): string | undefined {
  const local = address.slice(0, address.lastIndexOf('@'));
  const plus = local.indexOf('+');
  return plus >= 0 && plus < local.length - 1 ? local.slice(plus + 1) : undefined;
}

/** The first address with a tag among the values of the named fields, tried field name by field name. */
export function envelopeTagIn(fields: readonly ReportField[], names: readonly string[]): string | undefined {
  for (const name of names) {
    for (const field of fields) {
      if (field.name !== name) continue;
      const tag = addressesIn(field.value).map(tagOf).find((found) => found !== undefined);
      if (tag !== undefined) return tag;
    }
  }
  return undefined;
}

/** A Message-ID with its angle brackets, as `send()` returns it. */
export function messageIdOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bracketed = /<[^<>\s]{1,996}>/.exec(value)?.[0];
  if (bracketed) return bracketed;
  const bare = value.trim();
  return ADDRESS.test(bare) && bare.length <= 996 ? `<${bare}>` : undefined;
}

/** The first enhanced status code in a text: `5.1.1` in `550 5.1.1 <ada@example.com>: User unknown`. */
export function enhancedCodeIn(text: string | undefined): string | undefined {
  return text === undefined ? undefined : ENHANCED_CODE.exec(text)?.[1];
}

/** A diagnostic without its `smtp;` type, whitespace runs as one space, cut to the length kept. */
export function diagnosticOf(value: string | undefined): string | undefined {
  const text = value?.replace(TYPE_PREFIX, '').replace(/\s+/g, ' ').trim();
  return text ? text.slice(0, MAX_DIAGNOSTIC_LENGTH) : undefined;
}
