/**
 * The one-command dev stack (`npm start`): Temporal (the official dev server, `temporal server start-dev` with its Web
 * UI, in a child process; or the cluster in `TEMPORAL_ADDRESS`), Plural (the sandbox, or the gateway in
 * `PLURAL_BASE_URL`), the payment worker and the API, the last three in this one process.
 *
 * One process because it is the fastest to start and the simplest to stop, and because the worker and the API can
 * then share the in-memory card vault (no vault endpoint or token to set up). Each piece is still configured through
 * the same `loadWorkerConfig` / `loadApiConfig` as the standalone processes; the stack only fills in what a fresh
 * clone lacks (addresses of what it started, the sandbox's credentials, development API keys). With merchant accounts
 * (`MERCHANTS_FILE` / `MERCHANTS`) it runs a sandbox per merchant that names no Plural origin, with that merchant's
 * credentials, and wires the worker and the API per merchant as `npm run worker` and `npm run api` do.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import express from 'express';
import { z } from 'zod';
import {
  createApp,
  createGatewayProbes,
  createPluralCustomerDirectory,
  createReturnLinks,
  createReturnUrlPolicy,
  createTemporalEngine,
  createTemporalIdempotencyStore,
  pluralOrigins,
} from '../api';
import { InMemoryCardVault } from '../card-vault';
import {
  apiSecrets,
  collectIssues,
  CONFIG_KEYS as K,
  ConfigError,
  DEV_API_KEY,
  DEV_CODEC_TOKEN,
  DEV_FINGERPRINT_KEY,
  DEV_RETURN_URL_SIGNING_SECRET,
  DEV_MERCHANT_WEBHOOK_SECRET,
  ENV_WEBHOOK_ENDPOINT_ID,
  fields,
  hasMerchantAccounts,
  loadApiConfig,
  loadMerchantAccounts,
  loadWorkerConfig,
  originList,
  parseEnv,
  payloadKeysField,
  resolveApiUrls,
  temporalConnectionOptions,
  workerSecrets,
} from '../config';
import type { ApiConfig, Env, WorkerConfig } from '../config';
import { WebhookSender } from '../merchant-webhooks';
import { createLogger } from '../observability';
import type { AppLogger } from '../observability';
import { createCodecRouter, createDataConverter, EncryptionCodec } from '../payload-codec';
import { PluralClient } from '../plural-client';
import { DEFAULT_CREDENTIALS, startSandbox } from '../plural-sandbox';
import type { RunningSandbox } from '../plural-sandbox';
import { startDevServer } from '../temporal-server';
import type { RunningDevServer } from '../temporal-server';
import { createMerchantPluralClients, createPaymentWorker, ensureSearchAttributes, installRuntime } from '../worker';
import { DEFAULT_MERCHANT_ID, SEARCH_ATTRIBUTE } from '../workflows/definitions';
import { createWebhookReceiverRouter } from './merchant-webhook-receiver';
import { pluralWebhookPath } from '../api/routes/gateway-events';
import { createReturnPageRouter } from './return-page';
import { DEFAULT_BUNDLE_CACHE_DIR, loadWorkflowBundle } from './workflow-bundle';

// The stack's fixed development keys live with every other published value, which production mode refuses.
export { DEV_API_KEY, DEV_CODEC_TOKEN, DEV_FINGERPRINT_KEY };
/** File in the data dir holding the payload key the stack made (`PAYLOAD_KEYS` format), mode 0600. */
export const PAYLOAD_KEYS_FILE = 'payload-keys';

const ROOT = path.join(__dirname, '..');

const devEnvSchema = z.object({
  [K.DEV_TEMPORAL_PORT]: fields.integer({ min: 0, max: 65_535, default: 7233, unit: '0 = ephemeral' }),
  [K.DEV_TEMPORAL_UI_PORT]: fields.integer({ min: 0, max: 65_535, default: 8233, unit: '0 = ephemeral' }),
  [K.DEV_SANDBOX_PORT]: fields.integer({ min: 0, max: 65_535, default: 8090, unit: '0 = ephemeral' }),
  [K.DEV_DATA_DIR]: z.string().default('.data'),
  [K.CODEC_SERVER_TOKENS]: z
    .string()
    .transform((v) => v.split(',').map((t) => t.trim()))
    .refine((tokens) => tokens.every((t) => t.length >= 32 && !/\s/.test(t)), {
      error: 'must be comma-separated tokens of at least 32 characters each, without spaces',
    })
    .optional(),
  [K.CODEC_CORS_ORIGINS]: originList.optional(),
});

const newDevKey = (id: string): string => `${id}:${randomBytes(32).toString('base64')}`;

/**
 * The payload key ring the stack uses when `PAYLOAD_KEYS` is unset: kept in `<dataDir>/payload-keys` (made once,
 * mode 0600) so histories persisted in the data dir stay readable across restarts; without a data dir, a random
 * key for this run only.
 */
async function devPayloadKeys(dataDir: string | undefined): Promise<{ value: string; file: string | undefined }> {
  if (dataDir === undefined) return { value: newDevKey('dev-ephemeral'), file: undefined };
  const file = path.join(dataDir, PAYLOAD_KEYS_FILE);
  try {
    const value = (await readFile(file, 'utf8')).trim();
    if (!payloadKeysField.safeParse(value).success) {
      throw new ConfigError('dev stack', [
        {
          key: K.PAYLOAD_KEYS,
          message: `in ${file} must be keyId:base64 entries of 32-byte keys; fix the file, or delete it (and ${dataDir}, whose histories it encrypted) to start afresh`,
        },
      ]);
    }
    return { value, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = newDevKey(`dev-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`);
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, file };
}

/** Where everything is, as printed at start-up (and in the machine-readable `READY` line). */
export interface DevStackInfo {
  api: string;
  docs: string;
  openapi: string;
  apiMetrics: string;
  /** Temporal's runtime metrics (worker), or undefined when `WORKER_METRICS_PORT=0`. */
  workerMetrics: string | undefined;
  returnPage: string;
  /**
   * Merchant webhooks: the `default` merchant's endpoint, and the stack's own receiver (`/dev/merchant-webhooks`,
   * which verifies and lists deliveries) when the stack configured it (MERCHANT_WEBHOOK_URL unset).
   */
  merchantWebhooks: { endpoint: string | undefined; receiver: string | undefined };
  /**
   * Temporal: `devServer` when the stack runs `temporal server start-dev` itself (its SQLite file in `dbFile`, or in
   * memory), false for the cluster in `TEMPORAL_ADDRESS`.
   */
  temporal: { address: string; namespace: string; devServer: boolean; dbFile: string | undefined };
  /** The Temporal Web UI of the stack's dev server; undefined with `TEMPORAL_ADDRESS`. */
  temporalUi: string | undefined;
  /**
   * `controlToken`: the Bearer token of the sandbox's control API (`/__sandbox/...`), when the stack runs one. With
   * merchant accounts: the first merchant's.
   */
  plural: { baseUrl: string; sandbox: boolean; controlToken: string | undefined };
  /**
   * With merchant accounts (`MERCHANTS_FILE` / `MERCHANTS`): each merchant's Plural origin, its sandbox's control
   * token when the stack runs one for it, and the path its Plural webhooks arrive at.
   */
  merchants:
    | { id: string; pluralBaseUrl: string; sandbox: boolean; controlToken: string | undefined; webhookPath: string }[]
    | undefined;
  /** Only when the stack made it up (API_KEYS unset); a configured key is never printed. */
  devApiKey: string | undefined;
  /**
   * Payload encryption: the codec endpoint for the Temporal UI and CLI (`<api>/codec`), the ids of the key ring and
   * where the stack keeps the key it made; undefined with `PAYLOAD_ENCRYPTION=off`.
   */
  codec:
    | {
        endpoint: string;
        keyIds: string[];
        /** `<dataDir>/payload-keys` when the stack made the key and keeps it; undefined for PAYLOAD_KEYS or none. */
        keyFile: string | undefined;
        /** Only when the stack made it up (CODEC_SERVER_TOKENS unset). */
        devToken: string | undefined;
      }
    | undefined;
  workflowBundle: 'cache' | 'built' | 'configured';
  startupMs: number;
}

/** A running stack. */
export interface DevStack {
  readonly info: DevStackInfo;
  /** The sandbox, when the stack runs one (tests drive its fault controls); with merchant accounts, the first's. */
  readonly sandbox: RunningSandbox | undefined;
  /** Each merchant account's sandbox, by merchant id (with merchant accounts). */
  readonly sandboxes: ReadonlyMap<string, RunningSandbox>;
  /** Stops the API, drains the worker, then stops the sandbox and Temporal. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startDevStack}. */
export interface DevStackOptions {
  env: Env;
  /** @default a logger at `LOG_LEVEL` writing to stdout */
  logger?: AppLogger;
}

/** Placeholders for the keys the stack fills once its services run, so configuration is checked before starting. */
const PLACEHOLDERS = {
  temporalAddress: '127.0.0.1:7233',
  pluralBaseUrl: 'http://127.0.0.1:8090',
  webhookReceiver: 'http://127.0.0.1:8080/dev/merchant-webhooks',
};

/** Where the stack's merchant webhook receiver listens, under the API's origin. */
const RECEIVER_PATH = '/dev/merchant-webhooks';

function withDefaults(env: Env, filled: Record<string, string>): Env {
  const out: Record<string, string | undefined> = { ...env };
  const unset = (key: string) => out[key] === undefined || out[key]?.trim() === '';
  for (const [key, value] of Object.entries(filled)) if (unset(key)) out[key] = value;
  return out;
}

/**
 * The merchant accounts of `MERCHANTS_FILE` / `MERCHANTS` as their JSON entries (validated before by
 * `loadMerchantAccounts`), which the stack hands on as `MERCHANTS` with the origin of each sandbox it starts.
 */
function merchantEntries(env: Env): Record<string, unknown>[] {
  const file = env[K.MERCHANTS_FILE]?.trim();
  return JSON.parse(file ? readFileSync(file, 'utf8') : (env[K.MERCHANTS] ?? '[]')) as Record<string, unknown>[];
}

/** Every configuration the stack reads, with the problems of all of them in one error (each listed once). */
function loadAll(env: Env): {
  dev: z.output<typeof devEnvSchema>;
  worker: WorkerConfig;
  api: ApiConfig;
} {
  const { issues, attempt } = collectIssues();
  const dev = attempt(() => parseEnv(devEnvSchema, env, 'dev stack'));
  const worker = attempt(() => loadWorkerConfig(env));
  const api = attempt(() => loadApiConfig(env));
  if (!dev || !worker || !api) throw new ConfigError('dev stack', issues);
  return { dev, worker, api };
}

/** The origins a browser may send for the UI at `uiUrl` (127.0.0.1 and localhost name the same loopback UI). */
function uiOriginsOf(uiUrl: string): string[] {
  const url = new URL(uiUrl);
  const origins = [url.origin];
  if (url.hostname === '127.0.0.1') origins.push(`${url.protocol}//localhost:${url.port}`);
  return origins;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Starts the whole stack. Call once per process (it installs Temporal's runtime).
 * @throws {ConfigError} on bad configuration (before anything starts), or the failure of a piece (after stopping
 * what had started).
 */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const started = Date.now();
  const env = options.env;
  const has = (key: string) => (env[key] ?? '').trim() !== '';
  const ownTemporal = !has(K.TEMPORAL_ADDRESS);
  const useSandbox = !has(K.PLURAL_BASE_URL);
  // Merchant accounts: checked first against the settings as given (an error names MERCHANTS_FILE or MERCHANTS);
  // each merchant without a Plural origin of its own gets a sandbox of its own, with the account's credentials.
  const accounts = hasMerchantAccounts(env) ? loadMerchantAccounts(env, 'dev stack') : undefined;
  const sandboxAccounts = useSandbox ? (accounts ?? []).filter((m) => m.plural.baseUrl === undefined) : [];
  const merchantsEnv = (origins: ReadonlyMap<string, string>): Record<string, string | undefined> => ({
    [K.MERCHANTS_FILE]: undefined,
    [K.MERCHANTS]: JSON.stringify(
      merchantEntries(env).map((entry) => {
        const origin = origins.get(String(entry.id));
        return origin === undefined ? entry : { ...entry, plural: { ...(entry.plural as object), baseUrl: origin } };
      }),
    ),
  });
  const encryptionOff = (env[K.PAYLOAD_ENCRYPTION] ?? '').trim() === 'off';
  const rawDataDir = (env[K.DEV_DATA_DIR] ?? '').trim() || '.data';
  const devKeys =
    encryptionOff || has(K.PAYLOAD_KEYS)
      ? undefined
      : await devPayloadKeys(rawDataDir === 'none' ? undefined : path.resolve(ROOT, rawDataDir));

  // Keys the stack can fill: development API keys always; Plural's from the sandbox; Temporal's from its dev server.
  const devDefaults: Record<string, string> = {
    // Merchant accounts carry their own keys and return-URL secrets.
    ...(accounts
      ? {}
      : {
          [K.API_KEYS]: DEV_API_KEY,
          // Only signs: a return_url is taken once RETURN_URL_ALLOWED_HOSTS names the merchant's hosts.
          [K.RETURN_URL_SIGNING_SECRET]: DEV_RETURN_URL_SIGNING_SECRET,
        }),
    [K.API_FINGERPRINT_KEY]: DEV_FINGERPRINT_KEY,
    [K.WORKER_METRICS_HOST]: '127.0.0.1',
    ...(devKeys ? { [K.PAYLOAD_KEYS]: devKeys.value } : {}),
  };
  const sandboxEnv = (baseUrl: string, s: RunningSandbox['credentials'] | undefined): Record<string, string> =>
    useSandbox && s && !accounts
      ? {
          [K.PLURAL_BASE_URL]: baseUrl,
          [K.PLURAL_CLIENT_ID]: s.clientId,
          [K.PLURAL_CLIENT_SECRET]: s.clientSecret,
          [K.PLURAL_CALLBACK_SECRET_HEX]: s.callbackSecretHex,
          [K.PLURAL_WEBHOOK_SECRET]: s.webhookSecret,
        }
      : {};
  // Neither merchant webhook key set: the default merchant's endpoint is the stack's own receiver (merchant accounts
  // name their own endpoints).
  const ownReceiver = !accounts && !has(K.MERCHANT_WEBHOOK_URL) && !has(K.MERCHANT_WEBHOOK_SECRET);
  const compose = (temporalAddress: string, plural: Record<string, string | undefined>, receiverUrl: string): Env => {
    const composed = withDefaults(env, {
      ...devDefaults,
      ...(ownTemporal ? { [K.TEMPORAL_ADDRESS]: temporalAddress } : {}),
      ...(ownReceiver
        ? { [K.MERCHANT_WEBHOOK_URL]: receiverUrl, [K.MERCHANT_WEBHOOK_SECRET]: DEV_MERCHANT_WEBHOOK_SECRET }
        : {}),
    });
    // The sandbox's credentials replace any stray PLURAL_* values: they belong to the gateway that is not in use.
    return { ...composed, ...plural, [K.CARD_VAULT_URL]: undefined, [K.CARD_VAULT_TOKEN]: undefined };
  };
  // Check every key now, so a typo stops the stack before anything starts. The sandbox runs with its default
  // credentials, so the logger learns the real secrets to mask here too.
  const preliminary = compose(
    PLACEHOLDERS.temporalAddress,
    accounts
      ? merchantsEnv(new Map(sandboxAccounts.map((m) => [m.id, PLACEHOLDERS.pluralBaseUrl])))
      : sandboxEnv(PLACEHOLDERS.pluralBaseUrl, DEFAULT_CREDENTIALS),
    PLACEHOLDERS.webhookReceiver,
  );
  const { dev, worker: preWorker, api: preApi } = loadAll(preliminary);
  const dataDir = dev.DEV_DATA_DIR === 'none' ? undefined : path.resolve(ROOT, dev.DEV_DATA_DIR);

  const logger =
    options.logger ??
    createLogger({
      name: 'dev',
      level: preApi.logLevel,
      knownSecrets: [...workerSecrets(preWorker), ...apiSecrets(preApi)],
    });
  installRuntime({ logger, logLevel: preWorker.logLevel, metrics: preWorker.metrics });

  const cleanups: (() => Promise<void>)[] = [];
  // The API closes first (no new requests while the worker drains), although its socket is opened first.
  let closeApi: (() => Promise<void>) | undefined;
  const cleanup = async (): Promise<void> => {
    const steps = [...(closeApi ? [closeApi] : []), ...cleanups.reverse()];
    closeApi = undefined;
    cleanups.length = 0;
    for (const step of steps) {
      await step().catch((err: unknown) => logger.warn({ err }, 'dev stack: a shutdown step failed'));
    }
  };

  try {
    // The API's socket first: the Temporal UI is told where the codec endpoint is (`<api>/codec`), which needs the
    // bound port. Until the stack is ready, every request gets a 503.
    const ready: { handler?: http.RequestListener } = {};
    const server = http.createServer((req, res) => {
      if (ready.handler) return ready.handler(req, res);
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: { type: 'api_error', code: 'starting', message: 'the API is starting' } }));
    });
    server.requestTimeout = 60_000;
    server.headersTimeout = 20_000;
    const port = await listen(server, preApi.listen.port, preApi.listen.host);
    closeApi = () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 5_000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
    const localUrl = resolveApiUrls({ ...preApi, publicUrl: undefined }, port).publicUrl;
    const encryptionOn = preWorker.payloadEncryption.mode === 'on';

    const dbFile = dataDir !== undefined && ownTemporal ? path.join(dataDir, 'temporal.db') : undefined;
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
    const settled = await Promise.allSettled([
      ownTemporal
        ? startDevServer({
            ip: '127.0.0.1',
            ...(dev.DEV_TEMPORAL_PORT !== 0 ? { port: dev.DEV_TEMPORAL_PORT } : {}),
            namespace: preWorker.temporal.namespace,
            ...(dbFile !== undefined ? { dbFile, logFile: path.join(dataDir!, 'temporal.log') } : {}),
            ui: {
              ...(dev.DEV_TEMPORAL_UI_PORT !== 0 ? { port: dev.DEV_TEMPORAL_UI_PORT } : {}),
              ...(encryptionOn ? { codecEndpoint: `${localUrl}/codec` } : {}),
            },
            searchAttributes: Object.values(SEARCH_ATTRIBUTE),
          })
        : Promise.resolve(undefined),
      // One sandbox, or one per merchant account that names no Plural origin (the first on DEV_SANDBOX_PORT).
      Promise.all(
        (accounts ? sandboxAccounts : useSandbox ? [undefined] : []).map((account, i) =>
          startSandbox({
            port: i === 0 ? dev.DEV_SANDBOX_PORT : 0,
            // Seeds of their own: each merchant's Plural makes order ids of its own.
            seed: i + 1,
            host: '127.0.0.1',
            webhookRetryScale: 0.01,
            // Its webhooks go to this stack's API, whatever address API_HOST gave it.
            webhookAllowedHosts: [new URL(localUrl).hostname],
            // The merchant's own Plural account (an entry always holds all four); none: the sandbox's published one.
            ...(account && {
              ...account.plural.credentials,
              callbackSecretHex: account.plural.callbackSecretHex,
              webhookSecret: account.plural.webhookSecret,
            }),
          }),
        ),
      ),
      preWorker.worker.workflowBundlePath !== undefined
        ? Promise.resolve(undefined)
        : loadWorkflowBundle(DEFAULT_BUNDLE_CACHE_DIR, logger),
    ] as const);
    const [temporalResult, sandboxResult, bundleResult] = settled;
    // Registered in start order, run in reverse: Temporal stops last.
    const temporal: RunningDevServer | undefined =
      temporalResult.status === 'fulfilled' ? temporalResult.value : undefined;
    if (temporal) cleanups.push(() => temporal.stop());
    const runningSandboxes: RunningSandbox[] = sandboxResult.status === 'fulfilled' ? sandboxResult.value : [];
    for (const s of runningSandboxes) cleanups.push(() => s.stop());
    for (const result of settled) if (result.status === 'rejected') throw result.reason;
    const sandbox: RunningSandbox | undefined = runningSandboxes[0];
    const sandboxes = new Map(accounts ? sandboxAccounts.map((m, i) => [m.id, runningSandboxes[i]!] as const) : []);
    const bundle = bundleResult.status === 'fulfilled' ? bundleResult.value : undefined;

    const finalEnv = compose(
      temporal?.address ?? PLACEHOLDERS.temporalAddress,
      accounts
        ? merchantsEnv(new Map([...sandboxes].map(([id, s]) => [id, s.baseUrl])))
        : sandbox
          ? sandboxEnv(sandbox.baseUrl, sandbox.credentials)
          : {},
      `${localUrl}${RECEIVER_PATH}`,
    );
    const { worker: workerConfig, api: apiConfig } = loadAll(finalEnv);

    // TEMPORAL_TLS* and TEMPORAL_API_KEY are for a cluster in TEMPORAL_ADDRESS, not for our own dev server.
    const at = (config: WorkerConfig | ApiConfig) =>
      temporal ? { address: config.temporal.address } : temporalConnectionOptions(config.temporal);
    const nativeConnection = await NativeConnection.connect(at(workerConfig));
    cleanups.push(() => nativeConnection.close());
    const connection = await Connection.connect(at(apiConfig));
    cleanups.push(() => connection.close());
    // The dev server registered them at start; a cluster in TEMPORAL_ADDRESS may not have them yet.
    if (!temporal) await ensureSearchAttributes(nativeConnection, workerConfig.temporal.namespace, logger);

    const vault = new InMemoryCardVault();
    cleanups.push(() => {
      vault.close();
      return Promise.resolve();
    });
    // One Plural client per merchant account, as `npm run worker` keeps them; the single merchant's otherwise.
    const merchantClients = accounts
      ? createMerchantPluralClients(workerConfig.merchants, { timeoutMs: workerConfig.plural.timeoutMs, logger })
      : undefined;
    if (merchantClients) cleanups.push(() => merchantClients.close());
    const merchant = workerConfig.merchants.get(accounts ? workerConfig.merchants.ids[0]! : DEFAULT_MERCHANT_ID);
    const credentials = merchant?.plural.credentials;
    if (!merchant?.plural.baseUrl || !credentials) throw new TypeError('dev stack: the default merchant is missing');
    const plural = merchantClients
      ? undefined
      : new PluralClient({
          baseUrl: merchant.plural.baseUrl,
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          timeoutMs: workerConfig.plural.timeoutMs,
          logger: logger.child({ component: 'plural-client' }),
        });
    if (plural) cleanups.push(() => plural.close());
    const webhookSender = new WebhookSender();
    cleanups.push(() => webhookSender.close());

    if (workerConfig.payloadEncryption.mode === 'off') {
      logger.warn(
        'PAYLOAD_ENCRYPTION=off: workflow inputs, results, signals and failures are stored in Temporal in clear',
      );
    }
    const dataConverter = createDataConverter(workerConfig.payloadEncryption);
    const worker: Worker = await createPaymentWorker({
      dataConverter,
      connection: nativeConnection,
      namespace: workerConfig.temporal.namespace,
      taskQueue: workerConfig.temporal.taskQueue,
      plural: merchantClients ? merchantClients.get : plural!,
      vault,
      logger,
      merchantWebhooks: { directory: workerConfig.merchantWebhooks.directory, sender: webhookSender },
      maxConcurrentActivityTaskExecutions: workerConfig.worker.maxConcurrentActivities,
      shutdownGraceMs: workerConfig.worker.shutdownGraceMs,
      ...(workerConfig.worker.maxCachedWorkflows !== undefined
        ? { maxCachedWorkflows: workerConfig.worker.maxCachedWorkflows }
        : {}),
      workflowBundle:
        workerConfig.worker.workflowBundlePath !== undefined
          ? { codePath: workerConfig.worker.workflowBundlePath }
          : bundle!.bundle,
    });
    const running = worker.run();
    running.catch((err: unknown) => logger.error({ err }, 'payment worker stopped with an error'));
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    });

    const urls = resolveApiUrls(apiConfig, port);
    const apiClient = new Client({ connection, namespace: apiConfig.temporal.namespace, dataConverter });
    const taskQueue = apiConfig.temporal.taskQueue;
    // One engine per merchant over the one client, as `npm run api` has them.
    const engineFor = (merchantId: string) => createTemporalEngine({ client: apiClient, taskQueue, merchantId });
    const engine = accounts ? engineFor(merchant.id) : createTemporalEngine({ client: apiClient, taskQueue });
    const idempotency = createTemporalIdempotencyStore({ client: apiClient, taskQueue });
    // Every Plural origin in use, the single merchant's or each merchant account's.
    const gatewayProbe = createGatewayProbes(pluralOrigins(apiConfig.merchants.merchants, apiConfig.plural.baseUrl));
    if (gatewayProbe) cleanups.push(() => gatewayProbe.close());
    // The callback's redirect to /dev/return is signed with a key made for this run: links die with the stack.
    const returnLinks = createReturnLinks({ key: randomBytes(32) });
    const tenancy = merchantClients
      ? (() => {
          const customers = new Map(
            apiConfig.merchants.ids.flatMap((id) => {
              const client = merchantClients.get(id);
              return client ? [[id, createPluralCustomerDirectory({ plural: client })] as const] : [];
            }),
          );
          return {
            merchants: apiConfig.merchants.merchants,
            engineFor,
            customersFor: (id: string) => customers.get(id),
            returnUrlPolicy: createReturnUrlPolicy({
              merchants: apiConfig.merchants,
              allowHttpLoopback: apiConfig.returnUrl.allowHttpLoopback,
            }),
          };
        })()
      : {
          customers: createPluralCustomerDirectory({ plural: plural! }),
          apiKeys: apiConfig.apiKeys,
          callbackSecretHex: apiConfig.plural.callbackSecretHex,
          webhookSecret: apiConfig.plural.webhookSecret,
          returnUrlPolicy: createReturnUrlPolicy({
            hosts: apiConfig.returnUrl.allowedHosts,
            signingSecret: apiConfig.returnUrl.signingSecret,
            allowHttpLoopback: apiConfig.returnUrl.allowHttpLoopback,
          }),
        };
    const apiApp = createApp({
      engine,
      vault,
      idempotency,
      ...tenancy,
      ...(gatewayProbe ? { gatewayProbe } : {}),
      fingerprintKey: apiConfig.fingerprintKey,
      publicBaseUrl: urls.publicUrl,
      returnUrls: urls.returnUrls,
      returnLinks,
      logger: logger.child({ component: 'api' }),
      timings: apiConfig.timings,
      paymentDurations: apiConfig.paymentDurations,
      ...(Object.keys(apiConfig.paymentLimits).length > 0 ? { paymentLimits: apiConfig.paymentLimits } : {}),
      merchantWebhooks: apiConfig.merchantWebhooks.directory,
      ...(apiConfig.maxAmount !== undefined ? { maxAmount: apiConfig.maxAmount } : {}),
      ...(apiConfig.bodyLimitBytes !== undefined ? { bodyLimitBytes: apiConfig.bodyLimitBytes } : {}),
    });
    const devApp = express();
    devApp.disable('x-powered-by');
    const webhookEndpoint = workerConfig.merchantWebhooks.directory.merchantWebhookEndpoint(
      'default',
      ENV_WEBHOOK_ENDPOINT_ID,
    );
    if (ownReceiver && webhookEndpoint) {
      devApp.use(
        RECEIVER_PATH,
        createWebhookReceiverRouter({
          secret: webhookEndpoint.secret,
          logger: logger.child({ component: 'merchant-webhook-receiver' }),
        }),
      );
    }
    devApp.use(
      '/dev',
      createReturnPageRouter({
        // A link that names no merchant is the `default` merchant's (the callback names every other).
        engine: accounts ? engineFor(DEFAULT_MERCHANT_ID) : engine,
        ...(accounts ? { engineFor: (id: string) => (apiConfig.merchants.get(id) ? engineFor(id) : undefined) } : {}),
        links: returnLinks,
        logger: logger.child({ component: 'return-page' }),
      }),
    );
    const encryption = workerConfig.payloadEncryption;
    if (encryption.mode === 'on') {
      // The UI's page calls the codec from the user's browser, which cannot send a bearer token: the stack's own UI
      // origin is trusted without one, from loopback peers only. The CLI and scripts use the token.
      const uiOrigins = temporal?.uiUrl !== undefined ? uiOriginsOf(temporal.uiUrl) : [];
      devApp.use(
        '/codec',
        createCodecRouter({
          // A viewer: it shows a plain-text payload someone wrote without the codec, which the worker refuses.
          codec: new EncryptionCodec({ keys: encryption.keys, unencrypted: 'pass' }),
          auth: { kind: 'token', tokens: dev.CODEC_SERVER_TOKENS ?? [DEV_CODEC_TOKEN], trustedOrigins: uiOrigins },
          corsOrigins: [...(dev.CODEC_CORS_ORIGINS ?? []), ...uiOrigins],
          logger: logger.child({ component: 'codec' }),
        }),
      );
    }
    const devPrefix = (url: string | undefined, prefix: string): boolean =>
      url === prefix || url?.startsWith(`${prefix}/`) === true || url?.startsWith(`${prefix}?`) === true;
    ready.handler = (req, res) => {
      if (devPrefix(req.url, '/dev') || devPrefix(req.url, '/codec')) devApp(req, res);
      else apiApp(req, res);
    };
    if (accounts) for (const [id, s] of sandboxes) s.setWebhookUrl(`${localUrl}${pluralWebhookPath(id)}`);
    else sandbox?.setWebhookUrl(`${localUrl}/v1/webhooks/plural`);

    const metricsPort = workerConfig.metrics.port;
    const info: DevStackInfo = {
      api: urls.publicUrl,
      docs: `${urls.publicUrl}/docs`,
      openapi: `${urls.publicUrl}/openapi.json`,
      apiMetrics: `${urls.publicUrl}/metrics`,
      workerMetrics: metricsPort > 0 ? `http://${workerConfig.metrics.host}:${metricsPort}/metrics` : undefined,
      returnPage: `${urls.publicUrl}/dev/return`,
      merchantWebhooks: {
        endpoint: webhookEndpoint?.url,
        receiver: ownReceiver ? `${urls.publicUrl}${RECEIVER_PATH}` : undefined,
      },
      temporal: {
        address: workerConfig.temporal.address,
        namespace: workerConfig.temporal.namespace,
        devServer: ownTemporal,
        dbFile,
      },
      temporalUi: temporal?.uiUrl,
      plural: {
        baseUrl: merchant.plural.baseUrl,
        sandbox: sandbox !== undefined && (!accounts || sandboxes.has(merchant.id)),
        controlToken: sandbox?.controlToken,
      },
      merchants: accounts
        ? workerConfig.merchants.merchants.map((m) => ({
            id: m.id,
            pluralBaseUrl: m.plural.baseUrl ?? '',
            sandbox: sandboxes.has(m.id),
            controlToken: sandboxes.get(m.id)?.controlToken,
            webhookPath: pluralWebhookPath(m.id),
          }))
        : undefined,
      devApiKey: accounts || has(K.API_KEYS) ? undefined : DEV_API_KEY,
      codec:
        encryption.mode === 'on'
          ? {
              endpoint: `${urls.publicUrl}/codec`,
              keyIds: encryption.keys.map((k) => k.id),
              keyFile: devKeys?.file,
              devToken: dev.CODEC_SERVER_TOKENS ? undefined : DEV_CODEC_TOKEN,
            }
          : undefined,
      workflowBundle: bundle?.source ?? 'configured',
      startupMs: Date.now() - started,
    };
    let stopping: Promise<void> | undefined;
    return {
      info,
      sandbox,
      sandboxes,
      stop() {
        stopping ??= cleanup();
        return stopping;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
