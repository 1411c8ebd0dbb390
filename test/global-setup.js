// Builds dist/ once before any suite: the packaging test packs it and worker child processes run it.
// Specs run the TypeScript sources, which read the compiled built-in templates beside them: the build's
// output is copied there, so specs and the package use the very same compiled templates.
const { copyFileSync } = require('node:fs');
const { execSync } = require('node:child_process');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const COMPILED_TEMPLATES = join('templates', 'built-in.compiled.json');

module.exports = async () => {
  execSync('npm run build --silent', { cwd: ROOT, stdio: 'inherit' });
  copyFileSync(join(ROOT, 'dist', COMPILED_TEMPLATES), join(ROOT, 'lib', COMPILED_TEMPLATES));
};
