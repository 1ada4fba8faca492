/**
 * The payment workflow's public contract: callers (the API, the worker, operators' scripts) import this folder; it
 * holds no workflow body. One module per concern:
 *
 * - `identifiers.ts`: task queue, workflow type, workflow ids;
 * - `statuses.ts`: statuses, failure types, closing reasons, next actions;
 * - `terms.ts`: money, methods, customer and device, durations and limits with their defaults;
 * - `input.ts`: the workflow's input, and the state a new payment starts from;
 * - `messages.ts`: Updates (and why a validator refuses one), Signals, the query;
 * - `state.ts`: what `getPayment` answers;
 * - `merchant-events.ts`: the merchant webhooks' event types and outbox;
 * - `visibility.ts`: search attributes and memo.
 */
export * from './identifiers';
export * from './statuses';
export * from './terms';
export * from './input';
export * from './messages';
export * from './state';
export * from './merchant-events';
export * from './visibility';
