/**
 * The copy of the built-ins as a reader sees it, through the compiled templates the package ships: the
 * new-sign-in notice's device line read from the User-Agent (never the header itself), the
 * password-changed email saying its call to action once, and a text part whose paragraphs stand apart.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleContextFor, TemplateRegistry } from '../../lib/templates';
import { BUILT_IN_TEMPLATES_DIR } from '../../lib/templates/template.precompiled';
import { parseTemplateSource } from '../../lib/templates/template.source';
import { describeDevice } from '../../lib/workflow/flows/device.description';

const LOCALES = ['en', 'fr', 'de', 'es', 'pt-BR'] as const;
type Locale = (typeof LOCALES)[number];
const BRAND = { name: 'Acme', primaryColor: '#2563eb', supportEmail: 'help@acme.test', postalAddress: '1 Main Street, Springfield' };

const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

/** How each language joins browser and system, and says a device was not recognised. */
const DEVICE_WORDS: Record<Locale, { on: string; unknown: string }> = {
  en: { on: 'on', unknown: 'not recognised' },
  fr: { on: 'sur', unknown: 'non reconnu' },
  de: { on: 'auf', unknown: 'nicht erkannt' },
  es: { on: 'en', unknown: 'no reconocido' },
  'pt-BR': { on: 'no', unknown: 'não reconhecido' },
};

/** The sentence of each password-changed file that asks for a reset: with a button saying so, it is left out. */
const RESET_SENTENCES: Record<Locale, string> = {
  en: 'If it was not, reset your password at once',
  fr: 'Sinon, réinitialisez votre mot de passe sans attendre',
  de: 'Andernfalls setzen Sie Ihr Passwort sofort zurück',
  es: 'Si no, restablece tu contraseña de inmediato',
  'pt-BR': 'Se não foi, redefina sua senha agora mesmo',
};
/** The verb of resetting, in any of its forms in each language. */
const RESET_VERBS: Record<Locale, RegExp> = {
  en: /\breset\b/i,
  fr: /réinitialis/i,
  de: /zurück/i,
  es: /restablece/i,
  'pt-BR': /redefin/i,
};

let registry: TemplateRegistry;

beforeAll(async () => {
  registry = await TemplateRegistry.load({ defaultLocale: 'en', layout: { primaryColor: '#2563eb', hasLogo: false } });
});

/** The context NewSignInNotice builds for a User-Agent. */
function noticeContext(userAgent: string) {
  return { when: '15 January 2026', ip: '203.0.113.7', userAgent, device: describeDevice(userAgent), link: 'https://acme.test/secure', brand: BRAND };
}

describe('describeDevice', () => {
  it.each([
    [CHROME_LINUX, { browser: 'Chrome', system: 'Linux' }],
    [SAFARI_IPHONE, { browser: 'Safari', system: 'iPhone' }],
    [FIREFOX_WINDOWS, { browser: 'Firefox', system: 'Windows' }],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', { browser: 'Chrome', system: 'Android' }],
    ['Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', { browser: 'Safari', system: 'iPad' }],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', { browser: 'Microsoft Edge', system: 'Windows' }],
  ])('reads %s', (userAgent, expected) => {
    expect(describeDevice(userAgent)).toEqual(expected);
  });

  it.each([
    ['empty', ''],
    ['blank', ' \t '],
    ['a command-line client', 'curl/8.5.0'],
    ['markup', '<script>alert(1)</script><a href="https://evil.test">click</a>'],
    ['control characters', '\u0000\u0001\r\n\u007f'],
    ['a bare Mozilla/5.0', 'Mozilla/5.0'],
    // bowser names an unknown client after its first "Name/1.0": words the sender chose, never shown.
    ['an unknown name and version', 'Your Bank Support/2.0 (call 555-0100)'],
    ['a generic name', 'Generic/1.0'],
  ])('gives undefined for %s', (_label, userAgent) => {
    expect(describeDevice(userAgent)).toBeUndefined();
  });

  it('reads a huge header quickly, from its start only', () => {
    const started = Date.now();
    expect(describeDevice('x'.repeat(1_000_000))).toBeUndefined();
    expect(describeDevice(`${FIREFOX_WINDOWS} ${'('.repeat(1_000_000)}`)).toEqual({ browser: 'Firefox', system: 'Windows' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('the new-sign-in device line', () => {
  describe.each(LOCALES)('in %s', (locale) => {
    const { on, unknown } = DEVICE_WORDS[locale];

    it.each([
      ['Chrome on Linux', CHROME_LINUX, `Chrome ${on} Linux`],
      ['Safari on iPhone', SAFARI_IPHONE, `Safari ${on} iPhone`],
      ['Firefox on Windows', FIREFOX_WINDOWS, `Firefox ${on} Windows`],
    ])('%s reads as the browser and system, in HTML and text, without the header', (_label, userAgent, line) => {
      const rendered = registry.render('new-sign-in', noticeContext(userAgent), locale);
      expect(rendered.html).toContain(line);
      expect(rendered.text).toContain(line);
      for (const part of [rendered.html, rendered.text]) {
        expect(part).not.toContain('Mozilla');
        expect(part).not.toContain(userAgent);
      }
    });

    it.each([
      ['garbage', 'zz%%$$ (not a browser) ##'],
      ['markup', '<b>hello</b> javascript:alert(1)'],
      ['a huge header', `Evil/1.0 ${'A'.repeat(199)}`],
    ])('an unrecognised User-Agent (%s) is said to be "not recognised", never shown', (_label, userAgent) => {
      const rendered = registry.render('new-sign-in', noticeContext(userAgent), locale);
      expect(rendered.text).toContain(unknown);
      expect(rendered.html).toContain(unknown);
      for (const part of [rendered.html, rendered.text]) {
        expect(part).not.toContain(userAgent);
        expect(part).not.toMatch(/Evil|zz%%|javascript:/);
      }
    });

    it('without a User-Agent there is no device line', () => {
      const { userAgent, device, ...context } = noticeContext(CHROME_LINUX);
      void [userAgent, device];
      const rendered = registry.render('new-sign-in', context, locale);
      expect(rendered.text).not.toContain(unknown);
      expect(rendered.text).not.toContain('Chrome');
    });
  });
});

describe('password-changed says its call to action once', () => {
  const link = 'https://app.acme.test/forgot-password';

  it.each(LOCALES)('in %s: with a link, only the button asks for a reset; without one, the sentence does', (locale) => {
    const withLink = registry.render('password-changed', { name: 'Ada', changedAt: '15 January 2026', link, brand: BRAND }, locale);
    expect(withLink.text).not.toContain(RESET_SENTENCES[locale]);
    expect(withLink.html).not.toContain(RESET_SENTENCES[locale]);
    // The button's words ("… [link]") are the one place the text part speaks of resetting.
    const resets = withLink.text.split('\n').filter((line) => RESET_VERBS[locale].test(line));
    expect(resets).toEqual([expect.stringContaining(`[${link}]`)]);

    const withoutLink = registry.render('password-changed', { name: 'Ada', changedAt: '15 January 2026', brand: BRAND }, locale);
    expect(withoutLink.text).toContain(`${RESET_SENTENCES[locale]} `);
    expect(withoutLink.text).toContain('help@acme.test');
  });
});

/** Every plain mj-text of a built-in (no markup inside), filled in with `context`: each is a paragraph. */
function plainParagraphs(name: string, locale: Locale, context: object): string[] {
  const file = join(BUILT_IN_TEMPLATES_DIR, locale === 'en' ? `${name}.mjml` : `${name}.${locale.toLowerCase()}.mjml`);
  const parsed = parseTemplateSource(file, readFileSync(file, 'utf8'));
  if (typeof parsed === 'string') throw new Error(parsed);
  return [...parsed.body.matchAll(/<mj-text[^>]*>([^<]*)<\/mj-text>/g)]
    .map(([, inner]) => Handlebars.compile(inner, { noEscape: true })(context).trim())
    .filter((paragraph) => paragraph !== '');
}

describe('the text part keeps paragraphs apart', () => {
  it('welcome in English, concretely', () => {
    const { text } = registry.render('welcome', { name: 'Ada', link: 'https://app.acme.test', brand: BRAND }, 'en');
    expect(text).toBe(
      [
        'Acme',
        'Welcome to Acme',
        'Hi Ada,',
        'Your email address is confirmed and your account is ready.',
        'Open Acme [https://app.acme.test]',
        'Questions? Write to help@acme.test.\n1 Main Street, Springfield\nSent by Acme.',
      ].join('\n\n'),
    );
  });

  it('password-changed in German and new-sign-in in French, concretely', () => {
    const changed = registry.render('password-changed', { name: 'Ada', changedAt: '15. Januar 2026', link: 'https://acme.test/f', brand: BRAND }, 'de');
    expect(changed.text).toContain('Hallo Ada,\n\nDas Passwort Ihres Acme-Kontos wurde am 15. Januar 2026 geändert.\n\nWenn Sie das waren, müssen Sie nichts tun.\n\n');
    const notice = registry.render('new-sign-in', { ...noticeContext(CHROME_LINUX), name: 'Amélie' }, 'fr');
    // The details stay one block, a line each.
    expect(notice.text).toContain('Quelqu’un vient de se connecter à votre compte Acme.\n\nQuand\u00a0: 15 January 2026\nAdresse IP\u00a0: 203.0.113.7\nAppareil\u00a0: Chrome sur Linux\n\nSi c’est vous');
  });

  it.each(LOCALES)('every built-in in %s: each plain paragraph stands alone between blank lines', (locale) => {
    for (const name of registry.names()) {
      const template = registry.resolve(name, locale);
      const context = sampleContextFor(template, BRAND);
      const paragraphs = registry.render(name, context, locale).text.split('\n\n');
      const expected = plainParagraphs(name, locale, context);
      expect({ name, count: expected.length > 1 }).toEqual({ name, count: true });
      for (const paragraph of expected) expect({ name, paragraph, found: paragraphs.includes(paragraph) }).toEqual({ name, paragraph, found: true });
    }
  });
});
