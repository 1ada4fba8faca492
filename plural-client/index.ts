/** Plural (Pine Labs) gateway client: HTTP client, wire schemas, statuses, errors and signature helpers. */
export * from './constants';
export * from './schemas';
export * from './errors';
export * from './signatures';
export { PluralClient } from './client';
export type { PluralCallOptions, PluralClientOptions, PluralLogger } from './transport';
export { TokenCache, tokenExpiryMs } from './token-cache';
export type { AccessToken, TokenCacheOptions } from './token-cache';
export { redactSensitive } from './redact';
export { parseWebhookBody } from './webhooks';
export type { ParsedWebhook } from './webhooks';
export { parseCallback } from './callbacks';
export type { ParsedCallback } from './callbacks';
