import type { RenderedEmail } from './template.compiler';

/**
 * What the message checks look at, one id each:
 * - `renders`: the template compiles and renders with sample data;
 * - `html-size`: the HTML part, as sent, is under Gmail's clipping size (102 KB);
 * - `text-part`: the message has a plain-text part with text in it;
 * - `link-absolute`, `link-https`: every link and image source is an absolute URL, https (http only for localhost);
 * - `image-alt`: every image has alt text, or says it is decorative;
 * - `message-id`, `date`: the message on the wire has one well-formed Message-ID and one Date header;
 * - `from-dkim-alignment`: with `dkim`, the From domain aligns with the signing domain (DMARC).
 */
export type TemplateCheckId =
  | 'renders'
  | 'html-size'
  | 'text-part'
  | 'link-absolute'
  | 'link-https'
  | 'image-alt'
  | 'message-id'
  | 'date'
  | 'from-dkim-alignment';

/** One thing a message check found: a warning, with what to do about it. */
export interface TemplateFinding {
  /** The template's name; `*` for a finding about every message (the From and DKIM domains). */
  template: string;
  /** The variant's locale, `''` for the locale-neutral file (and for `*`). */
  locale: string;
  /** The template's file, when the finding is about one. */
  file?: string;
  check: TemplateCheckId;
  /** What is wrong, naming the link, image or size concerned. */
  message: string;
  /** What to change. */
  fix: string;
}

/** Hosts an http link may point at: the developer's own machine (as `links` allows). */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Absolute schemes that are not web pages and need no https: of links, and of images (`cid:`, an image attached to the message). */
const NON_WEB_SCHEMES = { link: new Set(['mailto:', 'tel:', 'sms:']), image: new Set(['cid:']) };
/** What `sampleContextFor` puts in a variable it has no sample for: the app fills it in at send time. */
const SAMPLE_PLACEHOLDER = /^\[[^\]\s]+\]$/;
const SHOWN_URL_LENGTH = 120;

type Attributes = Record<string, string | undefined>;
interface Reference {
  kind: 'link' | 'image';
  url: string;
}
interface Image {
  attributes: Attributes;
}

/** What a finding says of a URL: whole, or its start when it is long. */
function shown(url: string): string {
  return url.length > SHOWN_URL_LENGTH ? `${url.slice(0, SHOWN_URL_LENGTH)}…` : url;
}

/** What one walk of an HTML document collects. */
interface Collected {
  references: Reference[];
  images: Image[];
}

let walker: ((html: string, collected: Collected) => void) | undefined;

/**
 * html-to-text's converter (its HTML parser writes the text part), compiled once, with formatters that
 * collect links and images instead of writing text; what they collect goes to the walk's `metadata`.
 */
function htmlWalker(): (html: string, collected: Collected) => void {
  if (walker) return walker;
  const { compile } = require('html-to-text') as typeof import('html-to-text');
  // The typings leave out the metadata argument (html-to-text 9+ passes it to every formatter as builder.metadata).
  const collectedBy = (builder: unknown) => (builder as { metadata: Collected }).metadata;
  const convert = compile({
    wordwrap: false,
    formatters: {
      checkLink: (element, walk, builder) => {
        const href = (element.attribs as Attributes | undefined)?.href;
        if (href !== undefined) collectedBy(builder).references.push({ kind: 'link', url: href });
        walk(element.children ?? [], builder);
      },
      checkImage: (element, _walk, builder) => {
        const attributes = (element.attribs as Attributes | undefined) ?? {};
        const collected = collectedBy(builder);
        collected.images.push({ attributes });
        if (attributes.src !== undefined) collected.references.push({ kind: 'image', url: attributes.src });
      },
    },
    selectors: [
      { selector: 'a', format: 'checkLink' },
      { selector: 'area', format: 'checkLink' },
      { selector: 'img', format: 'checkImage' },
    ],
  }) as (html: string, metadata: Collected) => string;
  walker = (html, collected) => void convert(html, collected);
  return walker;
}

/** The links (`<a href>`, `<area href>`) and images (`<img>`) of the HTML, attributes with their entities decoded. */
function parts(html: string): Collected {
  const collected: Collected = { references: [], images: [] };
  htmlWalker()(html, collected);
  return collected;
}

type ContentFinding = Pick<TemplateFinding, 'check' | 'message' | 'fix'>;

/** Why a link or image source would not work from an inbox, or undefined when it will. */
function urlFinding({ kind, url }: Reference): ContentFinding | undefined {
  const value = url.trim();
  // A fragment points inside the message itself; a sample placeholder is the app's value, known only at send time.
  if (value.startsWith('#') || SAMPLE_PLACEHOLDER.test(value)) return undefined;
  const what = kind === 'link' ? 'A link' : 'An image source';
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return {
      check: 'link-absolute',
      message: `${what} is not an absolute URL: "${shown(value)}". An email has no page to resolve it against, so it leads nowhere.`,
      fix: `Write the whole URL, scheme and host included, e.g. "https://app.example.com${value.startsWith('/') ? value : `/${value}`}".`,
    };
  }
  if (parsed.protocol === 'https:' || NON_WEB_SCHEMES[kind].has(parsed.protocol)) return undefined;
  if (parsed.protocol === 'http:' && LOCAL_HOSTS.has(parsed.hostname)) return undefined;
  return {
    check: 'link-https',
    message: `${what} is not https: "${shown(value)}". Mail clients warn about or block plain http, and spam filters count it against the message.`,
    fix:
      parsed.protocol === 'http:'
        ? `Use https://${shown(value.slice('http://'.length))} (http is fine only for localhost and 127.0.0.1).`
        : kind === 'link'
          ? `Link to an https page instead of a "${parsed.protocol}" URL.`
          : `Host the image at an https URL instead of a "${parsed.protocol}" one (Gmail shows no data: images).`,
  };
}

/**
 * Alt text: an image needs a non-empty `alt`, read aloud by screen readers and shown where images are
 * blocked (Outlook's default). MJML writes `alt=""` for every `mj-image` without `alt`, so an empty
 * `alt` is accepted only on an image that says it is decorative: `role="presentation"`, `role="none"`
 * or `aria-hidden="true"`.
 */
function altFinding({ attributes }: Image): ContentFinding | undefined {
  if ((attributes.alt ?? '').trim() !== '') return undefined;
  const role = (attributes.role ?? '').trim().toLowerCase();
  const decorative = role === 'presentation' || role === 'none' || (attributes['aria-hidden'] ?? '').trim().toLowerCase() === 'true';
  if (attributes.alt !== undefined && decorative) return undefined;
  const source = attributes.src ? `"${shown(attributes.src.trim())}"` : 'without a src';
  return {
    check: 'image-alt',
    message: `The image ${source} has ${attributes.alt === undefined ? 'no alt attribute' : 'an empty alt'}: where images are blocked (Outlook's default) and for screen readers, it says nothing.`,
    fix: 'Give it alt text that says what the image shows (mj-image alt="…"); for a purely decorative image, keep alt="" and add role="presentation" (with mj-html-attributes, or in mj-raw).',
  };
}

/**
 * What the rendered HTML of one template gets wrong: links and image sources that are not absolute
 * https URLs, images without alt text. Each is listed once. (The text part, the size and the headers
 * are checked on the message as sent: see queue/message.checks.ts.)
 */
export function contentFindings(rendered: RenderedEmail): ContentFinding[] {
  const { references, images } = parts(rendered.html);
  const findings = [...references.map(urlFinding), ...images.map(altFinding)].filter((finding): finding is ContentFinding => finding !== undefined);
  const seen = new Set<string>();
  return findings.filter((finding) => !seen.has(finding.message) && Boolean(seen.add(finding.message)));
}
