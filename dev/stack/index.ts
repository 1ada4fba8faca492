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
import { apiSecrets, resolveApiUrls, workerSecrets } from '../../config';
import type { Env } from '../../config';
import { pluralWebhookPath } from '../../api/routes/gateway-events';
import { createLogger } from '../../observability';
import type { AppLogger } from '../../observability';
import type { RunningSandbox } from '../../plural-sandbox';
import { installRuntime } from '../../worker';
import { DEFAULT_MERCHANT_ID } from '../../workflows/definitions';
import { openFrontDoor } from './front-door';
import { describeStack } from './info';
import type { DevStackInfo } from './info';
import { planStack, RECEIVER_PATH } from './plan';
import { createStackRoutes } from './routes';
import { startServices } from './services';
import { Shutdown } from './shutdown';
import { startWorker } from './worker';

// The stack's fixed development keys live with every other published value, which production mode refuses.
export { DEV_API_KEY, DEV_CODEC_TOKEN, DEV_FINGERPRINT_KEY } from '../../config';
export { PAYLOAD_KEYS_FILE } from './plan';
export type { DevStackInfo } from './info';

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

/**
 * Starts the whole stack. Call once per process (it installs Temporal's runtime).
 *
 * In order: every setting checked (one error naming them all, before anything starts) → Temporal's runtime → the
 * HTTP server listens, answering 503 until ready → Temporal's dev server, the sandboxes and the workflow bundle in
 * parallel → the worker → the API and the stack's pages answer → the sandboxes' webhooks point at the API.
 * @throws {ConfigError} on bad configuration (before anything starts), or the failure of a piece (after stopping
 * what had started).
 */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const started = Date.now();
  const plan = await planStack(options.env);
  const { worker: preWorker, api: preApi } = plan.preliminary;
  const logger =
    options.logger ??
    createLogger({
      name: 'dev',
      level: preApi.logLevel,
      knownSecrets: [...workerSecrets(preWorker), ...apiSecrets(preApi)],
    });
  installRuntime({ logger, logLevel: preWorker.logLevel, metrics: preWorker.metrics });

  const shutdown = new Shutdown(logger);
  try {
    const door = await openFrontDoor(preApi.listen);
    // The API closes first (no new requests while the worker drains), although its socket is opened first.
    shutdown.addFirst(() => door.close());
    const localUrl = resolveApiUrls({ ...preApi, publicUrl: undefined }, door.port).publicUrl;

    const services = await startServices(plan, localUrl, logger, shutdown);
    const configs = plan.configure({
      temporal: services.temporal?.address ?? preWorker.temporal.address,
      sandboxes: plan.accounts
        ? services.sandboxes
        : new Map(services.sandbox ? [[DEFAULT_MERCHANT_ID, services.sandbox]] : []),
      receiverUrl: `${localUrl}${RECEIVER_PATH}`,
    });
    const worker = await startWorker(configs.worker, {
      ownTemporal: plan.ownTemporal,
      merchantAccounts: plan.accounts !== undefined,
      bundle: services.bundle,
      logger,
      shutdown,
    });
    const routes = await createStackRoutes(plan, configs, {
      worker,
      port: door.port,
      temporalUiUrl: services.temporal?.uiUrl,
      logger,
      shutdown,
    });
    door.open(routes.handler);
    if (plan.accounts) for (const [id, s] of services.sandboxes) s.setWebhookUrl(`${localUrl}${pluralWebhookPath(id)}`);
    else services.sandbox?.setWebhookUrl(`${localUrl}/v1/webhooks/plural`);

    const info = describeStack(plan, configs, { services, worker, routes, startupMs: Date.now() - started });
    return {
      info,
      sandbox: services.sandbox,
      sandboxes: services.sandboxes,
      stop: () => shutdown.run(),
    };
  } catch (err) {
    await shutdown.run();
    throw err;
  }
}
