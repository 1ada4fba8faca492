import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findTemporalBinary,
  PROJECT_BIN_DIR,
  sdkExecutable,
  TEMPORAL_BINARIES,
  TemporalBinaryError,
} from '../../temporal-server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeExecutable(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, 0o755);
  return file;
}

describe('finding the official Temporal binaries', () => {
  it('pins in binaries.ts the same versions requirements.txt installs', () => {
    const requirements = readFileSync(path.join(__dirname, '..', '..', 'temporal-server', 'requirements.txt'), 'utf8');
    for (const b of Object.values(TEMPORAL_BINARIES)) {
      expect(requirements).toContain(`${b.pipPackage}==${b.version} \\`);
    }
  });

  it('takes the explicit setting first', () => {
    const cli = fakeExecutable('my-temporal');
    expect(findTemporalBinary('cli', { TEMPORAL_CLI_PATH: cli, PATH: '' })).toEqual({ path: cli, source: 'setting' });
  });

  it('refuses a setting that is not an executable file, naming the setting and what to install', () => {
    const notExecutable = path.join(dir, 'plain-file');
    writeFileSync(notExecutable, 'x');
    const call = () => findTemporalBinary('testServer', { TEMPORAL_TEST_SERVER_PATH: notExecutable });
    expect(call).toThrow(TemporalBinaryError);
    expect(call).toThrow(
      /TEMPORAL_TEST_SERVER_PATH=.*plain-file is not an executable file; run `node temporal-server\/install.cjs`/,
    );
  });

  it('then the project folder, which the install script fills', () => {
    // npm test runs the install script first, so the project folder holds both binaries here.
    expect(findTemporalBinary('cli', { PATH: '' })).toEqual({
      path: path.join(PROJECT_BIN_DIR, 'temporal'),
      source: 'project',
    });
  });

  it('then PATH, and the SDK download only when nothing is found', () => {
    const emptyProject = mkdtempSync(path.join(dir, 'project-'));
    const onPath = fakeExecutable('temporal-test-server');
    const env = { PATH: [path.join(dir, 'missing'), dir].join(path.delimiter) };
    expect(findTemporalBinary('testServer', env, emptyProject)).toEqual({ path: onPath, source: 'path' });
    expect(findTemporalBinary('cli', env, emptyProject)).toBeUndefined();
    expect(sdkExecutable('cli', env, emptyProject)).toEqual({ type: 'cached-download' });
    expect(sdkExecutable('testServer', env, emptyProject)).toEqual({ type: 'existing-path', path: onPath });
  });
});

describe('temporal-server/install.cjs --version', () => {
  it('names the binaries given by path on a checkout where nothing was installed (no .tools), and exits 0', () => {
    // A copy of the script in a checkout of its own, whose .tools/temporal does not exist.
    const root = path.join(dir, 'checkout');
    mkdirSync(path.join(root, 'temporal-server'), { recursive: true });
    for (const file of ['install.cjs', 'requirements.txt']) {
      copyFileSync(path.join(__dirname, '..', '..', 'temporal-server', file), path.join(root, 'temporal-server', file));
    }
    const cli = fakeExecutable('temporal');
    const testServer = fakeExecutable('temporal-test-server');
    const run = spawnSync(process.execPath, [path.join(root, 'temporal-server', 'install.cjs'), '--version'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, TEMPORAL_CLI_PATH: cli, TEMPORAL_TEST_SERVER_PATH: testServer },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`temporal-test-server (version unknown) (${testServer})`);
  });
});
