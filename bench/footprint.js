// Footprint and boot cost, as a new user meets them: what the packed tarball adds to a bare NestJS 12
// app (packages; MB as `du` of node_modules grows, bare app vs with the tarball, the added files' own
// sizes printed beside it; EBADENGINE warnings), and how long a cold `require('nestjs-email-workflow')`
// and a boot take in fresh processes (median of 7), with the in-process queue and with a Redis queue.
// Run with `npm run bench:footprint` (needs the npm registry or a warm npm cache; Redis for the queue figures).
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const RUNS = 7;
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const TARGETS = { packages: 60, megabytes: 30, requireMs: 150 };

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
}

/** Every installed package folder under node_modules (scoped and nested), with its size on disk. */
function installedPackages(dir) {
  const found = new Map();
  const sizeOf = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat || stat.isSymbolicLink()) return 0;
    if (!stat.isDirectory()) return stat.size;
    return readdirSync(path).reduce((sum, entry) => sum + (entry === 'node_modules' ? 0 : sizeOf(join(path, entry))), 0);
  };
  const walk = (modules) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((child) => `${entry}/${child}`) : [entry];
      for (const name of names) {
        const path = join(modules, name);
        if (!existsSync(join(path, 'package.json'))) continue;
        found.set(path, sizeOf(path));
        walk(join(path, 'node_modules'));
      }
    }
  };
  walk(join(dir, 'node_modules'));
  return found;
}

/** Disk usage of a folder as `du -sk` reports it (blocks allocated, not file lengths), in bytes. */
function diskUsage(dir) {
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split(/\s/)[0]) * 1024;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Milliseconds, measured inside a fresh `node` process by the script given, median of RUNS. */
function timeInFreshProcesses(cwd, script) {
  const figures = [];
  for (let run = 0; run < RUNS; run++) {
    figures.push(Number(execFileSync(process.execPath, ['-e', script], { cwd, encoding: 'utf8' }).trim().split('\n').pop()));
  }
  return median(figures);
}

const REQUIRE_SCRIPT = `
require('reflect-metadata'); require('@nestjs/common'); require('@nestjs/core');
const started = process.hrtime.bigint();
require('nestjs-email-workflow');
console.log(Number(process.hrtime.bigint() - started) / 1e6);`;

const bootScript = (queue) => `
require('reflect-metadata'); require('@nestjs/common'); const { NestFactory } = require('@nestjs/core');
const started = process.hrtime.bigint();
const { EmailWorkflowModule } = require('nestjs-email-workflow');
NestFactory.createApplicationContext(EmailWorkflowModule.forRoot({
  transport: 'smtp://127.0.0.1:2525', from: 'Acme <no-reply@acme.test>', brand: { name: 'Acme' },
  links: { verifyEmail: 'https://acme.test/v?token={token}', resetPassword: 'https://acme.test/r?token={token}' },
  queue: ${JSON.stringify(queue)}, secret: 'footprint-secret-of-at-least-32-bytes-000',
}), { logger: false }).then(async (app) => {
  const ready = process.hrtime.bigint();
  await app.close();
  console.log(Number(ready - started) / 1e6);
});`;

function main() {
  const work = mkdtempSync(join(tmpdir(), 'email-workflow-footprint-'));
  try {
    console.log('Packing the library…');
    npm(['run', 'build', '--silent'], ROOT);
    const [{ filename }] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], ROOT));
    const app = join(work, 'app');
    execFileSync('mkdir', [app]);
    const manifest = { name: 'bare-nest12', version: '0.0.0', private: true, dependencies: { '@nestjs/common': '^12', '@nestjs/core': '^12', 'reflect-metadata': '^0.2.2', rxjs: '^7.8.2' } };
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest));
    console.log('Installing a bare NestJS 12 app…');
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], app);
    const bare = installedPackages(app);
    const bareDu = diskUsage(join(app, 'node_modules'));
    console.log('Installing the tarball into it…');
    const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, filename)], { cwd: app, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${install.stderr}`);
    const withLibrary = installedPackages(app);
    const withLibraryDu = diskUsage(join(app, 'node_modules'));
    const added = [...withLibrary].filter(([path]) => !bare.has(path));
    // npm warns about the whole tree on every install; only packages the library brought in count here.
    const addedNames = new Set(added.map(([path]) => path.split('node_modules/').pop()));
    const engineWarnings = `${install.stdout}\n${install.stderr}`
      .split('\n')
      .filter((line) => line.includes('EBADENGINE') && line.includes('package:'))
      .filter((line) => addedNames.has(/package: '(.+)@[^@]+'/.exec(line)?.[1]));
    const addedMb = (withLibraryDu - bareDu) / 1e6;
    const addedApparentMb = added.reduce((sum, [, size]) => sum + size, 0) / 1e6;
    const biggest = added.sort((a, b) => b[1] - a[1]).slice(0, 8).map(([path, size]) => `${path.split('node_modules/').pop()} ${(size / 1e6).toFixed(1)} MB`);

    console.log(`\nNode ${process.version}`);
    console.log(`added packages        ${added.length}  (target ≤ ${TARGETS.packages})`);
    console.log(`bare app node_modules ${bare.size} packages, ${(bareDu / 1e6).toFixed(1)} MB (du)`);
    console.log(`with the tarball      ${withLibrary.size} packages, ${(withLibraryDu / 1e6).toFixed(1)} MB (du)`);
    console.log(`added size            ${addedMb.toFixed(1)} MB du of node_modules, ${addedApparentMb.toFixed(1)} MB of file contents  (target ≤ ${TARGETS.megabytes} MB)`);
    console.log(`EBADENGINE warnings   ${engineWarnings.length}  (target 0)${engineWarnings.map((line) => `\n  ${line.trim()}`).join('')}`);
    console.log(`largest added         ${biggest.join(', ')}`);
    console.log(`require, cold         ${timeInFreshProcesses(app, REQUIRE_SCRIPT).toFixed(0)} ms median of ${RUNS}  (target ≤ ${TARGETS.requireMs} ms)`);
    console.log(`require + boot, in-process queue  ${timeInFreshProcesses(app, bootScript(false)).toFixed(0)} ms median of ${RUNS}`);
    const withBull = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', 'bull@^4.16.5'], { cwd: app, encoding: 'utf8' });
    if (withBull.status !== 0) throw new Error(`npm install bull failed:\n${withBull.stderr}`);
    const bullAdded = [...installedPackages(app)].filter(([path]) => !withLibrary.has(path));
    console.log(`+ bull for queue.redis ${bullAdded.length} packages, ${((diskUsage(join(app, 'node_modules')) - withLibraryDu) / 1e6).toFixed(1)} MB du`);
    console.log(`require + boot, Redis queue       ${timeInFreshProcesses(app, bootScript({ redis: REDIS_URL, prefix: `footprint-${process.pid}`, worker: false })).toFixed(0)} ms median of ${RUNS}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
