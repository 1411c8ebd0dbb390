/**
 * package.json declares exactly what lib/ imports: every bare package lib/ imports (import, import type,
 * export-from, require, dynamic import, including subpaths) is a dependency or peer dependency, and every
 * dependency is imported somewhere in lib/. Imports are read with TypeScript's own pre-processor, so
 * imports shown in comments (JSDoc examples) do not count.
 *
 * It also describes the package as npm shows and packs it: types for every subpath under node10 resolution,
 * repository links, a licence, a README whose links work on the registry's page (and, with the guides in docs/,
 * point at files and headings that exist), and a file list holding
 * only what is meant to ship (checked with `npm pack --dry-run` against the dist/ the global setup built).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix, relative } from 'node:path';
import * as ts from 'typescript';
import { entryPointsOf, PackageManifest, unintendedFiles } from './package-contents';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');

/** Module specifiers a TypeScript source imports, in the order they appear. */
function specifiersIn(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((file) => file.fileName);
}

/** The npm package a specifier names, or undefined for relative paths, Node builtins and `#` subpath imports. */
function packageOf(specifier: string): string | undefined {
  if (/^[./#]/.test(specifier) || specifier.startsWith('node:') || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Package name → the lib/ files (relative to the repo root) importing it. */
function packagesImportedByLib(): Map<string, string[]> {
  const importers = new Map<string, string[]>();
  for (const file of tsFilesUnder(LIB)) {
    for (const specifier of specifiersIn(readFileSync(file, 'utf8'))) {
      const name = packageOf(specifier);
      if (!name) continue;
      const files = importers.get(name) ?? [];
      const where = relative(ROOT, file).split('\\').join('/');
      if (!files.includes(where)) files.push(where);
      importers.set(name, files);
    }
  }
  return importers;
}

describe('the import scanner', () => {
  it('finds every form of import, maps subpaths to packages and skips relative paths, builtins and comments', () => {
    const source = [
      "/** @example import { X } from 'from-a-comment' */",
      "// const y = require('from-a-line-comment');",
      "import type Mail from 'nodemailer/lib/mailer';",
      'import {',
      '  a,',
      "} from '@scope/pkg/sub/path';",
      "export * from 'reexported';",
      "export { b } from './relative';",
      "import 'side-effect';",
      "const c = require('required');",
      "const d = import('dynamic');",
      "import { readFile } from 'node:fs/promises';",
      "import { join } from 'path';",
      "type T = import('type-only').T;",
    ].join('\n');
    const packages = [...new Set(specifiersIn(source).map(packageOf).filter((name) => name !== undefined))];
    expect(packages).toEqual(['nodemailer', '@scope/pkg', 'reexported', 'side-effect', 'required', 'dynamic', 'type-only']);
  });
});

describe('package.json', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageManifest;
  const dependencies = Object.keys(manifest.dependencies ?? {});
  const declared = new Set([...dependencies, ...Object.keys(manifest.peerDependencies ?? {})]);
  const imported = packagesImportedByLib();

  it('the scan of lib/ sees its imports (a guard against an empty scan passing vacuously)', () => {
    expect(tsFilesUnder(LIB)).toContain(join(LIB, 'index.ts'));
    expect([...imported.keys()]).toEqual(expect.arrayContaining(['@nestjs/common', 'nodemailer']));
  });

  it('declares every package lib/ imports in dependencies or peerDependencies', () => {
    const undeclared = [...imported]
      .filter(([name]) => !declared.has(name))
      .map(([name, files]) => `${name} (imported by ${files.join(', ')})`)
      .sort();
    expect(undeclared).toEqual([]);
  });

  it('has no dependency that lib/ does not import', () => {
    const unused = dependencies.filter((name) => !imported.has(name)).sort();
    expect(unused).toEqual([]);
  });

  it('does not list a package in both dependencies and peerDependencies', () => {
    const both = dependencies.filter((name) => name in (manifest.peerDependencies ?? {}));
    expect(both).toEqual([]);
  });

  it('agrees with package-lock.json, so npm ci installs what package.json says', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const root = lock.packages[''];
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'peerDependenciesMeta', 'engines', 'bin'] as const) {
      expect({ field, value: root[field] ?? {} }).toEqual({ field, value: (manifest as unknown as Record<string, unknown>)[field] ?? {} });
    }
    const unlocked = [...dependencies, ...Object.keys((manifest as { devDependencies?: object }).devDependencies ?? {})].filter(
      (name) => !lock.packages[`node_modules/${name}`],
    );
    expect(unlocked).toEqual([]);
  });
});

describe('package.json as the registry shows it', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageManifest;
  const entryPoints = entryPointsOf(manifest);

  it('gives every entry point in "exports" its declarations', () => {
    expect(entryPoints.map((entry) => entry.subpath)).toEqual(expect.arrayContaining(['.', './health']));
    expect(entryPoints.filter((entry) => !entry.types)).toEqual([]);
    // node10 resolution ignores "exports" and reads the top-level "types" for the main entry.
    expect(`./${manifest.types}`).toBe(entryPoints.find((entry) => entry.subpath === '.')?.types);
  });

  it('maps every subpath to its declarations in "typesVersions", which node10 resolution reads instead of "exports"', () => {
    const subpaths = entryPoints.filter((entry) => entry.subpath !== '.');
    const expected = Object.fromEntries(subpaths.map((entry) => [entry.subpath.slice(2), [entry.types?.slice(2)]]));
    expect(manifest.typesVersions).toEqual({ '*': expected });
  });

  it('links its page to the repository, the issue tracker and the README', () => {
    const repository = manifest.repository?.url.match(/^git\+(https:\/\/github\.com\/[\w.-]+\/[\w.-]+)\.git$/)?.[1];
    expect(manifest.repository?.type).toBe('git');
    expect(repository).toBeDefined();
    expect(manifest.homepage).toBe(`${repository}#readme`);
    expect(manifest.bugs).toEqual({ url: `${repository}/issues` });
  });

  it('has distinct, lower-case search keywords, nestjs among them', () => {
    const keywords = manifest.keywords ?? [];
    expect(keywords).toContain('nestjs');
    expect(new Set(keywords).size).toBe(keywords.length);
    expect(keywords.filter((keyword) => !/^[a-z0-9-]+$/.test(keyword))).toEqual([]);
  });

  it('is MIT licensed, with the licence text in LICENSE', () => {
    expect(manifest.license).toBe('MIT');
    const licence = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(licence.split('\n')[0]).toBe('MIT License');
    expect(licence).toMatch(/^Copyright \(c\) \d{4} \S.*$/m);
    expect(licence).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });
});

/** Markdown without its fenced code blocks, where a `](` or `src=` is an example rather than a link. */
function withoutFencedCode(markdown: string): string {
  return markdown.replace(/^ {0,3}(```|~~~)[^\n]*\n[\s\S]*?^ {0,3}\1[^\n]*$/gm, '');
}

/** Link and image targets: inline `[text](target)` and `![alt](target)`, reference definitions, HTML src and href. */
function linkTargetsIn(markdown: string): string[] {
  const prose = withoutFencedCode(markdown).replace(/`[^`\n]+`/g, '');
  return [
    ...[...prose.matchAll(/\]\(\s*<?([^\s)>]+)/g)].map((match) => match[1]),
    ...[...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)/gm)].map((match) => match[1]),
    ...[...prose.matchAll(/\s(?:src|href)\s*=\s*["']([^"']*)["']/g)].map((match) => match[1]),
  ];
}

/** The anchors GitHub and the npm page give the headings: lower case, punctuation dropped, spaces as hyphens. */
function headingAnchorsIn(markdown: string): string[] {
  return [...withoutFencedCode(markdown).matchAll(/^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/gm)].map(
    (match) => `#${match[1].toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-')}`,
  );
}

describe('the Markdown link scanner', () => {
  it('finds inline links, images, reference definitions and HTML attributes outside code, and heading anchors', () => {
    const markdown = [
      '# Quick start: `forRoot()`',
      'See [the options](#options) and ![a logo](docs/logo.png "Logo").',
      '<img src="docs/emails/welcome.png" width="300"> <a href=\'https://example.com/a\'>a</a>',
      '[ref]: https://example.com/ref',
      'Inline code `[not](a-link)` is skipped,',
      '```html',
      '<img src="in-a-fence.png">',
      '```',
      '## Options & more',
    ].join('\n');
    expect(linkTargetsIn(markdown)).toEqual(['#options', 'docs/logo.png', 'https://example.com/ref', 'docs/emails/welcome.png', 'https://example.com/a']);
    expect(headingAnchorsIn(markdown)).toEqual(['#quick-start-forroot', '#options--more']);
  });
});

const REPOSITORY_SLUG = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageManifest).repository?.url.replace(
  /^git\+https:\/\/github\.com\/(.+)\.git$/,
  '$1',
);
/** URL prefixes that name a file of this repository on GitHub, as the README must (npm's page breaks relative paths). */
const REPOSITORY_FILES = [`https://github.com/${REPOSITORY_SLUG}/blob/main/`, `https://raw.githubusercontent.com/${REPOSITORY_SLUG}/main/`];

/**
 * A link target written in `from` (a repository path) as the repository file and anchor it points at, or
 * undefined for a link out of the repository (another site, mailto:). `..` above the root is kept, so it fails.
 */
function resolveLink(from: string, target: string): { file: string; anchor?: string } | undefined {
  const prefix = REPOSITORY_FILES.find((files) => target.startsWith(files));
  let path: string;
  if (prefix) path = target.slice(prefix.length);
  else if (/^[a-z][a-z\d+.-]*:|^\/\//i.test(target)) return undefined;
  else path = target;
  const hash = path.indexOf('#');
  const file = decodeURIComponent(hash < 0 ? path : path.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(path.slice(hash + 1));
  const resolved = file === '' ? from : prefix ? posix.normalize(file) : posix.join(posix.dirname(from), file);
  return { file: resolved, anchor };
}

/** Every link of a Markdown file that points at a missing file, a missing heading, or out of the repository. */
function brokenLinksIn(from: string): string[] {
  return linkTargetsIn(readFileSync(join(ROOT, from), 'utf8')).flatMap((target) => {
    const link = resolveLink(from, target);
    if (!link) return [];
    if (link.file.startsWith('../') || !existsSync(join(ROOT, link.file))) return [`${from}: ${target} (no file ${link.file})`];
    if (link.anchor === undefined) return [];
    const anchors = link.file.endsWith('.md') ? headingAnchorsIn(readFileSync(join(ROOT, link.file), 'utf8')) : [];
    return anchors.includes(`#${link.anchor}`) ? [] : [`${from}: ${target} (no heading #${link.anchor} in ${link.file})`];
  });
}

const GUIDES = readdirSync(join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`)
  .sort();

describe('the link resolver', () => {
  it('maps relative paths, anchors and the repository URLs to repository files, and leaves other sites alone', () => {
    expect(resolveLink('docs/a.md', 'b.md#x-y')).toEqual({ file: 'docs/b.md', anchor: 'x-y' });
    expect(resolveLink('docs/a.md', '#here')).toEqual({ file: 'docs/a.md', anchor: 'here' });
    expect(resolveLink('docs/a.md', 'emails/w%20x.png')).toEqual({ file: 'docs/emails/w x.png', anchor: undefined });
    expect(resolveLink('docs/a.md', '../../outside.md')).toEqual({ file: '../outside.md', anchor: undefined });
    expect(resolveLink('README.md', `${REPOSITORY_FILES[0]}docs/b.md#z`)).toEqual({ file: 'docs/b.md', anchor: 'z' });
    expect(resolveLink('README.md', `${REPOSITORY_FILES[1]}docs/emails/w.png`)).toEqual({ file: 'docs/emails/w.png', anchor: undefined });
    expect(resolveLink('README.md', 'https://nodejs.org/api/#x')).toBeUndefined();
    expect(resolveLink('docs/a.md', 'mailto:support@acme.com')).toBeUndefined();
  });
});

describe('README.md', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const targets = linkTargetsIn(readme);

  it('links only to absolute https URLs or to its own headings, since relative paths break on the npm page', () => {
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((target) => !target.startsWith('https://') && !target.startsWith('#'))).toEqual([]);
  });

  it('links to headings, files of the repository and their headings that exist', () => {
    expect(targets.filter((target) => REPOSITORY_FILES.some((files) => target.startsWith(files))).length).toBeGreaterThan(0);
    expect(brokenLinksIn('README.md')).toEqual([]);
  });

  it('links every guide in docs/ (its table of contents)', () => {
    expect(GUIDES.length).toBeGreaterThan(0);
    const linked = new Set(targets.map((target) => resolveLink('README.md', target)?.file));
    expect(GUIDES.filter((guide) => !linked.has(guide))).toEqual([]);
  });
});

describe('the guides in docs/', () => {
  it.each(GUIDES)('%s links to files, images and headings that exist', (guide) => {
    expect(brokenLinksIn(guide)).toEqual([]);
  });

  it.each(GUIDES)('%s names files of the repository by relative path, so they work on every branch and clone', (guide) => {
    const targets = linkTargetsIn(readFileSync(join(ROOT, guide), 'utf8'));
    expect(targets.filter((target) => REPOSITORY_FILES.some((files) => target.startsWith(files)))).toEqual([]);
  });

  it('show the gallery images from docs/emails/', () => {
    const images = linkTargetsIn(readFileSync(join(ROOT, 'docs', 'gallery.md'), 'utf8')).filter((target) => target.endsWith('.png'));
    expect(images.length).toBeGreaterThan(0);
    expect(images.filter((image) => !image.startsWith('emails/'))).toEqual([]);
  });
});

describe('the shipped-file rule', () => {
  it('admits compiled code, declarations, template assets, package.json, README.md and LICENSE only', () => {
    const shipped = [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/health/index.js',
      'dist/templates/built-in.compiled.json',
      'dist/templates/built-in/welcome.mjml',
    ];
    const unintended = [
      'lib/index.ts',
      'test/package/package.spec.ts',
      '.ci/run',
      'bench/render.bench.js',
      'sample-app/src/main.ts',
      'docs/emails/welcome-600.png',
      'dist/index.js.map',
      'dist/index.d.ts.map',
      'dist/workflow/email-workflow.service.spec.js',
      'dist/tsconfig.build.tsbuildinfo',
      'dist/templates/built-in/welcome.png',
      'CPU.20261201.212946.6304.0.001.cpuprofile',
    ];
    expect(unintendedFiles([...shipped, ...unintended])).toEqual(unintended);
  });
});

describe('npm pack --dry-run', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageManifest;
  let paths: string[];

  beforeAll(() => {
    const stdout = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, npm_config_update_notifier: 'false' },
      // npm is a .cmd shim on Windows, which execFile can only start through a shell.
      shell: process.platform === 'win32',
    });
    const [pack] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ files: Array<{ path: string }> }>;
    paths = pack.files.map((file) => file.path.split('\\').join('/'));
  });

  it('packs the entry points, their declarations, the README and the licence', () => {
    const declared = [manifest.main, manifest.types, ...entryPointsOf(manifest).map((entry) => entry.types)];
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
    const typesVersions = Object.values(manifest.typesVersions?.['*'] ?? {}).flat();
    const required = [...declared, ...targets, ...typesVersions].map((path) => path?.replace(/^\.\//, ''));
    expect(required).toEqual(expect.arrayContaining(['dist/index.js', 'dist/health/index.d.ts']));
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'LICENSE', ...required]));
  });

  it('packs nothing but what is meant to ship', () => {
    expect(unintendedFiles(paths)).toEqual([]);
  });

  it('ships no source maps, and no compiled file points at one', () => {
    // dist/ holds no lib/*.ts sources, so a map would only point tools (vitest, webpack's source-map-loader) at
    // files that are not there and earn the app a warning per module.
    const compiled = paths.filter((path) => path.endsWith('.js') || path.endsWith('.d.ts'));
    expect(compiled.length).toBeGreaterThan(0);
    expect(compiled.filter((path) => /^\/[/*]# sourceMappingURL=/m.test(readFileSync(join(ROOT, path), 'utf8')))).toEqual([]);
  });
});
