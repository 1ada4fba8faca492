/** Where everything in the stack is: printed at start-up by `dev/start.ts` and in its machine-readable `READY` line. */
import { DEV_API_KEY, DEV_CODEC_TOKEN } from '../../config';
import { pluralWebhookPath } from '../../api/routes/gateway-events';
import type { StackConfigs, StackPlan } from './plan';
import { RECEIVER_PATH } from './plan';
import type { StackRoutes } from './routes';
import type { StackServices } from './services';
import type { StackWorker } from './worker';

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

/** The running stack's {@link DevStackInfo}. */
export function describeStack(
  plan: StackPlan,
  configs: StackConfigs,
  running: { services: StackServices; worker: StackWorker; routes: StackRoutes; startupMs: number },
): DevStackInfo {
  const { worker: workerConfig, dev } = configs;
  const { services, worker, routes } = running;
  const { sandbox, sandboxes } = services;
  const api = routes.publicUrl;
  const metricsPort = workerConfig.metrics.port;
  const encryption = workerConfig.payloadEncryption;
  return {
    api,
    docs: `${api}/docs`,
    openapi: `${api}/openapi.json`,
    apiMetrics: `${api}/metrics`,
    workerMetrics: metricsPort > 0 ? `http://${workerConfig.metrics.host}:${metricsPort}/metrics` : undefined,
    returnPage: `${api}/dev/return`,
    merchantWebhooks: {
      endpoint: routes.webhookEndpoint?.url,
      receiver: plan.ownReceiver ? `${api}${RECEIVER_PATH}` : undefined,
    },
    temporal: {
      address: workerConfig.temporal.address,
      namespace: workerConfig.temporal.namespace,
      devServer: plan.ownTemporal,
      dbFile: services.dbFile,
    },
    temporalUi: services.temporal?.uiUrl,
    plural: {
      baseUrl: worker.merchant.pluralBaseUrl,
      sandbox: sandbox !== undefined && (!plan.accounts || sandboxes.has(worker.merchant.id)),
      controlToken: sandbox?.controlToken,
    },
    merchants: plan.accounts
      ? workerConfig.merchants.merchants.map((m) => ({
          id: m.id,
          pluralBaseUrl: m.plural.baseUrl ?? '',
          sandbox: sandboxes.has(m.id),
          controlToken: sandboxes.get(m.id)?.controlToken,
          webhookPath: pluralWebhookPath(m.id),
        }))
      : undefined,
    devApiKey: plan.devApiKey ? DEV_API_KEY : undefined,
    codec:
      encryption.mode === 'on'
        ? {
            endpoint: `${api}/codec`,
            keyIds: encryption.keys.map((k) => k.id),
            keyFile: plan.devKeys?.file,
            devToken: dev.CODEC_SERVER_TOKENS || plan.realGateway ? undefined : DEV_CODEC_TOKEN,
          }
        : undefined,
    workflowBundle: services.bundle?.source ?? 'configured',
    startupMs: running.startupMs,
  };
}
