// The built-in templates ship compiled: MJML → HTML and text happens here, at package build time, so
// apps that only use the built-ins never load mjml. The .mjml sources are copied beside the result,
// for reading and for basing an override on.
'use strict';
const { cpSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const out = process.argv[2] || join(root, 'dist');
const { precompileBuiltIns, PRECOMPILED_BUILT_INS_FILE } = require(join(out, 'templates/template.precompiled.js'));

cpSync(join(root, 'lib/templates/built-in'), join(out, 'templates/built-in'), { recursive: true });
precompileBuiltIns().then(
  (compiled) => writeFileSync(PRECOMPILED_BUILT_INS_FILE, `${JSON.stringify(compiled)}\n`),
  (error) => {
    console.error(error.message);
    process.exitCode = 1;
  },
);
