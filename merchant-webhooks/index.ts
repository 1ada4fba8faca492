/**
 * Merchant webhooks: the events a payment sends its merchant's backend (every status change and refund), signed the
 * Standard Webhooks way, the directory of the merchants' endpoints, and the sender the worker's activity uses. The dev
 * stack's receiver is in `dev/merchant-webhook-receiver.ts`.
 */
export { staticWebhookDirectory } from './endpoints';
export type { MerchantWebhookDirectory, MerchantWebhookEndpoint } from './endpoints';
export { deliveryEventId, merchantEventBody, merchantEventId } from './events';
export type { MerchantEventBody } from './events';
export { newWebhookSecret, signWebhook, verifyWebhook, WEBHOOK_SECRET_PATTERN } from './signing';
export type { StandardWebhookHeaders, VerifyResult } from './signing';
export { WebhookSender } from './sender';
export type { SendResult, WebhookSenderOptions } from './sender';
