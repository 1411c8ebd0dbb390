const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi;
const URL_IN_TEXT = /\bhttps?:\/\/\S+/gi;
/**
 * 6 to 10 digits not joined to a word, a longer number (`12.345678`, `+4912345678`, `123456-7`) or a
 * path. A full stop or comma after the code is fine: "Your code is 123456."
 */
const STANDALONE_CODE = /(?<![\w./+-]|\d,)\d{6,10}(?![\w/-]|[.,]\d)/g;

const NAMED_ENTITIES: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };

function decodeEntities(value: string): string {
  return value.replace(/&(?:#x([0-9a-f]+)|#(\d+)|(amp|quot|apos|lt|gt));/gi, (entity, hex?: string, decimal?: string, name?: string) => {
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    if (decimal) return String.fromCodePoint(Number(decimal));
    return NAMED_ENTITIES[(name as string).toLowerCase()] ?? entity;
  });
}

/** The http(s) links of an HTML part, in order, each once: what a reader could click. */
export function extractLinks(html: string): string[] {
  const links = [...html.matchAll(HREF)].map((match) => decodeEntities((match[1] ?? match[2]).trim()));
  return [...new Set(links.filter((link) => /^https?:\/\//i.test(link)))];
}

/**
 * One-time codes: runs of 6 to 10 digits standing alone, in order, each once. Links are left out first,
 * so digits inside a token or a path never pass for a code.
 */
export function extractCodes(text: string): string[] {
  return [...new Set(text.replace(URL_IN_TEXT, ' ').match(STANDALONE_CODE) ?? [])];
}
