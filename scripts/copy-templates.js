// The built-in .mjml templates are data, not TypeScript: tsc does not emit them, so the build copies them.
const { cpSync } = require('node:fs');
const { join } = require('node:path');
const root = join(__dirname, '..');
cpSync(join(root, 'lib/templates/built-in'), join(root, 'dist/templates/built-in'), { recursive: true });
