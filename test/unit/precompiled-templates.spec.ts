/**
 * The built-ins ship compiled at package build time with a stand-in for the brand colour. Whatever the
 * app's brand, they must render exactly as compiling their MJML at boot would.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileTemplate } from '../../lib/templates/template.compiler';
import { BUILT_IN_TEMPLATES_DIR, loadBuiltIns } from '../../lib/templates/template.precompiled';
import { parseTemplateFileName, parseTemplateSource } from '../../lib/templates/template.source';
import { sampleContextFor, toLongHexColour, TemplateRegistry } from '../../lib/templates';

const ROOT = join(__dirname, '..', '..');
const BRAND_COLOURS = ['#2563eb', '#FF00AA', '#0f0', '#000000', '#fefefe', '#0a1b2c'];
const BUILT_IN_FILES = readdirSync(BUILT_IN_TEMPLATES_DIR).filter((file) => file.endsWith('.mjml'));
// The colour and the logo change the layout, which is the same in every language: each colour is tried
// on the locale-neutral files, and each translation with the default colour (45 files × 12 brands
// would add minutes to the suite and find nothing more).
const NEUTRAL_FILES = BUILT_IN_FILES.filter((file) => parseTemplateFileName(file)?.locale === '');
const TRANSLATED_FILES = BUILT_IN_FILES.filter((file) => !NEUTRAL_FILES.includes(file));

function fileNameOf(template: { name: string; locale: string }): string {
  return template.locale ? `${template.name}.${template.locale}.mjml` : `${template.name}.mjml`;
}

function compileFromMjml(fileName: string, primaryColor: string, hasLogo: boolean) {
  const file = join(BUILT_IN_TEMPLATES_DIR, fileName);
  const parsed = parseTemplateSource(file, readFileSync(file, 'utf8'));
  if (typeof parsed === 'string') throw new Error(parsed);
  return compileTemplate({ ...parseTemplateFileName(file)!, ...parsed }, { primaryColor, hasLogo });
}

describe('precompiled built-in templates', () => {
  it('cover every built-in .mjml file', () => {
    const names = loadBuiltIns({ primaryColor: '#2563eb', hasLogo: false }).map(fileNameOf);
    expect(names.sort()).toEqual([...BUILT_IN_FILES].sort());
  });

  describe.each(BRAND_COLOURS.flatMap((colour) => [true, false].map((hasLogo) => [colour, hasLogo] as const)))(
    'brand colour %s, logo %s',
    (colour, hasLogo) => {
      const primaryColor = toLongHexColour(colour);
      const brand = { name: 'Acme', primaryColor, supportEmail: 'help@acme.test', ...(hasLogo ? { logoUrl: 'https://acme.test/logo.png' } : {}) };

      it.each(colour === BRAND_COLOURS[0] ? BUILT_IN_FILES : NEUTRAL_FILES)('%s renders exactly as compiling its MJML at boot', async (fileName) => {
        const precompiled = loadBuiltIns({ primaryColor, hasLogo }).find((template) => fileNameOf(template) === fileName)!;
        const fromMjml = await compileFromMjml(fileName, primaryColor, hasLogo);
        const context = sampleContextFor(fromMjml, brand);

        const rendered = precompiled.render(context);
        expect(rendered).toEqual(fromMjml.render(context));
        expect(precompiled.requiredVariables).toEqual(fromMjml.requiredVariables);
        expect(rendered.html).toContain(primaryColor);
        // The stand-in colour of the build is gone, unless it happens to be the brand's own.
        if (primaryColor !== '#0a1b2c') expect(rendered.html).not.toContain('#0a1b2c');
      });
    },
  );

  it('a registry without templates.dir serves the precompiled built-ins', async () => {
    const registry = await TemplateRegistry.load({ defaultLocale: 'en', layout: { primaryColor: '#ff00aa', hasLogo: false } });
    expect(registry.names()).toEqual(NEUTRAL_FILES.map((file) => file.replace('.mjml', '')).sort());
    expect(TRANSLATED_FILES.length).toBe(NEUTRAL_FILES.length * 4);
    expect(registry.render('welcome', { name: 'Ada', link: 'https://acme.test', brand: { name: 'Acme' } }).html).toContain('#ff00aa');
  });

  /** Which optional packages a fresh process of the built library has loaded after booting with `options`. */
  function packagesLoadedAfterBoot(options: object): string[] {
    const script = `
      require('reflect-metadata');
      const { NestFactory } = require('@nestjs/core');
      const { EmailWorkflowModule } = require('./dist');
      NestFactory.createApplicationContext(EmailWorkflowModule.forRoot(${JSON.stringify(options)}), { logger: false })
        .then((app) => app.close())
        .then(() => {
          const loaded = ['mjml', 'html-to-text', 'bull', 'ioredis', '@nestjs/bull'].filter((name) =>
            Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/')));
          console.log(JSON.stringify(loaded));
        });`;
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 }).trim().split('\n').pop()!);
  }

  const baseOptions = {
    transport: 'smtp://127.0.0.1:2525',
    from: 'Acme <no-reply@acme.test>',
    brand: { name: 'Acme' },
    links: { verifyEmail: 'https://acme.test/v?token={token}', resetPassword: 'https://acme.test/r?token={token}' },
  };

  it('booting with the built-ins and the in-process queue loads neither mjml nor html-to-text nor Bull', () => {
    expect(packagesLoadedAfterBoot(baseOptions)).toEqual([]);
  });

  it('templates.dir loads mjml (and only then)', () => {
    expect(packagesLoadedAfterBoot({ ...baseOptions, templates: { dir: join(ROOT, 'test', 'fixtures', 'templates', 'overrides') } })).toEqual(
      expect.arrayContaining(['mjml', 'html-to-text']),
    );
  });
});
