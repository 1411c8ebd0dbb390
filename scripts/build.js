// Builds dist/: TypeScript, then the built-in templates compiled from MJML (see compile-templates.js).
// It builds into a fresh folder and swaps it in at the end, so a process reading dist/ meanwhile (a test
// worker, the sample app, a second build) sees the old build or the new one, never a half-empty folder.
'use strict';
const { execFileSync } = require('node:child_process');
const { renameSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const next = join(root, `dist.next-${process.pid}`);
const previous = join(root, `dist.previous-${process.pid}`);
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', next], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [join(__dirname, 'compile-templates.js'), next], { cwd: root, stdio: 'inherit' });
  try {
    renameSync(join(root, 'dist'), previous);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  renameSync(next, join(root, 'dist'));
} catch (error) {
  process.exitCode = 1;
  if (!error.status) console.error(error.message);
} finally {
  rmSync(next, { recursive: true, force: true });
  rmSync(previous, { recursive: true, force: true });
}
