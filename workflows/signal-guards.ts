/**
 * Shape checks of the gateway's Signals. The API sends them from verified callbacks and webhooks, but a Signal can
 * reach the workflow from anyone who reaches Temporal, with any payload: each is checked here, by hand (workflow code
 * stays free of libraries), and a malformed one is ignored and noted, never acted on. The rules follow the API's own
 * parsing (plural-client/schemas.ts) with room to spare, so nothing the API sends is refused.
 */
/** Printable ASCII without spaces: Plural's order ids, webhook ids, error codes. */
const ID = /^[\x21-\x7E]+$/;
/** Plural's status and event names: `PROCESSED`, `ORDER_AUTHORIZED`… */
const NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const CURRENCY = /^[A-Z]{3}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max && ID.test(v);
const isName = (v: unknown): v is string => typeof v === 'string' && NAME.test(v);
const isOptionalText = (v: unknown, max: number): boolean =>
  v === undefined || (typeof v === 'string' && v.length <= max);

/** Longest error code and message kept from a gateway event (Plural's are far shorter). */
export const MAX_ERROR_CODE = 128;
export const MAX_ERROR_MESSAGE = 4096;

/** What is wrong with a `callbackReceived` payload, or `undefined` when it has the shape the API sends. */
export function callbackSignalProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the payload is not an object';
  if (!isId(value.orderId, 128)) return 'orderId must be a Plural order id (1-128 printable characters)';
  if (!isName(value.status)) return 'status must be a status name (A-Z, 0-9, _)';
  if (!isOptionalText(value.errorCode, MAX_ERROR_CODE)) return `errorCode must be text of at most ${MAX_ERROR_CODE}`;
  if (!isOptionalText(value.errorMessage, MAX_ERROR_MESSAGE)) {
    return `errorMessage must be text of at most ${MAX_ERROR_MESSAGE}`;
  }
  return undefined;
}

/** What is wrong with a `webhookReceived` payload, or `undefined` when it has the shape the API sends. */
export function webhookSignalProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the payload is not an object';
  if (!isId(value.webhookId, 256)) return 'webhookId must be 1-256 printable characters';
  if (!isName(value.eventType)) return 'eventType must be an event name (A-Z, 0-9, _)';
  if (!isId(value.orderId, 128)) return 'orderId must be a Plural order id (1-128 printable characters)';
  if (!isName(value.orderStatus)) return 'orderStatus must be a status name (A-Z, 0-9, _)';
  if (value.parentOrderId !== undefined && !isId(value.parentOrderId, 128)) {
    return 'parentOrderId must be a Plural order id (1-128 printable characters)';
  }
  const amount = value.capturedAmount;
  if (
    amount !== undefined &&
    !(
      isRecord(amount) &&
      Number.isSafeInteger(amount.value) &&
      (amount.value as number) >= 0 &&
      typeof amount.currency === 'string' &&
      CURRENCY.test(amount.currency)
    )
  ) {
    return 'capturedAmount must be { value: integer minor units >= 0, currency: ISO 4217 code }';
  }
  if (!isOptionalText(value.errorCode, MAX_ERROR_CODE)) return `errorCode must be text of at most ${MAX_ERROR_CODE}`;
  if (!isOptionalText(value.errorMessage, MAX_ERROR_MESSAGE)) {
    return `errorMessage must be text of at most ${MAX_ERROR_MESSAGE}`;
  }
  return undefined;
}
