/**
 * Worker entry point (`npm run worker`): configuration validated once, Temporal runtime with logs forwarded to the
 * app logger and Prometheus metrics, the payment worker, and a graceful shutdown on SIGINT/SIGTERM.
 */
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig, temporalConnectionOptions, workerSecrets } from '../config';
import type { WorkerConfig } from '../config';
import { createLogger } from '../observability';
import type { AppLogger } from '../observability';
import { WebhookSender } from '../merchant-webhooks';
import { configuredWorkerOptions } from './configured';
import { createMerchantPluralClients } from './plural-clients';
import { installRuntime } from './runtime';
import { ensureSearchAttributes } from './search-attributes';
import { createConfiguredVault } from './vault';
import { createPaymentWorker } from './worker';

/** Exit code for a configuration error (sysexits EX_CONFIG), so orchestrators can tell it from a crash. */
export const EXIT_CONFIG_ERROR = 78;

async function run(config: WorkerConfig, logger: AppLogger): Promise<number> {
  let stopRequested = false;
  let stop: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      logger.warn({ signal }, 'second shutdown signal: exiting without draining');
      process.exit(1);
    }
    stopRequested = true;
    logger.info({ signal }, 'shutdown requested: draining the worker');
    stop?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  installRuntime({ logger, logLevel: config.logLevel, metrics: config.metrics });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  await ensureSearchAttributes(connection, config.temporal.namespace, logger);
  // Each merchant's payments go to Plural with that merchant's account (a client, and token cache, per merchant).
  const plural = createMerchantPluralClients(config.merchants, { timeoutMs: config.plural.timeoutMs, logger });
  const vault = createConfiguredVault(config.cardVault);
  // One sender (one connection pool) for every merchant endpoint, closed with the worker.
  const webhookSender = new WebhookSender();
  if (config.cardVault.kind === 'memory') {
    logger.warn(
      'CARD_VAULT_URL is not set: using an in-process card vault, which only works with the API in this process',
    );
  }
  if (config.payloadEncryption.mode === 'off') {
    logger.warn(
      'PAYLOAD_ENCRYPTION=off: workflow inputs, results, signals and failures are stored in Temporal in clear',
    );
  }
  try {
    const worker = await createPaymentWorker({
      ...configuredWorkerOptions(config),
      connection,
      plural: plural.get,
      vault: vault.vault,
      logger,
      merchantWebhooks: { directory: config.merchantWebhooks.directory, sender: webhookSender },
    });
    const running = worker.run();
    stop = () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    if (stopRequested) stop();
    logger.info(
      {
        temporalAddress: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        cardVault: config.cardVault.kind,
        merchants: config.merchants.ids,
        payloadEncryption:
          config.payloadEncryption.mode === 'on' ? `on (key ${config.payloadEncryption.keys[0]?.id})` : 'off',
        metrics: config.metrics.port > 0 ? `http://${config.metrics.host}:${config.metrics.port}/metrics` : 'off',
      },
      'payment worker started',
    );
    await running;
    logger.info('payment worker stopped');
    return 0;
  } finally {
    await plural.close();
    await webhookSender.close();
    await vault.close();
    await connection.close();
  }
}

/** Loads configuration, runs the worker until a shutdown signal, and returns the process exit code. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger({ name: 'worker' }).fatal({ issues: err.issues }, err.message);
    return EXIT_CONFIG_ERROR;
  }
  const logger = createLogger({ name: 'worker', level: config.logLevel, knownSecrets: workerSecrets(config) });
  try {
    return await run(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'payment worker failed');
    return 1;
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`payment worker failed to start: ${err instanceof Error ? err.name : 'unknown error'}\n`);
      process.exit(1);
    },
  );
}
