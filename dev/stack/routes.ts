/**
 * What the stack's one HTTP server answers: the API (as `npm run api` builds it, over the worker's card vault and
 * Plural clients), and the stack's own pages: the stand-in merchant return page (`/dev/return`), the merchant webhook
 * receiver (`/dev/merchant-webhooks`) and the payload codec for the Temporal UI and CLI (`/codec`).
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import express from 'express';
import {
  configuredOptions,
  createApp,
  createGatewayProbes,
  createPluralCustomerDirectory,
  createReturnLinks,
  createReturnUrlPolicy,
  createTemporalEngine,
  createTemporalIdempotencyStore,
  pluralOrigins,
} from '../../api';
import { DEV_CODEC_TOKEN, ENV_WEBHOOK_ENDPOINT_ID, resolveApiUrls, temporalConnectionOptions } from '../../config';
import type { MerchantWebhookEndpoint } from '../../config';
import type { AppLogger } from '../../observability';
import type { PluralClient } from '../../plural-client';
import { createCodecRouter, EncryptionCodec } from '../../payload-codec';
import { DEFAULT_MERCHANT_ID } from '../../workflows/definitions';
import { createWebhookReceiverRouter } from '../merchant-webhook-receiver';
import { createReturnPageRouter } from '../return-page';
import { RECEIVER_PATH } from './plan';
import type { StackConfigs, StackPlan } from './plan';
import type { Shutdown } from './shutdown';
import type { StackWorker } from './worker';

/** The server's request handler and the addresses it answers at. */
export interface StackRoutes {
  readonly handler: http.RequestListener;
  /** The API's public origin (`API_PUBLIC_URL`, or the bound address). */
  readonly publicUrl: string;
  /** The `default` merchant's webhook endpoint. */
  readonly webhookEndpoint: MerchantWebhookEndpoint | undefined;
}

/** The origins a browser may send for the UI at `uiUrl` (127.0.0.1 and localhost name the same loopback UI). */
function uiOriginsOf(uiUrl: string): string[] {
  const url = new URL(uiUrl);
  const origins = [url.origin];
  if (url.hostname === '127.0.0.1') origins.push(`${url.protocol}//localhost:${url.port}`);
  return origins;
}

const underPrefix = (url: string | undefined, prefix: string): boolean =>
  url === prefix || url?.startsWith(`${prefix}/`) === true || url?.startsWith(`${prefix}?`) === true;

/**
 * Connects the API to Temporal and builds every route; `shutdown` closes the connection and the gateway probes.
 * @param port the bound port of the server
 * @param temporalUiUrl the stack's own Temporal UI, trusted by the codec endpoint; undefined with TEMPORAL_ADDRESS
 */
export async function createStackRoutes(
  plan: StackPlan,
  configs: StackConfigs,
  parts: {
    worker: StackWorker;
    port: number;
    temporalUiUrl: string | undefined;
    logger: AppLogger;
    shutdown: Shutdown;
  },
): Promise<StackRoutes> {
  const { api: apiConfig, worker: workerConfig, dev } = configs;
  const { worker, logger, shutdown } = parts;
  const accounts = plan.accounts !== undefined;
  const connection = await Connection.connect(
    plan.ownTemporal ? { address: apiConfig.temporal.address } : temporalConnectionOptions(apiConfig.temporal),
  );
  shutdown.add(() => connection.close());

  const urls = resolveApiUrls(apiConfig, parts.port);
  const client = new Client({
    connection,
    namespace: apiConfig.temporal.namespace,
    dataConverter: worker.dataConverter,
  });
  const taskQueue = apiConfig.temporal.taskQueue;
  // One engine per merchant over the one client, as `npm run api` has them.
  const engineFor = (merchantId: string) => createTemporalEngine({ client, taskQueue, merchantId });
  const engine = accounts ? engineFor(worker.merchant.id) : createTemporalEngine({ client, taskQueue });
  const idempotency = createTemporalIdempotencyStore({ client, taskQueue });
  // Every Plural origin in use, the single merchant's or each merchant account's.
  const gatewayProbe = createGatewayProbes(pluralOrigins(apiConfig.merchants.merchants, apiConfig.plural.baseUrl));
  if (gatewayProbe) shutdown.add(() => gatewayProbe.close());
  // The callback's redirect to /dev/return is signed with a key made for this run: links die with the stack.
  const returnLinks = createReturnLinks({ key: randomBytes(32) });
  // The customer routes call Plural with PLURAL_TIMEOUT_MS, as `npm run api` does.
  const customersOf = (plural: PluralClient) =>
    createPluralCustomerDirectory({ plural, timeoutMs: apiConfig.plural.timeoutMs });
  const { merchantClients } = worker;
  const customers = new Map<string, ReturnType<typeof customersOf>>();
  for (const id of apiConfig.merchants.ids) {
    const plural = merchantClients?.get(id);
    if (plural) customers.set(id, customersOf(plural));
  }
  const tenancy = merchantClients
    ? {
        merchants: apiConfig.merchants.merchants,
        engineFor,
        customersFor: (id: string) => customers.get(id),
        returnUrlPolicy: createReturnUrlPolicy({
          merchants: apiConfig.merchants,
          allowHttpLoopback: apiConfig.returnUrl.allowHttpLoopback,
        }),
      }
    : {
        customers: customersOf(worker.plural!),
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
    vault: worker.vault,
    idempotency,
    ...tenancy,
    ...(gatewayProbe ? { gatewayProbe } : {}),
    ...configuredOptions(apiConfig, parts.port),
    returnLinks,
    logger: logger.child({ component: 'api' }),
  });

  const devApp = express();
  devApp.disable('x-powered-by');
  const webhookEndpoint = workerConfig.merchantWebhooks.directory.merchantWebhookEndpoint(
    'default',
    ENV_WEBHOOK_ENDPOINT_ID,
  );
  if (plan.ownReceiver && webhookEndpoint) {
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
    const uiOrigins = parts.temporalUiUrl !== undefined ? uiOriginsOf(parts.temporalUiUrl) : [];
    devApp.use(
      '/codec',
      createCodecRouter({
        // A viewer: it shows a plain-text payload someone wrote without the codec, which the worker refuses.
        codec: new EncryptionCodec({ keys: encryption.keys, unencrypted: 'pass' }),
        // With a real Plural, no published token: the CLI needs CODEC_SERVER_TOKENS of the operator's own.
        auth: {
          kind: 'token',
          tokens: dev.CODEC_SERVER_TOKENS ?? (plan.realGateway ? [] : [DEV_CODEC_TOKEN]),
          trustedOrigins: uiOrigins,
        },
        corsOrigins: [...(dev.CODEC_CORS_ORIGINS ?? []), ...uiOrigins],
        logger: logger.child({ component: 'codec' }),
      }),
    );
  }
  return {
    handler: (req, res) => {
      if (underPrefix(req.url, '/dev') || underPrefix(req.url, '/codec')) devApp(req, res);
      else apiApp(req, res);
    },
    publicUrl: urls.publicUrl,
    webhookEndpoint,
  };
}
