/**
 * `npm run build` produces what the image runs (the Dockerfile's runtime stage copies its dist/ and nothing else): the
 * compiled entry files the Dockerfile's CMD and compose's commands name, the workflow bundle WORKFLOW_BUNDLE_PATH
 * points at, and no TypeScript. Each entry starts under plain `node` (no loader), and the committed histories replay
 * against the compiled bundle, so the image's workers can resume running payments.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { installQuietRuntime } from '../support/temporal';
import {
  compiledEntry,
  DOCKERFILE_PATH,
  ENGINE_SERVICES,
  parseDockerfile,
  readCompose,
  ROOT,
  serviceEnv,
} from './deploy-checks';

const DIST = path.join(ROOT, 'dist');
const BUNDLE = path.join(DIST, 'workflow-bundle.js');
const HISTORIES = path.join(ROOT, 'test', 'fixtures', 'histories');
/** What the processes get: no NODE_OPTIONS (so no loader can sneak in), no configuration. */
const BARE_ENV = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.relative(DIST, path.join(dir, e.name))],
  );
}

/** Runs `node <file>` from the repository root; resolves with its exit code and output once it exits or prints `until`. */
function runNode(
  file: string,
  env: Record<string, string>,
  until?: RegExp,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: ROOT, env: { ...BARE_ENV, ...env } });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (until?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  // The Node running the tests runs the build too (CI runs this suite on Node 20 and on Node 24).
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, env: { ...process.env, ...BARE_ENV } });
}, 300_000);

describe('npm run build', () => {
  it('emits the files the Dockerfile and compose run, and the workflow bundle, and no TypeScript', () => {
    const cmd = parseDockerfile(readFileSync(DOCKERFILE_PATH, 'utf8'))
      .filter((i) => i.op === 'CMD')
      .at(-1);
    const imageEntry = (JSON.parse(cmd?.args ?? '[]') as string[])[1] ?? '(none)';
    const compose = readCompose();
    const composeEntries = Object.keys(ENGINE_SERVICES).map(
      (name) => (compose.services[name]?.command as string[] | undefined)?.[1] ?? `(no command for ${name})`,
    );
    for (const file of [imageEntry, ...composeEntries, ...Object.values(ENGINE_SERVICES).map(compiledEntry)]) {
      expect(existsSync(path.join(ROOT, file)), file).toBe(true);
    }
    expect(existsSync(BUNDLE)).toBe(true);
    expect(filesUnder(DIST).filter((f) => /\.[cm]?ts$/.test(f))).toEqual([]);
  });

  it.each([
    ['api', 'dist/api/server.js'],
    ['worker', 'dist/worker/main.js'],
    ['codec server', 'dist/payload-codec/main.js'],
  ])('starts the %s under plain node, which checks its configuration (exit 78 without any)', async (_name, file) => {
    const { code, output } = await runNode(file, { LOG_LEVEL: 'info' });
    expect(output).toContain('configuration');
    expect(code).toBe(78);
  });

  it('starts the sandbox under plain node', async () => {
    const { output } = await runNode('dist/plural-sandbox/main.js', { SANDBOX_PORT: '0' }, /listening on/);
    expect(output).toMatch(/plural-sandbox listening on http:\/\//);
  });

  it('refuses a sandbox fault setting beyond its limit in one line naming it, exit 2, no stack trace', async () => {
    const { code, output } = await runNode('dist/plural-sandbox/main.js', {
      SANDBOX_PORT: '0',
      SANDBOX_FAULT_LATENCY_MS: '700000',
    });
    expect(code).toBe(2);
    expect(output).toMatch(/^plural-sandbox: bad SANDBOX_FAULT_\* environment/);
    expect(output).toContain('latencyMs');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("starts the sandbox under plain node with compose's environment (its webhooks go to the API by service name)", async () => {
    const sandbox = readCompose().services.sandbox;
    if (!sandbox) throw new Error('compose has no sandbox service');
    // Compose's own settings, on a free port of this machine's loopback.
    const env: Record<string, string> = { ...serviceEnv(sandbox), SANDBOX_PORT: '0', SANDBOX_HOST: '127.0.0.1' };
    expect(env.SANDBOX_WEBHOOK_URL).toBe('http://api:8080/v1/webhooks/plural');
    const { output } = await runNode('dist/plural-sandbox/main.js', env, /listening on|plural-sandbox: /);
    expect(output).toMatch(/plural-sandbox listening on http:\/\/.*webhooks: on/);
  });

  it('bundles workflows that replay every committed history', async () => {
    installQuietRuntime();
    const histories = readdirSync(HISTORIES)
      .filter((f) => f.endsWith('.json'))
      .map((file) => {
        const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')));
        const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || file;
        return { workflowId, history };
      });
    expect(histories.length).toBeGreaterThan(5);
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: BUNDLE }, replayName: 'compiled' },
      histories,
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
