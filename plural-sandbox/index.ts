/** Plural (Pine Labs) gateway sandbox: a local simulator with real state, signed callbacks/webhooks and faults. */
export { startSandbox, createApp, type RunningSandbox } from './server';
export {
  resolveOptions,
  DEFAULT_CREDENTIALS,
  DEFAULT_OTP,
  NO_FAULTS,
  SandboxOptionsError,
  type SandboxOptions,
  type FaultConfig,
  type OtpLimits,
  type CallbackMode,
  type CallbackStatusField,
  type CheckoutPreAuthOtherMethods,
  type SaleSettlement,
} from './options';
export { TEST_CARDS, type TestCard, type CardProfile, type CardOutcome } from './cards';
export {
  ORDER_STATUS,
  PAYMENT_STATUS,
  WEBHOOK_EVENT,
  type OrderStatus,
  type PaymentStatus,
  type WebhookEvent,
} from './state-machine';
export { ERROR_CODES, type ErrorCode } from './errors';
export type { OrderSummary } from './order-view';
export type { SettleOutcome } from './settlement';
export type { WebhookDelivery } from './webhooks';
export { RETRY_SCHEDULE_SECONDS } from './webhooks';
export { signCallback, signWebhook } from './signatures';
export { CONTROL_PREFIX } from './routes/control';
export type { InjectedFault } from './faults';
