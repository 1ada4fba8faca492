/**
 * The stack's payment worker and what it shares with the API: the in-memory card vault, the Plural clients (one per
 * merchant account, as `npm run worker` keeps them, or the single merchant's) and the payload converter.
 */
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { InMemoryCardVault } from '../../card-vault';
import { temporalConnectionOptions } from '../../config';
import type { WorkerConfig } from '../../config';
import { WebhookSender } from '../../merchant-webhooks';
import type { AppLogger } from '../../observability';
import { PluralClient } from '../../plural-client';
import {
  configuredWorkerOptions,
  createMerchantPluralClients,
  createPaymentWorker,
  ensureSearchAttributes,
} from '../../worker';
import type { MerchantPluralClientSet } from '../../worker';
import { DEFAULT_MERCHANT_ID } from '../../workflows/definitions';
import type { DevWorkflowBundle } from '../workflow-bundle';
import type { Shutdown } from './shutdown';

/** The running worker's parts the API shares. */
export interface StackWorker {
  readonly vault: InMemoryCardVault;
  readonly dataConverter: DataConverter;
  /** With merchant accounts: each merchant's Plural client. */
  readonly merchantClients: MerchantPluralClientSet | undefined;
  /** Without merchant accounts: the single merchant's Plural client. */
  readonly plural: PluralClient | undefined;
  /** The `default` merchant, or with merchant accounts the first, and its Plural origin. */
  readonly merchant: { readonly id: string; readonly pluralBaseUrl: string };
}

/**
 * Connects to Temporal, builds the worker and runs it; `shutdown` drains it, then closes its clients.
 * @param ownTemporal the stack's dev server runs (it registered the search attributes; TEMPORAL_TLS* and
 * TEMPORAL_API_KEY are for a cluster in TEMPORAL_ADDRESS, not for it)
 */
export async function startWorker(
  config: WorkerConfig,
  options: {
    ownTemporal: boolean;
    merchantAccounts: boolean;
    bundle: DevWorkflowBundle | undefined;
    logger: AppLogger;
    shutdown: Shutdown;
  },
): Promise<StackWorker> {
  const { logger, shutdown } = options;
  const connection = await NativeConnection.connect(
    options.ownTemporal ? { address: config.temporal.address } : temporalConnectionOptions(config.temporal),
  );
  shutdown.add(() => connection.close());
  // A cluster in TEMPORAL_ADDRESS may not have them yet.
  if (!options.ownTemporal) await ensureSearchAttributes(connection, config.temporal.namespace, logger);

  const vault = new InMemoryCardVault();
  shutdown.add(() => vault.close());
  const merchantClients = options.merchantAccounts
    ? createMerchantPluralClients(config.merchants, { timeoutMs: config.plural.timeoutMs, logger })
    : undefined;
  if (merchantClients) shutdown.add(() => merchantClients.close());
  const merchant = config.merchants.get(options.merchantAccounts ? config.merchants.ids[0]! : DEFAULT_MERCHANT_ID);
  const credentials = merchant?.plural.credentials;
  if (!merchant?.plural.baseUrl || !credentials) throw new TypeError('dev stack: the default merchant is missing');
  const plural = merchantClients
    ? undefined
    : new PluralClient({
        baseUrl: merchant.plural.baseUrl,
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        timeoutMs: config.plural.timeoutMs,
        logger: logger.child({ component: 'plural-client' }),
      });
  if (plural) shutdown.add(() => plural.close());
  const webhookSender = new WebhookSender();
  shutdown.add(() => webhookSender.close());

  if (config.payloadEncryption.mode === 'off') {
    logger.warn(
      'PAYLOAD_ENCRYPTION=off: workflow inputs, results, signals and failures are stored in Temporal in clear',
    );
  }
  const configured = configuredWorkerOptions(config);
  const worker = await createPaymentWorker({
    ...configured,
    connection,
    plural: merchantClients ? merchantClients.get : plural!,
    vault,
    logger,
    merchantWebhooks: { directory: config.merchantWebhooks.directory, sender: webhookSender },
    // The bundle the stack loaded (cached or built), unless WORKFLOW_BUNDLE_PATH names one.
    ...(options.bundle ? { workflowBundle: options.bundle.bundle } : {}),
  });
  const running = worker.run();
  running.catch((err: unknown) => logger.error({ err }, 'payment worker stopped with an error'));
  shutdown.add(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
  });
  return {
    vault,
    dataConverter: configured.dataConverter,
    merchantClients,
    plural,
    merchant: { id: merchant.id, pluralBaseUrl: merchant.plural.baseUrl },
  };
}
