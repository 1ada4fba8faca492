/**
 * Starts the dev stack the way `npm start` does (`node --import tsx dev/start.ts`, a child process) on ephemeral ports, waits
 * for its `READY {json}` line, and talks to it over HTTP only.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { DevStackInfo } from '../../dev/stack';
import { DEPLOYMENT_KEYS } from '../../config/keys';

const ROOT = path.join(__dirname, '..', '..');

/** A stack running in a child process. */
export interface StackProcess {
  readonly info: DevStackInfo;
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node --import tsx dev/start.ts` with every port ephemeral and its state in `dataDir`. */
export async function startStackProcess(dataDir: string, env: Record<string, string> = {}): Promise<StackProcess> {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  // Nothing of a developer's shell points the child elsewhere: every deployment key it gets is given here.
  for (const key of DEPLOYMENT_KEYS) delete childEnv[key];
  Object.assign(childEnv, {
    DEV_TEMPORAL_PORT: '0',
    DEV_TEMPORAL_UI_PORT: '0',
    DEV_SANDBOX_PORT: '0',
    API_PORT: '0',
    WORKER_METRICS_PORT: '0',
    DEV_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...env,
  });
  // Its own process group: the stack runs Temporal's dev server in a child of its own, and a signal to the group
  // reaches both, as Ctrl-C does (a SIGKILL to the stack alone would orphan the server).
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('dev', 'start.ts')], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);
  let out = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );
  const info = await new Promise<DevStackInfo>((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup('SIGKILL');
      reject(new Error(`the stack did not print READY within 120 s:\n${out}`));
    }, 120_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      const line = /^READY (\{.*\})$/m.exec(out);
      if (line?.[1]) {
        clearTimeout(timer);
        resolve(JSON.parse(line[1]) as DevStackInfo);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited with code ${String(code)} before READY:\n${out}`));
    });
  });
  return {
    info,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) {
        signalGroup('SIGKILL');
        return child.exitCode;
      }
      signalGroup(signal);
      const timer = setTimeout(() => signalGroup('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      // Nothing of the stack may outlive the test, whatever the exit path.
      signalGroup('SIGKILL');
      return code;
    },
  };
}

/** A JSON reply. */
export interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; type: string; message: string } };
  headers: Headers;
}

/** Merchant API calls with the stack's dev key. */
/** Calls the stack's API with its development key, or `key` (a merchant account's). */
export function apiClient(info: DevStackInfo, key: string = info.devApiKey ?? '') {
  return async function call(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${info.api}${urlPath}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      redirect: 'manual',
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Reply['body']) : {},
      headers: res.headers,
    } satisfies Reply;
  };
}
