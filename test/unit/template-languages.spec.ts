/**
 * Every built-in template in each of the five languages, through the real registry and the compiled
 * built-ins the package ships: nothing left unfilled, a subject in the reader's language, the link and
 * the code the workflow passes, the html `lang`, and the layout's footer in the same language.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TemplateVariableMissingError } from '../../lib/errors';
import { extractCodes, extractLinks } from '../../lib/testing/email-content.extract';
import { sampleContextFor, TemplateRegistry } from '../../lib/templates';
import type { CompiledTemplate, TemplateContext } from '../../lib/templates/template.compiler';
import { BUILT_IN_TEMPLATES_DIR } from '../../lib/templates/template.precompiled';
import { parseTemplateSource } from '../../lib/templates/template.source';

const LOCALES = ['en', 'fr', 'de', 'es', 'pt-BR'] as const;
type Locale = (typeof LOCALES)[number];
const BRAND = { name: 'Acme', primaryColor: '#2563eb', supportEmail: 'help@acme.test', postalAddress: '1 Main Street, Springfield' };
const LAYOUT = { primaryColor: '#2563eb', hasLogo: false };
const OVERRIDES = join(__dirname, '..', 'fixtures', 'templates', 'overrides');

/** The variables the design gives each template (besides brand.*): a template using another one would print nothing there. */
const VARIABLES: Record<string, string[]> = {
  'verify-email': ['name', 'link', 'code', 'expiresIn'],
  'reset-password': ['name', 'link', 'code', 'expiresIn'],
  'sign-in': ['name', 'link', 'code', 'expiresIn'],
  'confirm-email-change': ['name', 'newEmail', 'link', 'expiresIn'],
  'email-change-requested': ['name', 'newEmail', 'link', 'expiresIn'],
  // userAgent only decides whether the device line is shown: the header itself is never printed.
  'new-sign-in': ['name', 'when', 'ip', 'userAgent', 'device', 'device.system', 'device.browser', 'link'],
  welcome: ['name', 'link'],
  'password-changed': ['name', 'changedAt', 'link'],
  'test-email': [],
};
const TEMPLATES = Object.keys(VARIABLES);

/** A word or phrase of each subject that only its language would write. */
const SUBJECT_WORDS: Record<string, Record<Locale, RegExp>> = {
  'verify-email': { en: /confirm your email address/i, fr: /adresse e-mail/i, de: /E-Mail-Adresse/, es: /dirección de correo/i, 'pt-BR': /endereço de e-mail/i },
  'reset-password': { en: /password/i, fr: /mot de passe/i, de: /Passwort/, es: /contraseña/i, 'pt-BR': /senha/i },
  'sign-in': { en: /sign in/i, fr: /connexion/i, de: /anmelden/i, es: /inicia sesión/i, 'pt-BR': /entre na sua conta/i },
  'confirm-email-change': { en: /new email address/i, fr: /nouvelle adresse/i, de: /neue E-Mail-Adresse/, es: /nueva dirección/i, 'pt-BR': /novo e-mail/i },
  'email-change-requested': { en: /is being changed/i, fr: /va changer/i, de: /wird geändert/i, es: /va a cambiar/i, 'pt-BR': /vai mudar/i },
  'new-sign-in': { en: /new sign-in/i, fr: /nouvelle connexion/i, de: /neue Anmeldung/i, es: /nuevo inicio de sesión/i, 'pt-BR': /novo acesso/i },
  welcome: { en: /welcome/i, fr: /bienvenue/i, de: /willkommen/i, es: /bienvenida/i, 'pt-BR': /boas-vindas/i },
  'password-changed': { en: /password was changed/i, fr: /a été modifié/i, de: /wurde geändert/i, es: /se cambió/i, 'pt-BR': /foi alterada/i },
  'test-email': { en: /test email/i, fr: /e-mail de test envoyé par/i, de: /Test-E-Mail/, es: /correo de prueba/i, 'pt-BR': /e-mail de teste/i },
};

/** The layout's footer line asking for questions, and the html `lang`, per language. */
const LAYOUT_WORDS: Record<Locale, { questions: string; lang: string }> = {
  en: { questions: 'Questions? Write to help@acme.test.', lang: 'en' },
  fr: { questions: 'Une question\u00a0? Écrivez-nous à help@acme.test.', lang: 'fr' },
  de: { questions: 'Fragen? Schreiben Sie uns an help@acme.test.', lang: 'de' },
  es: { questions: '¿Tienes preguntas? Escríbenos a help@acme.test.', lang: 'es' },
  'pt-BR': { questions: 'Dúvidas? Escreva para help@acme.test.', lang: 'pt-BR' },
};

type Node = { type: string; original?: string; path?: Node; params?: Node[]; program?: { body: Node[] }; inverse?: { body: Node[] } };

/** Every variable a Handlebars source reads, inside blocks too (`{{#if ip}}` reads ip). */
function variablesUsed(source: string): string[] {
  const found = new Set<string>();
  const walk = (nodes: Node[]): void => {
    for (const node of nodes) {
      if (node.type === 'MustacheStatement' || node.type === 'BlockStatement') {
        const read = node.params?.length ? node.params : [node.path!];
        for (const part of read) if (part.type === 'PathExpression' && part.original !== 'this') found.add(part.original!);
      }
      if (node.program) walk(node.program.body);
      if (node.inverse) walk(node.inverse.body);
    }
  };
  walk((Handlebars.parse(source) as unknown as { body: Node[] }).body);
  return [...found];
}

/** Subject and MJML body of a built-in file, as written. */
function builtInSource(name: string, locale: Locale): string {
  const file = join(BUILT_IN_TEMPLATES_DIR, locale === 'en' ? `${name}.mjml` : `${name}.${locale.toLowerCase()}.mjml`);
  const parsed = parseTemplateSource(file, readFileSync(file, 'utf8'));
  if (typeof parsed === 'string') throw new Error(parsed);
  return `${parsed.subject}\n${parsed.body}`;
}

let registry: TemplateRegistry;

beforeAll(async () => {
  registry = await TemplateRegistry.load({ defaultLocale: 'en', layout: LAYOUT });
});

/** The sample a preview shows, checked to carry every variable itself (sampleContextFor fills gaps with "[name]"). */
function sampleFor(template: CompiledTemplate): TemplateContext {
  const context = sampleContextFor(template, BRAND);
  const placeholders = Object.entries(context).filter(([, value]) => typeof value === 'string' && /^\[.+\]$/.test(value));
  expect(placeholders).toEqual([]);
  return context;
}

describe('the built-in templates in five languages', () => {
  it('the registry holds every template in every language, and nothing else', () => {
    expect(registry.names()).toEqual([...TEMPLATES].sort());
    for (const name of TEMPLATES) {
      expect(LOCALES.map((locale) => registry.resolve(name, locale).locale)).toEqual(['', 'fr', 'de', 'es', 'pt-br']);
    }
  });

  describe.each(TEMPLATES)('%s', (name) => {
    it.each(LOCALES)('in %s: every variable filled, the subject, text and footer in the language, the link and code in both parts', (locale) => {
      const template = registry.resolve(name, locale);
      const context = sampleFor(template);
      expect(() => template.assertRenderable(context)).not.toThrow();
      const rendered = template.render(context);

      expect(rendered.subject).toMatch(SUBJECT_WORDS[name][locale]);
      expect(rendered.subject).toContain('Acme');
      for (const part of [rendered.subject, rendered.html, rendered.text]) expect(part).not.toMatch(/\{\{|\}\}/);
      // "[name]" is what sampleContextFor writes for a variable no sample gives.
      for (const part of [rendered.subject, rendered.text]) expect(part).not.toMatch(/\[[a-zA-Z.]+\]/);
      expect(rendered.html).toMatch(new RegExp(`<html lang="${LAYOUT_WORDS[locale].lang}"`));
      expect(rendered.text).toContain(LAYOUT_WORDS[locale].questions);
      expect(rendered.text).toContain('1 Main Street, Springfield');

      if (typeof context.link === 'string') {
        expect(extractLinks(rendered.html)).toContain(context.link);
        expect(rendered.text).toContain(context.link);
      }
      if (typeof context.code === 'string') {
        expect(extractCodes(rendered.text)).toEqual([context.code]);
        expect(rendered.html).toContain(`>${context.code}<`);
        expect(rendered.subject).not.toContain(context.code);
      }
      for (const variable of ['expiresIn', 'newEmail', 'when', 'changedAt', 'ip']) {
        if (typeof context[variable] === 'string') expect(rendered.text).toContain(context[variable]);
      }
      if (typeof context.userAgent === 'string') {
        for (const part of [rendered.html, rendered.text]) expect(part).not.toContain(context.userAgent);
        expect(rendered.text).toMatch(/Firefox \S+ macOS/);
      }
    });

    it('reads only the variables the design gives it, in every language', () => {
      for (const locale of LOCALES) {
        expect({ locale, outside: variablesUsed(builtInSource(name, locale)).filter((variable) => !VARIABLES[name].includes(variable) && !variable.startsWith('brand.')) }).toEqual({
          locale,
          outside: [],
        });
      }
    });
  });

  it('the French subject of reset-password speaks of "mot de passe", the German one of "Passwort"', () => {
    const context = { name: 'Ada', link: 'https://app.acme.test/r?token=t', brand: BRAND };
    expect(registry.render('reset-password', context, 'fr').subject).toBe('Réinitialisez votre mot de passe Acme');
    expect(registry.render('reset-password', context, 'de').subject).toBe('Passwort für Ihr Acme-Konto zurücksetzen');
  });
});

describe.each(['verify-email', 'reset-password', 'sign-in'])('%s by link, by code, or both', (name) => {
  const link = 'https://app.acme.test/flow?token=abc123456789';
  const code = '048213';

  it.each(LOCALES)('in %s', (locale) => {
    const template = registry.resolve(name, locale);
    const byLink = template.render({ name: 'Ada', link, expiresIn: '1 hour', brand: BRAND });
    expect(extractLinks(byLink.html)).toContain(link);
    expect(extractCodes(byLink.text)).toEqual([]);

    const byCode = template.render({ name: 'Ada', code, expiresIn: '1 hour', brand: BRAND });
    expect(extractCodes(byCode.text)).toEqual([code]);
    expect(extractLinks(byCode.html)).not.toContain(link);
    expect(byCode.text).not.toContain('https://app.acme.test');
    expect(byCode.text).toContain('1 hour');

    const both = template.render({ name: 'Ada', link, code, expiresIn: '1 hour', brand: BRAND });
    expect(extractLinks(both.html)).toContain(link);
    expect(extractCodes(both.text)).toEqual([code]);
    // The lifetime is said once, for whichever the email carries.
    expect(both.text.split('1 hour')).toHaveLength(2);
  });

  it('refuses a context with neither a link nor a code, naming link', () => {
    expect(() => registry.render(name, { name: 'Ada', expiresIn: '1 hour', brand: BRAND }, 'fr')).toThrow(TemplateVariableMissingError);
    expect(() => registry.render(name, { name: 'Ada', expiresIn: '1 hour', brand: BRAND }, 'fr')).toThrow(/"link"/);
  });
});

describe('locale fallback', () => {
  it.each([
    ['pt-BR', 'pt-br'],
    ['pt', 'pt-br'],
    ['pt-PT', 'pt-br'],
    ['fr-CA', 'fr'],
    ['FR', 'fr'],
    ['de-AT', 'de'],
    ['es-419', 'es'],
    ['it', ''],
    [undefined, ''],
  ])('%s reads the "%s" variant ("" is the locale-neutral file)', (locale, variant) => {
    expect(registry.resolve('sign-in', locale).locale).toBe(variant);
  });

  it('with templates.defaultLocale "de", a recipient without a locale or with one we lack reads German', async () => {
    const german = await TemplateRegistry.load({ defaultLocale: 'de', layout: LAYOUT });
    expect(german.resolve('welcome').locale).toBe('de');
    expect(german.resolve('welcome', 'it').locale).toBe('de');
    expect(german.resolve('welcome', 'fr-BE').locale).toBe('fr');
  });
});

describe('templates.dir overrides, per locale', () => {
  let withOverrides: TemplateRegistry;

  beforeAll(async () => {
    withOverrides = await TemplateRegistry.load({ customDir: OVERRIDES, defaultLocale: 'en', layout: LAYOUT });
  });

  it("an app's reset-password.fr.mjml wins for French readers; the other languages keep the built-ins", () => {
    const context = { name: 'Ada', link: 'https://app.acme.test/r?token=t', brand: BRAND };
    expect(withOverrides.resolve('reset-password', 'fr-CA').file).toBe(join(OVERRIDES, 'reset-password.fr.mjml'));
    expect(withOverrides.render('reset-password', context, 'fr').text).toContain('Bonjour Ada, choisissez un nouveau mot de passe');
    expect(withOverrides.render('reset-password', context, 'de').subject).toBe('Passwort für Ihr Acme-Konto zurücksetzen');
    expect(withOverrides.render('reset-password', context, 'en').subject).toBe('Reset your Acme password');
  });

  it("an app's locale-neutral welcome.mjml replaces the built-in's translations too: they translate the built-in's text", () => {
    for (const locale of LOCALES) {
      expect(withOverrides.render('welcome', { name: 'Ada', brand: BRAND }, locale).subject).toBe('Custom welcome, Ada');
    }
  });

  it("an app's file without a language keeps MJML's lang=\"und\" and the English footer", () => {
    const rendered = withOverrides.render('welcome', { name: 'Ada', brand: BRAND }, 'fr');
    expect(rendered.html).toMatch(/<html lang="und"/);
    expect(rendered.text).toContain('Questions? Write to help@acme.test.');
  });
});
