/**
 * The payment workflow's input, what a continued run carries over, and the state a new payment starts from.
 */
import type { MerchantOutboxState } from './merchant-events';
import { paymentStateOf } from './state';
import type { PaymentState } from './state';
import { PAYMENT_STATUS } from './statuses';
import type {
  CustomerDetails,
  DeviceInfo,
  Money,
  PaymentDurations,
  PaymentLimits,
  PaymentMethodDescriptor,
} from './terms';

/** Workflow input. Holds no card data: only vault handles and the last 4 digits. */
export interface PaymentWorkflowInput {
  /**
   * The merchant account (config/merchants.ts) the payment belongs to; absent: `DEFAULT_MERCHANT_ID`
   * (identifiers.ts). Only the id: the activities look the merchant's Plural credentials up, so no secret enters the
   * history.
   */
  merchantId?: string;
  merchantOrderReference: string;
  amount: Money;
  /** Authorize now and capture later (cards and points only). */
  preAuth: boolean;
  method: PaymentMethodDescriptor;
  customer?: CustomerDetails;
  callbackUrl?: string;
  failureCallbackUrl?: string;
  durations?: Partial<PaymentDurations>;
  limits?: Partial<PaymentLimits>;
  /** The order's `notes` at Plural. */
  notes?: string;
  /** The merchant's own key-value pairs, sent as `purchase_details.merchant_metadata`. */
  merchantMetadata?: Record<string, string>;
  /**
   * The merchant's page the browser returns to after Plural's pages (an allowed host, checked by the API; not a
   * secret). Never sent to Plural: Plural returns the browser to the API's callback, which redirects it here.
   */
  returnUrl?: string;
  /** Browser details for 3-D Secure, sent with the card payment as `device_info`. */
  deviceInfo?: DeviceInfo;
  /** The id of the API request that created the payment (see `OpenPaymentRequest`, messages.ts). */
  requestId?: string;
  /** HMAC of the creating request, no card data: a repeat with another fingerprint is refused. */
  requestFingerprint?: string;
  /**
   * Ids of the merchant's webhook endpoints that hear of this payment's status changes and refunds (see
   * `MerchantEvent`); absent or empty, the payment sends none. Only ids: the worker looks each endpoint's URL
   * and secret up in its configuration, so neither enters history.
   */
  webhookEndpointIds?: string[];
  /**
   * The payment's search-attribute upserts carry only the attributes whose value changed (none when none did, as in
   * the first task of a payment started with its attributes). Set by the API for every payment it starts; absent in
   * payments started before this flag existed, which replay their upserts of all five attributes. An input field and
   * not `patched()`, whose marker would itself upsert the `TemporalChangeVersion` attribute: the write this saves.
   */
  searchAttributeChangesOnly?: boolean;
  /**
   * The payment's summary is split between search attributes and memo: its status, Plural order id and last change
   * (`PaymentUpdatedAt`) are search attributes, and the memo is written again only when the rest of the summary
   * changes (the amounts captured and refunded). Readers lay the attributes over the memo (api/temporal-engine.ts).
   * The Plural order id waits for the payment's next move, so that it costs no visibility write of its own. Set by
   * the API, with {@link searchAttributeChangesOnly}, for every payment it starts; absent in payments started before
   * it existed, which replay writing the memo at every move.
   */
  summaryInSearchAttributes?: boolean;
  /**
   * Set only by the workflow itself when a payment continues as new (a PROCESSED payment waiting out its refund
   * window, a sale Plural is still processing, or a payment closing): the state it carries on with (the new run
   * skips straight to that phase).
   */
  continued?: ContinuedPayment;
}

/** What a payment's next run carries over when it continues as new (`workflows/continue-as-new.ts`). */
export interface ContinuedPayment {
  state: PaymentState;
  /** Gateway events already seen (deduplication of Plural's resends). */
  seenEvents: string[];
  /** Merchant events not yet delivered, and the next event's sequence number. */
  merchantOutbox?: MerchantOutboxState;
  /** Refund orders a webhook named that the last run had not read yet (read by the next as the last would have). */
  refundOrdersNamed?: string[];
  /** Refund orders a webhook named that Plural could not be asked about yet (read again by the next run). */
  refundOrdersUnread?: string[];
  /** Of those, the ones Plural had no order for, with the number of looks that did not find each. */
  refundOrdersNotFound?: Record<string, number>;
}

/** A new payment's state, from its input: CREATED, nothing done yet. */
export function newPaymentState(
  input: PaymentWorkflowInput,
  at: { workflowId: string; createdAt: string; updatedAt: string },
): PaymentState {
  return paymentStateOf({
    workflowId: at.workflowId,
    merchantOrderReference: input.merchantOrderReference,
    method: input.method.kind,
    preAuth: input.preAuth,
    status: PAYMENT_STATUS.CREATED,
    amount: { ...input.amount },
    pluralOrderId: undefined,
    amountCaptured: undefined,
    amountRefunded: undefined,
    returnUrl: input.returnUrl,
    merchantMetadata: input.merchantMetadata === undefined ? undefined : { ...input.merchantMetadata },
    createdAt: at.createdAt,
    updatedAt: at.updatedAt,
  });
}
