/** What the published package is meant to hold, shared by the manifest spec and the packaging spec. */

/** The parts of package.json these specs read. */
export interface PackageManifest {
  name: string;
  main: string;
  types: string;
  license?: string;
  exports: Record<string, string | Record<string, string>>;
  typesVersions?: Record<string, Record<string, string[]>>;
  repository?: { type: string; url: string };
  homepage?: string;
  bugs?: { url: string };
  keywords?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** One code entry point from "exports": `.` or a subpath such as `./health`. */
export interface EntryPoint {
  /** The key in "exports", e.g. `./health`. */
  subpath: string;
  /** What an app imports, e.g. `nestjs-email-workflow/health`. */
  specifier: string;
  /** The `types` condition, e.g. `./dist/health/index.d.ts`; undefined when the entry has none. */
  types?: string;
}

/** Every entry point of the "exports" map except `./package.json`, which is data rather than code. */
export function entryPointsOf(manifest: PackageManifest): EntryPoint[] {
  return Object.entries(manifest.exports)
    .filter(([subpath]) => subpath !== './package.json')
    .map(([subpath, target]) => ({
      subpath,
      specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`,
      types: typeof target === 'string' ? undefined : target.types,
    }));
}

/**
 * The tarball ships compiled code, its declarations, the built-in template assets and the files npm always
 * takes (package.json, README, LICENSE). No sources, tests, source maps, build info or tooling.
 */
const SHIPPED_FILE = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^dist\/(?!.*\.(spec|test)\.)[\w./-]+\.(js|d\.ts)$/,
  /^dist\/templates\/[\w./-]+\.(json|mjml)$/,
];

/** Packed paths (forward slashes, relative to the package root) that the package is not meant to ship. */
export function unintendedFiles(paths: string[]): string[] {
  return paths.filter((path) => !SHIPPED_FILE.some((pattern) => pattern.test(path)));
}
