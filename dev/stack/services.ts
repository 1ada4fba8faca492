/**
 * The pieces the stack starts besides its own process's, in parallel: Temporal's dev server (with its Web UI, its
 * SQLite file and log in the data dir, the search attributes registered at start), one sandbox or one per merchant
 * account that names no Plural origin, and the workflow bundle (from its cache, or built).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AppLogger } from '../../observability';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { startDevServer } from '../../temporal-server';
import type { RunningDevServer } from '../../temporal-server';
import { SEARCH_ATTRIBUTE } from '../../workflows/definitions';
import { DEFAULT_BUNDLE_CACHE_DIR, loadWorkflowBundle } from '../workflow-bundle';
import type { DevWorkflowBundle } from '../workflow-bundle';
import type { StackPlan } from './plan';
import type { Shutdown } from './shutdown';

/** What {@link startServices} started. */
export interface StackServices {
  /** Temporal's dev server; undefined with `TEMPORAL_ADDRESS`. */
  temporal: RunningDevServer | undefined;
  /** Its SQLite file, when it keeps its state in the data dir. */
  dbFile: string | undefined;
  /** The sandbox, or with merchant accounts the first merchant's. */
  sandbox: RunningSandbox | undefined;
  /** Each merchant account's sandbox, by merchant id (with merchant accounts). */
  sandboxes: ReadonlyMap<string, RunningSandbox>;
  /** The workflow bundle; undefined with `WORKFLOW_BUNDLE_PATH`. */
  bundle: DevWorkflowBundle | undefined;
}

/**
 * Starts them, each registering its stop with `shutdown` (also when another failed to start).
 * @param apiUrl the API's local origin: the UI's codec endpoint is under it, and the sandboxes' webhooks go to it
 * @throws the first failure, after registering the stops of what did start
 */
export async function startServices(
  plan: StackPlan,
  apiUrl: string,
  logger: AppLogger,
  shutdown: Shutdown,
): Promise<StackServices> {
  const { dev, worker } = plan.preliminary;
  const dataDir = plan.dataDir;
  const dbFile = dataDir !== undefined && plan.ownTemporal ? path.join(dataDir, 'temporal.db') : undefined;
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const sandboxAccounts = plan.accounts ? plan.sandboxAccounts : plan.singleSandbox ? [undefined] : [];
  const settled = await Promise.allSettled([
    plan.ownTemporal
      ? startDevServer({
          ip: '127.0.0.1',
          ...(dev.DEV_TEMPORAL_PORT !== 0 ? { port: dev.DEV_TEMPORAL_PORT } : {}),
          namespace: worker.temporal.namespace,
          ...(dbFile !== undefined ? { dbFile, logFile: path.join(dataDir!, 'temporal.log') } : {}),
          ui: {
            ...(dev.DEV_TEMPORAL_UI_PORT !== 0 ? { port: dev.DEV_TEMPORAL_UI_PORT } : {}),
            ...(worker.payloadEncryption.mode === 'on' ? { codecEndpoint: `${apiUrl}/codec` } : {}),
          },
          searchAttributes: Object.values(SEARCH_ATTRIBUTE),
        })
      : Promise.resolve(undefined),
    // One sandbox, or one per merchant account that names no Plural origin (the first on DEV_SANDBOX_PORT).
    Promise.all(
      sandboxAccounts.map((account, i) =>
        startSandbox({
          port: i === 0 ? dev.DEV_SANDBOX_PORT : 0,
          // Seeds of their own: each merchant's Plural makes order ids of its own.
          seed: i + 1,
          host: '127.0.0.1',
          webhookRetryScale: 0.01,
          // Its webhooks go to this stack's API, whatever address API_HOST gave it.
          webhookAllowedHosts: [new URL(apiUrl).hostname],
          // The merchant's own Plural account (an entry always holds all four); none: the sandbox's published one.
          ...(account && {
            ...account.plural.credentials,
            callbackSecretHex: account.plural.callbackSecretHex,
            webhookSecret: account.plural.webhookSecret,
          }),
        }),
      ),
    ),
    worker.worker.workflowBundlePath !== undefined
      ? Promise.resolve(undefined)
      : loadWorkflowBundle(DEFAULT_BUNDLE_CACHE_DIR, logger),
  ] as const);
  const [temporalResult, sandboxResult, bundleResult] = settled;
  // Registered in start order, run in reverse: Temporal stops last.
  const temporal = temporalResult.status === 'fulfilled' ? temporalResult.value : undefined;
  if (temporal) shutdown.add(() => temporal.stop());
  const running: RunningSandbox[] = sandboxResult.status === 'fulfilled' ? sandboxResult.value : [];
  for (const s of running) shutdown.add(() => s.stop());
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  return {
    temporal,
    dbFile,
    sandbox: running[0],
    sandboxes: new Map(plan.accounts ? plan.sandboxAccounts.map((m, i) => [m.id, running[i]!] as const) : []),
    bundle: bundleResult.status === 'fulfilled' ? bundleResult.value : undefined,
  };
}
