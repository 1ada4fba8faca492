/**
 * API entry point (`npm run api`): configuration validated once (`loadApiConfig`), a Temporal client, and
 * {@link startApiServer}; stops cleanly on SIGINT/SIGTERM. Workers run elsewhere (`npm run worker`) and reach the
 * card vault this process serves, when `CARD_VAULT_TOKEN` is set, on a listener of its own (`CARD_VAULT_HOST`:
 * `CARD_VAULT_PORT`), never on the API's public port.
 */
import { Client, Connection } from '@temporalio/client';
import { createCardVaultRouter, InMemoryCardVault, listenCardVault } from '../card-vault';
import { apiSecrets, ConfigError, loadApiConfig, resolveApiUrls, temporalConnectionOptions } from '../config';
import type { ApiConfig } from '../config';
import { createLogger } from '../observability';
import { createDataConverter } from '../payload-codec';
import type { AppLogger } from '../observability';
import { PluralClient } from '../plural-client';
import { configuredOptions } from './configured';
import { createGatewayProbes, pluralOrigins } from './gateway-probe';
import { startApiServer } from './main';
import { createPluralCustomerDirectory } from './plural-customers';
import { createReturnUrlPolicy } from './return-url';
import { DEFAULT_MERCHANT_ID } from '../workflows/definitions';
import { createTemporalEngine } from './temporal-engine';
import { createTemporalIdempotencyStore } from './temporal-idempotency-store';

/** Exit code for a configuration error (sysexits EX_CONFIG), as `npm run worker` uses. */
export const EXIT_CONFIG_ERROR = 78;

async function run(config: ApiConfig, logger: AppLogger): Promise<number> {
  if (config.payloadEncryption.mode === 'off') {
    logger.warn('PAYLOAD_ENCRYPTION=off: workflow inputs, signals and results are stored in Temporal in clear');
  }
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const router =
    config.cardVaultToken !== undefined ? createCardVaultRouter({ token: config.cardVaultToken }) : undefined;
  const memoryVault = router ? undefined : new InMemoryCardVault();
  const vaultServer = router
    ? await listenCardVault(router, config.cardVaultListen.host, config.cardVaultListen.port)
    : undefined;
  if (memoryVault) {
    logger.warn(
      'CARD_VAULT_TOKEN is not set: cards stay in this process, which no worker in another process can reach; ' +
        'set CARD_VAULT_TOKEN here and CARD_VAULT_URL + CARD_VAULT_TOKEN on the workers',
    );
  }
  const { baseUrl, timeoutMs } = config.plural;
  // The API calls Plural itself only for customers and saved cards, each merchant with its own account; a merchant
  // without credentials (or a Plural origin) gets 503 on those routes.
  const pluralClients = new Map<string, PluralClient>();
  for (const m of config.merchants.merchants) {
    const origin = m.plural.baseUrl ?? baseUrl;
    if (origin === undefined || m.plural.credentials === undefined) continue;
    pluralClients.set(
      m.id,
      new PluralClient({
        baseUrl: origin,
        ...m.plural.credentials,
        timeoutMs,
        logger: logger.child({ component: 'plural-client', merchantId: m.id }),
      }),
    );
  }
  const customers = new Map(
    [...pluralClients].map(([id, plural]) => [id, createPluralCustomerDirectory({ plural, timeoutMs })]),
  );
  const gatewayProbe = createGatewayProbes(pluralOrigins(config.merchants.merchants, baseUrl));
  const urls = resolveApiUrls(config, config.listen.port);
  if (config.returnUrls.success === undefined || config.returnUrls.failure === undefined) {
    logger.warn(
      { returnUrls: urls.returnUrls },
      'MERCHANT_SUCCESS_URL / MERCHANT_FAILURE_URL unset: the callback redirects to /dev/return, which only the dev stack serves',
    );
  }
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: createDataConverter(config.payloadEncryption),
  });
  // One engine per merchant over the one client: each reaches its merchant's payments only.
  const engineFor = (merchantId: string) =>
    createTemporalEngine({ client, taskQueue: config.temporal.taskQueue, merchantId });
  const api = await startApiServer({
    host: config.listen.host,
    port: config.listen.port,
    engine: engineFor(config.merchants.ids[0] ?? DEFAULT_MERCHANT_ID),
    engineFor,
    idempotency: createTemporalIdempotencyStore({ client, taskQueue: config.temporal.taskQueue }),
    vault: router ? router.localVault : memoryVault!,
    customersFor: (merchantId) => customers.get(merchantId),
    ...(gatewayProbe ? { gatewayProbe } : {}),
    merchants: config.merchants.merchants,
    ...configuredOptions(config, config.listen.port),
    returnUrlPolicy: createReturnUrlPolicy({
      merchants: config.merchants,
      allowHttpLoopback: config.returnUrl.allowHttpLoopback,
    }),
    logger,
  });
  logger.info(
    {
      url: api.url,
      publicUrl: urls.publicUrl,
      callbackUrl: urls.callbackUrl,
      temporalAddress: config.temporal.address,
      namespace: config.temporal.namespace,
      cardVault: vaultServer ? vaultServer.url : 'memory',
      metrics: config.metricsToken !== undefined ? 'token' : 'open',
      merchants: config.merchants.ids,
    },
    'API listening',
  );

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'shutdown requested: stopping the API');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await api.stop();
  await vaultServer?.close();
  router?.close();
  memoryVault?.close();
  for (const plural of pluralClients.values()) await plural.close();
  await gatewayProbe?.close();
  await connection.close();
  logger.info('API stopped');
  return 0;
}

/** Loads configuration, serves until a shutdown signal, and returns the process exit code. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: ApiConfig;
  try {
    config = loadApiConfig(env);
    if (config.listen.port === 0 && config.publicUrl === undefined) {
      throw new ConfigError('api', [
        { key: 'API_PUBLIC_URL', message: 'is required when API_PORT is 0 (the callback URL needs the port)' },
      ]);
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger({ name: 'api' }).fatal({ issues: err.issues }, err.message);
    return EXIT_CONFIG_ERROR;
  }
  const logger = createLogger({ name: 'api', level: config.logLevel, knownSecrets: apiSecrets(config) });
  try {
    return await run(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'API failed');
    return 1;
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`API failed to start: ${err instanceof Error ? err.name : 'unknown error'}\n`);
      process.exit(1);
    },
  );
}
