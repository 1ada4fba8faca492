/**
 * One Plural client per merchant account (config/merchants.ts): each with its own credentials and so its own access
 * token cache, so a payment is always taken to Plural with its own merchant's account.
 */
import type { MerchantDirectory } from '../config/merchants';
import type { AppLogger } from '../observability';
import { PluralClient } from '../plural-client';

/** Each merchant's Plural client, and how to close them all. */
export interface MerchantPluralClientSet {
  /** The merchant's client; undefined for a merchant this process has no account for. */
  readonly get: (merchantId: string) => PluralClient | undefined;
  readonly close: () => Promise<void>;
}

/**
 * Builds a Plural client for each merchant of `merchants` that has an origin and credentials (the worker's loader
 * requires both of every merchant).
 */
export function createMerchantPluralClients(
  merchants: MerchantDirectory,
  options: { timeoutMs?: number; logger?: AppLogger },
): MerchantPluralClientSet {
  const clients = new Map<string, PluralClient>();
  for (const m of merchants.merchants) {
    const { baseUrl, credentials } = m.plural;
    if (baseUrl === undefined || credentials === undefined) continue;
    clients.set(
      m.id,
      new PluralClient({
        baseUrl,
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.logger ? { logger: options.logger.child({ component: 'plural-client', merchantId: m.id }) } : {}),
      }),
    );
  }
  return {
    get: (merchantId) => clients.get(merchantId),
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}
