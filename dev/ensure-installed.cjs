#!/usr/bin/env node
// Runs before `npm start` and `npm test` so that each works as the first command on a fresh clone: installs the
// locked dependencies with `npm ci` when node_modules is missing or older than package-lock.json, then the official
// Temporal binaries (temporal-server/install.cjs, instant when present). Plain CommonJS with no dependencies, because
// it runs before any are installed.
'use strict';
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

const upToDate = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
if (!upToDate) {
  console.error('node_modules is missing or older than package-lock.json: running npm ci');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-fund', '--no-audit'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
const tools = spawnSync(process.execPath, [join(root, 'temporal-server', 'install.cjs')], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(tools.status ?? 1);
