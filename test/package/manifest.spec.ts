/**
 * package.json declares exactly what lib/ imports: every bare package lib/ imports (import, import type,
 * export-from, require, dynamic import, including subpaths) is a dependency or peer dependency, and every
 * dependency is imported somewhere in lib/. Imports are read with TypeScript's own pre-processor, so
 * imports shown in comments (JSDoc examples) do not count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');

interface Manifest {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

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
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
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
});
