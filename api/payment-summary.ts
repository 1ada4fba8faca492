/**
 * The payment's summary in Temporal's visibility store: the memo and search attributes a new payment starts with,
 * what the two say together later, and the state a read answers from them when no worker answers its query. The
 * workflow upserts the attributes that change (workflows/README.md, "Search attributes"); the API's search and its reads
 * without a worker stand on them.
 */
import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import { PAYMENT_STATUS, paymentStateOf, SEARCH_ATTRIBUTE } from '../workflows/definitions';
import type { PaymentState, PaymentStatus, PaymentSummary, PaymentWorkflowInput } from '../workflows/definitions';

/** What the memo's summary says, as a state: correct as of the last status change, without the workflow's details. */
export function stateFromSummary(workflowId: string, summary: PaymentSummary): PaymentState {
  return paymentStateOf({
    workflowId,
    merchantOrderReference: summary.merchantOrderReference,
    method: summary.method,
    preAuth: summary.preAuth,
    status: summary.status,
    amount: summary.amount,
    pluralOrderId: summary.pluralOrderId,
    amountCaptured: summary.amountCaptured,
    amountRefunded: summary.amountRefunded,
    returnUrl: summary.returnUrl,
    merchantMetadata: summary.merchantMetadata,
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
  });
}

/** Whether a memo value is a payment's summary (a payment started by this API has one). */
export const isSummary = (value: unknown): value is PaymentSummary =>
  value !== null && typeof value === 'object' && typeof (value as { status?: unknown }).status === 'string';

const STATUSES: ReadonlySet<string> = new Set(Object.values(PAYMENT_STATUS));

/**
 * The payment's summary as its memo and search attributes tell it together. A payment started with
 * `summaryInSearchAttributes` keeps its status, Plural order id and last change in search attributes and rewrites the
 * memo only when its amounts change, so the attributes win where they are set (the later of the two times for
 * `updatedAt`: a refund updates the memo alone). For older payments both say the same. `createdAt` is the workflow's
 * own (`PaymentCreatedAt`, what `GET /v1/payments/{ref}` shows) once the payment has stated it; the memo's, written by
 * the API a moment before the workflow started, until then.
 */
export function currentSummary(memo: PaymentSummary, attributes: TypedSearchAttributes | undefined): PaymentSummary {
  const status = attributes?.get(SEARCH_ATTRIBUTE.PAYMENT_STATUS);
  const orderId = attributes?.get(SEARCH_ATTRIBUTE.PLURAL_ORDER_ID);
  const updatedAt = attributes?.get(SEARCH_ATTRIBUTE.UPDATED_AT);
  const createdAt = attributes?.get(SEARCH_ATTRIBUTE.CREATED_AT);
  const memoUpdatedMs = Date.parse(memo.updatedAt);
  return {
    ...memo,
    ...(createdAt instanceof Date && Number.isFinite(createdAt.getTime())
      ? { createdAt: createdAt.toISOString() }
      : {}),
    ...(typeof status === 'string' && STATUSES.has(status) ? { status: status as PaymentStatus } : {}),
    ...(typeof orderId === 'string' && orderId.length > 0 ? { pluralOrderId: orderId } : {}),
    ...(updatedAt instanceof Date && !(updatedAt.getTime() <= memoUpdatedMs)
      ? { updatedAt: updatedAt.toISOString() }
      : {}),
  };
}

/**
 * How the payments this API starts write their visibility: search attributes given at start and upserted when they
 * change, the summary's status, order id and last change in search attributes, the memo written at start by the API.
 */
export const START_FLAGS = { searchAttributeChangesOnly: true, summaryInSearchAttributes: true } as const;

/** A new payment's summary, the memo it starts with. */
export function startSummary(input: PaymentWorkflowInput): PaymentSummary {
  const now = new Date().toISOString();
  return {
    merchantOrderReference: input.merchantOrderReference,
    method: input.method.kind,
    preAuth: input.preAuth,
    status: PAYMENT_STATUS.CREATED,
    pluralOrderId: undefined,
    amount: input.amount,
    amountCaptured: undefined,
    amountRefunded: undefined,
    ...(input.returnUrl !== undefined ? { returnUrl: input.returnUrl } : {}),
    ...(input.merchantMetadata !== undefined ? { merchantMetadata: input.merchantMetadata } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

/** A new payment's search attributes, set at its start (the workflow upserts those that change afterwards). */
export function startSearchAttributes(merchantOrderReference: string, merchantId: string): SearchAttributePair[] {
  return [
    { key: SEARCH_ATTRIBUTE.PAYMENT_STATUS, value: PAYMENT_STATUS.CREATED },
    { key: SEARCH_ATTRIBUTE.MERCHANT_ORDER_REFERENCE, value: merchantOrderReference },
    { key: SEARCH_ATTRIBUTE.PARKED_OPERATION, value: 'none' },
    { key: SEARCH_ATTRIBUTE.MERCHANT_ID, value: merchantId },
  ];
}
