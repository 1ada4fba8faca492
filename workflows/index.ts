/** Workflow entry point for the worker's bundle. */
export { paymentWorkflow } from './payment';
export { idempotencyKeyWorkflow } from './idempotency-key';
