/**
 * A consumer type-checks our declaration files with `skipLibCheck: false`. A declaration reachable from
 * a public entry that imports an optional peer would break every app that does not install that peer,
 * so the optional peers may only appear behind the entry that needs them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types?: string }>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const OPTIONAL_PEERS = Object.keys(manifest.peerDependenciesMeta).filter((name) => manifest.peerDependenciesMeta[name].optional);
/** The optional peers an entry exists for: importing it means having them. */
const ENTRY_PEERS: Record<string, string[]> = { './health': ['@nestjs/terminus'], './testing': [], './dev-inbox': ['smtp-server', 'mailparser'], './webhooks': [] };
const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every bare package imported by the declaration files reachable from `entry`, with the file importing it. */
function packagesReachableFrom(entry: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (specifier.startsWith('.')) {
        const base = resolve(dirname(file), specifier.replace(/\.js$/, ''));
        const next = [`${base}.d.ts`, join(base, 'index.d.ts')].find((candidate) => existsSync(candidate));
        if (!next) throw new Error(`${file} imports ${specifier}, which has no declaration file`);
        visit(next);
      } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        found.set(packageOf(specifier), file.slice(ROOT.length + 1));
      }
    }
  };
  visit(join(ROOT, entry));
  return found;
}

const entries = Object.entries(manifest.exports)
  .filter(([subpath]) => subpath !== './package.json')
  .map(([subpath, target]) => [subpath, typeof target === 'string' ? target : target.types!] as const);

describe('declaration files of each public entry', () => {
  it.each(entries)('%s imports no optional peer it does not exist for, and only declared packages', (subpath, types) => {
    const reachable = packagesReachableFrom(types);
    const allowed = ENTRY_PEERS[subpath] ?? [];
    const offending = [...reachable].filter(([name]) => OPTIONAL_PEERS.includes(name) && !allowed.includes(name));
    expect(offending).toEqual([]);
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
    const undeclared = [...reachable].filter(([name]) => !declared.has(name) && !name.startsWith('@types/'));
    expect(undeclared).toEqual([]);
  });

  // nodemailer's declarations default-import Node built-ins: reached from ours, they fail to compile in a CommonJS
  // app without esModuleInterop or allowSyntheticDefaultImports (the package spec compiles one such app).
  it.each(entries)('%s reaches none of nodemailer\'s declarations', (_subpath, types) => {
    expect(packagesReachableFrom(types).get('nodemailer')).toBeUndefined();
  });

  it('the main entry reaches the declarations it is made of (the walk is not empty)', () => {
    const reachable = packagesReachableFrom(entries.find(([subpath]) => subpath === '.')![1]);
    expect(reachable.has('@nestjs/common')).toBe(true);
  });
});
