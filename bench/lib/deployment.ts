/**
 * The engine as docker-compose deploys it, one process each, so that each one's CPU and memory can be read on its
 * own: Temporal's official dev server (`temporal server start-dev`), the Plural sandbox (`plural-sandbox/main.ts`),
 * the API (`api/server.ts`, which mounts the card vault the worker reaches over HTTP) and the payment worker
 * (`worker/main.ts`, or its compiled JavaScript). Optionally the floor's worker and HTTP route (bench/floor/) beside
 * them, on the same Temporal server.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DEFAULT_BUNDLE_CACHE_DIR, loadWorkflowBundle } from '../../dev/workflow-bundle';
import { createLogger } from '../../observability';
import { DEFAULT_CREDENTIALS } from '../../plural-sandbox';
import { freePort, startDevServer } from '../../temporal-server';
import type { RunningDevServer } from '../../temporal-server';
import { SEARCH_ATTRIBUTE } from '../../workflows/definitions';
import { startChild } from './child';
import type { BenchChild } from './child';

/** Options of {@link startDeployment}. */
export interface DeploymentOptions {
  /** Temporal's SQLite file (as `npm start` keeps one in `.data/`); undefined keeps its state in memory. */
  temporalDbFile: string | undefined;
  /** LOG_LEVEL of the API and the worker. */
  logLevel: string;
  /** The payment worker's entry: a `.ts` file runs through tsx, a `.js` file (compiled) with plain node. @default worker/main.ts */
  workerEntry?: string;
  /** Added to the worker's environment. */
  workerEnv?: Record<string, string>;
  /** Added to the API's environment. */
  apiEnv?: Record<string, string>;
  /** Start the floor's worker and HTTP route too. @default false */
  floor?: boolean;
}

/** The processes whose CPU and memory a benchmark reads. */
export type ProcessName = 'api' | 'worker' | 'sandbox' | 'temporal' | 'floorRoute' | 'floorWorker';

/** A running deployment; `stop()` it. */
export interface Deployment {
  temporalAddress: string;
  sandboxUrl: string;
  /** The Bearer token of the sandbox's control API (`/__sandbox/...`). */
  sandboxControlToken: string;
  apiUrl: string;
  apiKey: string;
  /** The floor's HTTP route, when started. */
  floorUrl: string | undefined;
  /** Where the worker's workflow bundle came from. */
  workflowBundle: 'cache' | 'built';
  worker: BenchChild;
  /** Process ids by name (those started). */
  pids: Partial<Record<ProcessName, number>>;
  stop(): Promise<void>;
}

export const BENCH_API_KEY = 'sk_bench_only_0123456789abcdef';
const VAULT_TOKEN = 'bench-card-vault-token-0123456789abcdef';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function untilReady(url: string, child: BenchChild, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (child.child.exitCode !== null) throw new Error(`${url}: the process exited:\n${child.tail().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`${url} was not ready within ${timeoutMs} ms:\n${child.tail()}`);
    await sleep(100);
  }
}

/** Starts every process (Temporal first, the worker last) and waits until the API and the floor's route answer. */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const logger = createLogger({ name: 'bench', level: 'warn' });
  const bundle = await loadWorkflowBundle(DEFAULT_BUNDLE_CACHE_DIR, logger);
  const codePath = 'codePath' in bundle.bundle ? bundle.bundle.codePath : undefined;
  const temporal: RunningDevServer = await startDevServer({
    searchAttributes: Object.values(SEARCH_ATTRIBUTE),
    ...(options.temporalDbFile !== undefined ? { dbFile: options.temporalDbFile } : {}),
  });
  const children: BenchChild[] = [];
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) await c.stop();
    children.length = 0;
    await temporal.stop();
  };
  try {
    const [apiPort, sandboxPort, vaultPort] = [await freePort(), await freePort(), await freePort()];
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const sandboxControlToken = randomBytes(24).toString('hex');
    const sandbox = startChild(path.join('plural-sandbox', 'main.ts'), {
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_CONTROL_TOKEN: sandboxControlToken,
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_WEBHOOK_URL: `${apiUrl}/v1/webhooks/plural`,
      // As the dev stack runs it: a webhook the API refused is resent within milliseconds, not minutes.
      SANDBOX_WEBHOOK_RETRY_SCALE: '0.01',
    });
    children.push(sandbox);
    await sandbox.waitFor(/plural-sandbox listening on/, 60_000);

    const plural = {
      PLURAL_BASE_URL: sandboxUrl,
      PLURAL_CLIENT_ID: DEFAULT_CREDENTIALS.clientId,
      PLURAL_CLIENT_SECRET: DEFAULT_CREDENTIALS.clientSecret,
      PLURAL_CALLBACK_SECRET_HEX: DEFAULT_CREDENTIALS.callbackSecretHex,
      PLURAL_WEBHOOK_SECRET: DEFAULT_CREDENTIALS.webhookSecret,
      TEMPORAL_ADDRESS: temporal.address,
      LOG_LEVEL: options.logLevel,
    };
    const api = startChild(path.join('api', 'server.ts'), {
      ...plural,
      API_KEYS: BENCH_API_KEY,
      API_FINGERPRINT_KEY: 'bench-fingerprint-key-0123456789',
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      API_PUBLIC_URL: apiUrl,
      CARD_VAULT_TOKEN: VAULT_TOKEN,
      CARD_VAULT_PORT: String(vaultPort),
      ...options.apiEnv,
    });
    children.push(api);
    await untilReady(`${apiUrl}/readyz`, api, 60_000);

    const worker = startChild(options.workerEntry ?? path.join('worker', 'main.ts'), {
      ...plural,
      CARD_VAULT_URL: `http://127.0.0.1:${vaultPort}`,
      CARD_VAULT_TOKEN: VAULT_TOKEN,
      WORKER_METRICS_PORT: '0',
      ...(codePath !== undefined ? { WORKFLOW_BUNDLE_PATH: codePath } : {}),
      ...options.workerEnv,
    });
    children.push(worker);

    let floorUrl: string | undefined;
    const pids: Partial<Record<ProcessName, number>> = {
      api: api.pid,
      worker: worker.pid,
      sandbox: sandbox.pid,
      ...(temporal.pid !== undefined ? { temporal: temporal.pid } : {}),
    };
    if (options.floor) {
      const floorEnv = { TEMPORAL_ADDRESS: temporal.address };
      const floorWorker = startChild(path.join('bench', 'floor', 'worker.ts'), floorEnv);
      children.push(floorWorker);
      const floorRoute = startChild(path.join('bench', 'floor', 'server.ts'), floorEnv);
      children.push(floorRoute);
      await floorWorker.waitFor(/^READY$/m, 120_000);
      floorUrl = (await floorRoute.waitFor(/^READY (\S+)$/m, 60_000))[1];
      pids.floorWorker = floorWorker.pid;
      pids.floorRoute = floorRoute.pid;
    }
    return {
      temporalAddress: temporal.address,
      sandboxUrl,
      sandboxControlToken,
      apiUrl,
      apiKey: BENCH_API_KEY,
      floorUrl,
      workflowBundle: bundle.source,
      worker,
      pids,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
