/**
 * The resilience suite's stack: the official Temporal dev server (a child process on its own SQLite file, so it can be
 * SIGKILLed and started again on the same file and port), the Plural sandbox and the API in the test process (so the
 * test reads the sandbox's own record and drives its faults), and the payment worker in a CHILD process
 * (`worker/main.ts` with its real configuration), so it can be SIGKILLed mid-flight and started again.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createApp, createTemporalEngine } from '../../api';
import type { ApiTimings } from '../../api';
import { createCardVaultRouter, listenCardVault } from '../../card-vault';
import type { RunningDevServer } from '../../temporal-server';
import { createLogger } from '../../observability';
import { startOwnDevServer } from '../support/temporal';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox, SandboxOptions } from '../../plural-sandbox';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createDataConverter, FAILURE_CONVERTER_PATH } from '../../payload-codec';
import { defaultWorkflowsPath, workflowInterceptorModules } from '../../worker/worker';
import type { PaymentDurations, PaymentLimits } from '../../workflows/definitions';

const ROOT = path.join(__dirname, '..', '..');

export const API_KEY = 'sk_resilience_0123456789abcdef';

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  durations: PaymentDurations;
  limits: Partial<PaymentLimits>;
  sandbox: SandboxOptions;
  /** The worker's Plural call timeout (`PLURAL_TIMEOUT_MS`). */
  pluralTimeoutMs: number;
  /** Extra worker environment. */
  workerEnv?: Record<string, string>;
  /**
   * How long the API waits for the engine. @default short waits (1.5 s after a start or an action, 500 ms polls): the
   * drivers poll on their own, and long server-side waits would pile up queries under load
   */
  apiTimings?: Partial<ApiTimings>;
  /** Deadline of each Temporal call the API makes (`createTemporalEngine`'s `callTimeoutMs`). @default the API's */
  apiCallTimeoutMs?: number;
}

/** The payment worker running as `node --import tsx worker/main.ts`. */
export interface WorkerProcess {
  /** Starts a worker; resolves once it logged that it runs. */
  start(): Promise<void>;
  /** SIGKILL: no drain, no goodbye; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Graceful stop (SIGTERM), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  readonly kills: number;
  readonly starts: number;
  /** Times the worker exited without being killed or stopped (it crashed, or gave up on Temporal). */
  readonly unexpectedExits: number;
  /** The last few KiB the worker printed (for failure messages; the worker's logger redacts secrets). */
  output(): string;
}

/** The suite's own Temporal dev server, on a SQLite file, that can crash and come back on the same file and port. */
export interface TemporalServerProcess {
  /** `host:port` of the gRPC frontend; the same after every restart, so the API and the worker reconnect. */
  readonly address: string;
  /** SIGKILL, as a crash would: no shutdown, whatever the server held only in memory is gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same SQLite file and port; resolves once it serves. */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly kills: number;
}

export interface Harness {
  apiUrl: string;
  sandbox: RunningSandbox;
  temporal: TemporalServerProcess;
  client: Client;
  worker: WorkerProcess;
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 32 * 1024;

function workerProcess(env: Record<string, string>): WorkerProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<void> | undefined;
  let out = '';
  let kills = 0;
  let starts = 0;
  let unexpectedExits = 0;
  /** Set while we kill or stop the worker, so its exit is not counted as a crash. */
  let ending = false;
  const append = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };

  const signalAndWait = async (signal: NodeJS.Signals, graceMs?: number): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    ending = true;
    c.kill(signal);
    const timer = graceMs === undefined ? undefined : setTimeout(() => c.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  return {
    get kills() {
      return kills;
    },
    get starts() {
      return starts;
    },
    get unexpectedExits() {
      return unexpectedExits;
    },
    output: () => out,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error('worker already running');
      starts += 1;
      // Readiness is this process's own line: `out` still holds what the previous (killed) worker printed.
      let mine = '';
      const c = spawn(process.execPath, ['--import', 'tsx', path.join('worker', 'main.ts')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      ending = false;
      process.once('exit', killOnExit);
      exited = new Promise<void>((resolve) =>
        c.once('exit', () => {
          process.off('exit', killOnExit);
          if (!ending) unexpectedExits += 1;
          resolve();
        }),
      );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s:\n${out}`)), 60_000);
        const onData = (chunk: Buffer): void => {
          append(chunk);
          mine = (mine + chunk.toString('utf8')).slice(-4_096);
          if (mine.includes('payment worker started')) {
            clearTimeout(timer);
            resolve();
          }
        };
        c.stdout?.on('data', onData);
        c.stderr?.on('data', append);
        c.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`worker exited (${code ?? signal ?? '?'}) before it started:\n${out}`));
        });
      });
    },
    async kill() {
      if (child && child.exitCode === null && child.signalCode === null) kills += 1;
      await signalAndWait('SIGKILL');
    },
    stop: (graceMs = 5_000) => signalAndWait('SIGTERM', graceMs),
  };
}

async function temporalServerProcess(dbFile: string): Promise<TemporalServerProcess> {
  let server: RunningDevServer | undefined = await startOwnDevServer({ dbFile });
  const address = server.address;
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  let kills = 0;
  return {
    address,
    get kills() {
      return kills;
    },
    async kill() {
      if (!server) return;
      kills += 1;
      const dying = server;
      server = undefined;
      await dying.kill();
    },
    async start() {
      if (server) throw new Error(`the Temporal dev server on ${address} is already running`);
      server = await startOwnDevServer({ dbFile, port });
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
  };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts the whole stack with the worker in a child process. */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    while (cleanups.length > 0)
      await cleanups
        .pop()?.()
        .catch(() => undefined);
  };
  try {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'resilience-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    const [temporal, sandbox, bundlePath] = await Promise.all([
      // A dev server of the suite's own, on a SQLite file, so a test can SIGKILL it and restart it on the same file.
      temporalServerProcess(path.join(tmp, 'temporal.db')),
      startSandbox({ ...options.sandbox, port: 0, host: '127.0.0.1' }),
      // Built once (with the failure converter the encrypting worker needs): each worker start loads it.
      bundleWorkflowCode({
        workflowsPath: defaultWorkflowsPath(),
        workflowInterceptorModules: workflowInterceptorModules(),
        failureConverterPath: FAILURE_CONVERTER_PATH,
      }).then(async ({ code }) => {
        const file = path.join(tmp, 'workflow-bundle.js');
        await writeFile(file, code);
        return file;
      }),
    ]);
    cleanups.push(() => temporal.stop());
    cleanups.push(() => sandbox.stop());

    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    // Payload encryption: the worker and this client share one key ring (PAYLOAD_KEYS on the worker).
    const payloadKey = { id: 'resilience1', key: randomBytes(32) };
    const client = new Client({
      connection,
      namespace: 'default',
      dataConverter: createDataConverter({ mode: 'on', keys: [payloadKey] }),
    });

    const vaultToken = randomBytes(32).toString('hex');
    const vaultRouter = createCardVaultRouter({ token: vaultToken });
    cleanups.push(() => {
      vaultRouter.close();
      return Promise.resolve();
    });

    const ready: { handler?: http.RequestListener } = {};
    const server = http.createServer((req, res) => {
      if (ready.handler) ready.handler(req, res);
      else res.writeHead(503).end();
    });
    const port = await listen(server);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const apiUrl = `http://127.0.0.1:${port}`;
    // The card vault on a listener of its own, as api/server.ts serves it.
    const vaultServer = await listenCardVault(vaultRouter, '127.0.0.1', 0);
    cleanups.push(() => vaultServer.close());
    ready.handler = createApp({
      engine: createTemporalEngine({
        client,
        ...(options.apiCallTimeoutMs !== undefined ? { callTimeoutMs: options.apiCallTimeoutMs } : {}),
      }),
      vault: vaultRouter.localVault,
      apiKeys: [API_KEY],
      callbackSecretHex: sandbox.credentials.callbackSecretHex,
      webhookSecret: sandbox.credentials.webhookSecret,
      fingerprintKey: 'resilience-fingerprint-key',
      publicBaseUrl: apiUrl,
      returnUrls: { success: `${apiUrl}/return/success`, failure: `${apiUrl}/return/failure` },
      logger: createLogger({ name: 'api', level: 'fatal' }),
      timings: { startWaitMs: 1_500, actionWaitMs: 1_500, ...options.apiTimings },
      paymentDurations: options.durations,
      paymentLimits: options.limits,
    }) as http.RequestListener;
    sandbox.setWebhookUrl(`${apiUrl}/v1/webhooks/plural`);

    const worker = workerProcess({
      TEMPORAL_ADDRESS: temporal.address,
      PLURAL_BASE_URL: sandbox.baseUrl,
      PLURAL_CLIENT_ID: sandbox.credentials.clientId,
      PLURAL_CLIENT_SECRET: sandbox.credentials.clientSecret,
      PLURAL_TIMEOUT_MS: String(options.pluralTimeoutMs),
      CARD_VAULT_URL: vaultServer.url,
      CARD_VAULT_TOKEN: vaultToken,
      PAYLOAD_KEYS: `${payloadKey.id}:${payloadKey.key.toString('base64')}`,
      WORKER_METRICS_PORT: '0',
      WORKFLOW_BUNDLE_PATH: bundlePath,
      // info: the readiness line ('payment worker started') is an info line.
      LOG_LEVEL: 'info',
      ...options.workerEnv,
    });
    cleanups.push(() => worker.stop());
    await worker.start();

    return { apiUrl, sandbox, temporal, client, worker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
