/**
 * The folder layout is the architecture: imports run one way, from the foundations (errors) up to the
 * entry points (index, cli), no file depends on itself through a chain of imports, and a folder is
 * entered only through its index.ts, so what a folder offers the others is listed in one place.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = join(__dirname, '..', '..', 'lib');
/** Lower layers first; a folder may import its own layer and the layers below it, never one above. */
const LAYERS: string[][] = [
  ['errors', 'optional-packages'],
  ['options'],
  ['transport', 'crypto', 'redis', 'bounces'],
  ['templates', 'tokens', 'diagnostics', 'deliverability'],
  ['events'],
  ['metrics'],
  ['delivery'],
  ['queue', 'suppression', 'delivery-log'],
  ['workflow', 'bounce-mailbox'],
  ['module'],
  ['dev-inbox', 'health', 'testing', 'webhooks'],
  ['index.ts', 'cli'],
];
const MAX_LINES = 300;
/**
 * Files another folder may import directly, and which files may: kept out of their folder's index.ts
 * because loading them is costly (class-validator), so only the lazily required validations load them.
 */
const LAZY_ENTRIES: Record<string, RegExp> = { 'options/options.validator.ts': /\.options-validation\.ts$/ };
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|require\(\s*['"](\.[^'"]+)['"]\s*\)|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

function resolveImport(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  const found = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`${relative(LIB, from)} imports ${specifier}, which does not exist`);
  return found;
}

/** Relative imports of each file, type-only ones included: a type import is a dependency too. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(LIB)) {
    const imports = [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((match) => resolveImport(file, match[1] ?? match[2] ?? match[3]));
    graph.set(file, [...new Set(imports)]);
  }
  return graph;
}

const folderOf = (file: string): string => relative(LIB, file).split('/')[0];
const layerOf = (folder: string): number => LAYERS.findIndex((layer) => layer.includes(folder));
const isIndexOf = (folder: string, file: string): boolean => file === join(LIB, folder, 'index.ts');
const isLazyEntry = (importer: string, target: string): boolean => LAZY_ENTRIES[relative(LIB, target)]?.test(importer) ?? false;

/** Imports of another folder that reach past its index.ts. */
function bypassingImports(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([file, imports]) =>
    imports
      .filter((target) => folderOf(target) !== folderOf(file) && !isIndexOf(folderOf(target), target) && !isLazyEntry(file, target))
      .map((target) => `${relative(LIB, file)} → ${relative(LIB, target)}`),
  );
}

/** Every cycle found by a depth-first walk, each as the chain of files that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next].map((step) => relative(LIB, step)));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('architecture of lib/', () => {
  const graph = importGraph();

  it('every folder of lib/ has a place in the layer order', () => {
    const unplaced = [...new Set([...graph.keys()].map(folderOf))].filter((folder) => layerOf(folder) === -1);
    expect(unplaced).toEqual([]);
  });

  it('no folder imports a folder above it', () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((target) => layerOf(folderOf(target)) > layerOf(folderOf(file)))
        .map((target) => `${relative(LIB, file)} → ${relative(LIB, target)}`),
    );
    expect(upward).toEqual([]);
  });

  it('no file imports a file that imports it back, directly or through a chain', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('a file imports another folder only through its index.ts', () => {
    expect(bypassingImports(graph)).toEqual([]);
  });

  it(`no source file is over ${MAX_LINES} lines`, () => {
    const long = [...graph.keys()]
      .map((file) => [relative(LIB, file), readFileSync(file, 'utf8').trimEnd().split('\n').length] as const)
      .filter(([, lines]) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('the checks see the imports (the walk is not empty)', () => {
    expect(graph.get(join(LIB, 'index.ts'))!.length).toBeGreaterThan(5);
    expect(cycles(new Map([['a', ['b']], ['b', ['a']]]))).toEqual([['a', 'b', 'a']].map((chain) => chain.map((step) => relative(LIB, step))));
    const [queue, delivery] = [join(LIB, 'queue', 'x.ts'), join(LIB, 'delivery', 'message.composer.ts')];
    expect(bypassingImports(new Map([[queue, [delivery, join(LIB, 'delivery', 'index.ts')]]]))).toEqual(['queue/x.ts → delivery/message.composer.ts']);
    expect([...graph].some(([file, imports]) => imports.some((target) => isLazyEntry(file, target)))).toBe(true);
  });
});
