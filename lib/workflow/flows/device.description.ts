/**
 * The device line of the new-sign-in notice ("Chrome on Linux", "Safari on iPhone"; each template words
 * it in its language), read from the User-Agent by bowser (MIT, no dependencies), loaded at the first notice.
 */

/** What the notice's `device` variable holds. */
export interface DeviceDescription {
  /** The browser, e.g. `Chrome`. */
  browser: string;
  /** The OS, or the model for an iPhone, iPad or iPod, e.g. `Linux`, `iPhone`; absent when unknown. */
  system?: string;
}

interface Bowser {
  parse(userAgent: string): { browser: { name?: string }; os: { name?: string }; platform: { model?: string } };
  BROWSER_MAP: Record<string, string>;
  OS_MAP: Record<string, string>;
}

/** Real User-Agents stay well under this; a longer header is cut before it is parsed, so parsing stays fast. */
const PARSED_MAX = 512;
/** Devices more telling than their OS: "on iPhone" rather than "on iOS". */
const MODELS_SHOWN = new Set(['iPhone', 'iPad', 'iPod']);

let parser: { parse: Bowser['parse']; browsers: Set<string>; systems: Set<string> } | undefined;

function loadParser(): NonNullable<typeof parser> {
  if (!parser) {
    const bowser = require('bowser') as Bowser;
    // Only names from bowser's own lists: for a header it does not know, it offers the first "Name/1.0"
    // it finds, and the client writes the header, so that name could be any words.
    const browsers = new Set(Object.values(bowser.BROWSER_MAP));
    browsers.delete('Generic');
    parser = { parse: bowser.parse, browsers, systems: new Set(Object.values(bowser.OS_MAP)) };
  }
  return parser;
}

/**
 * The browser and OS (the model for an iPhone or iPad), or undefined when the User-Agent names no
 * browser bowser knows: the template then says the device was not recognised.
 */
export function describeDevice(userAgent: string): DeviceDescription | undefined {
  const line = userAgent.slice(0, PARSED_MAX).trim();
  if (line === '') return undefined;
  const { parse, browsers, systems } = loadParser();
  let result: ReturnType<Bowser['parse']>;
  try {
    result = parse(line);
  } catch {
    return undefined;
  }
  const browser = result.browser.name;
  if (browser === undefined || !browsers.has(browser)) return undefined;
  const model = result.platform.model;
  const system = model !== undefined && MODELS_SHOWN.has(model) ? model : result.os.name;
  return system !== undefined && (systems.has(system) || MODELS_SHOWN.has(system)) ? { browser, system } : { browser };
}
