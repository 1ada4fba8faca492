/**
 * The API's options that come straight from its configuration (`loadApiConfig`), built once here for both processes
 * that serve the API — `npm run api` (api/server.ts) and the dev stack (dev/stack/routes.ts) — so a setting one of
 * them reads cannot be forgotten by the other (the dev stack once ignored `API_METRICS_TOKEN`).
 */
import { resolveApiUrls } from '../config';
import type { ApiConfig } from '../config';
import type { ApiOptions } from './options';

/** What {@link configuredOptions} fills in. */
export type ConfiguredOptions = Pick<
  ApiOptions,
  | 'fingerprintKey'
  | 'publicBaseUrl'
  | 'returnUrls'
  | 'timings'
  | 'paymentDurations'
  | 'paymentLimits'
  | 'merchantWebhooks'
  | 'maxAmount'
  | 'bodyLimitBytes'
  | 'metricsToken'
>;

/**
 * The options `config` sets, with the public and return URLs resolved for the port the server is bound to (the
 * same as `API_PORT` unless that is 0).
 */
export function configuredOptions(config: ApiConfig, boundPort: number): ConfiguredOptions {
  const urls = resolveApiUrls(config, boundPort);
  return {
    fingerprintKey: config.fingerprintKey,
    publicBaseUrl: urls.publicUrl,
    returnUrls: urls.returnUrls,
    timings: config.timings,
    paymentDurations: config.paymentDurations,
    ...(Object.keys(config.paymentLimits).length > 0 ? { paymentLimits: config.paymentLimits } : {}),
    merchantWebhooks: config.merchantWebhooks.directory,
    ...(config.maxAmount !== undefined ? { maxAmount: config.maxAmount } : {}),
    ...(config.bodyLimitBytes !== undefined ? { bodyLimitBytes: config.bodyLimitBytes } : {}),
    ...(config.metricsToken !== undefined ? { metricsToken: config.metricsToken } : {}),
  };
}
