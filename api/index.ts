/** The HTTP API: the Express app, its server, the payment-engine port and its Temporal implementation. */
export { createApp } from './app';
export { configuredOptions } from './configured';
export type { ConfiguredOptions } from './configured';
export { DEFAULT_TIMINGS } from './options';
export type { ApiOptions, ApiTimings } from './options';
export { EngineUnavailableError, PaymentNotFoundError, UpdateRejectedError } from './engine';
export type {
  Answer,
  CallbackDeliveryOptions,
  CallbackDeliveryOutcome,
  CardVaultPort,
  CreateOutcome,
  DeliveryOutcome,
  PaymentEngine,
  PaymentRecord,
} from './engine';
export { CustomerExistsError, CustomerNotFoundError, GatewayRejectedError, GatewayUnavailableError } from './customers';
export type { CustomerDirectory, CustomerRecord, NewCustomer, SavedCardRecord } from './customers';
export { createPluralCustomerDirectory } from './plural-customers';
export type { PluralCustomerDirectoryOptions } from './plural-customers';
export { createGatewayProbe, createGatewayProbes, pluralOrigins } from './gateway-probe';
export type { GatewayProbe, GatewayProbeOptions, GatewayReachability } from './gateway-probe';
export { startApiServer } from './main';
export type { RunningApi, StartApiOptions } from './main';
export { createMetrics } from './metrics';
export type { ApiMetrics } from './metrics';
export { buildOpenApiDocument } from './openapi';
export { createReturnLinks, RETURN_LINK_PARAM, RETURN_LINK_REFUSAL } from './return-link';
export type { ReturnLinkCheck, ReturnLinkOptions, ReturnLinkRefusal, ReturnLinks } from './return-link';
export {
  canonicalHost,
  checkReturnUrl,
  createReturnUrlPolicy,
  RETURN_PARAM,
  RETURN_URL_NOT_ALLOWED,
  returnRedirectUrl,
  returnSignature,
  returnSignatureCanonical,
  verifyReturn,
} from './return-url';
export type { ReturnUrlCheck, ReturnUrlPolicy, ReturnUrlPolicyOptions, ReturnVerification } from './return-url';
export { createTemporalEngine } from './temporal-engine';
export {
  createIdempotencyMiddleware,
  DEFAULT_MERCHANT_ID,
  IDEMPOTENCY_ERROR_CODE,
  IDEMPOTENCY_HEADER,
  merchantIdOf,
} from './idempotency';
export type { IdempotencyMiddlewareOptions, IdempotencyStore } from './idempotency';
export { createTemporalIdempotencyStore } from './temporal-idempotency-store';
export type { TemporalIdempotencyStoreOptions } from './temporal-idempotency-store';
export type { TemporalEngineOptions } from './temporal-engine';
