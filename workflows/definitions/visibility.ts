/**
 * What a payment shows Temporal's visibility store: its search attributes (register them on the namespace before
 * starting workers: the worker adds missing ones) and its memo, from which the API answers when no worker does.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { Money, PaymentMethodKind } from './terms';
import type { PaymentStatus } from './statuses';

export const SEARCH_ATTRIBUTE = {
  PAYMENT_STATUS: defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD),
  MERCHANT_ORDER_REFERENCE: defineSearchAttributeKey('MerchantOrderReference', SearchAttributeType.KEYWORD),
  PLURAL_ORDER_ID: defineSearchAttributeKey('PluralOrderId', SearchAttributeType.KEYWORD),
  /** The parked operation (e.g. `capture`) while the payment waits for an operator; removed once resolved. */
  PARKED_OPERATION: defineSearchAttributeKey('PaymentParkedOperation', SearchAttributeType.KEYWORD),
  /** The merchant account the payment belongs to (`MerchantId = "acme"` in the Temporal UI). */
  MERCHANT_ID: defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD),
  /**
   * When the payment last changed (its `updatedAt`), upserted with each status change by payments started with
   * `PaymentWorkflowInput.summaryInSearchAttributes` (input.ts); absent before the first change.
   */
  UPDATED_AT: defineSearchAttributeKey('PaymentUpdatedAt', SearchAttributeType.DATETIME),
  /**
   * When the payment was created (its `createdAt`: its first run's start), stated by the workflow with every
   * search-attribute upsert and carried over continue-as-new, where the run's `StartTime` moves on. Absent before the
   * first upsert (the run's `StartTime` is then the same instant) and in a payment that has not moved since it existed.
   */
  CREATED_AT: defineSearchAttributeKey('PaymentCreatedAt', SearchAttributeType.DATETIME),
} as const;

/** Memo key of the payment's {@link PaymentSummary}, kept current by the workflow at every status change. */
export const PAYMENT_MEMO_KEY = 'payment';
/** Memo key of the creating request's fingerprint, set at start. */
export const FINGERPRINT_MEMO_KEY = 'requestFingerprint';

/** What the memo holds: enough to answer a read when no worker answers the query (marked stale by the API). */
export interface PaymentSummary {
  merchantOrderReference: string;
  method: PaymentMethodKind;
  preAuth: boolean;
  status: PaymentStatus;
  pluralOrderId: string | undefined;
  amount: Money;
  amountCaptured: Money | undefined;
  amountRefunded: Money | undefined;
  /** Set at the create; absent in memos written before return URLs existed. */
  returnUrl?: string;
  merchantMetadata?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}
