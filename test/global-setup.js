// Builds dist/ once before any suite: the packaging test packs it and worker child processes run it.
const { execSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  execSync('npm run build --silent', { cwd: join(__dirname, '..'), stdio: 'inherit' });
};
