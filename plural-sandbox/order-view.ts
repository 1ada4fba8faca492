import { profileByKey } from './cards';
import type { Money, OrderRecord, PaymentRecord } from './store';
import type { OrderStatus, PaymentStatus } from './state-machine';

/** The sandbox's merchant id, as Plural puts it on every order. */
export const MERCHANT_ID = '104359';

const iso = (ms: number): string => new Date(ms).toISOString();
const money = (m: Money): Money => ({ value: m.value, currency: m.currency });

function paymentJson(payment: PaymentRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { id: payment.id };
  if (payment.merchantPaymentReference !== undefined) {
    out.merchant_payment_reference = payment.merchantPaymentReference;
  }
  out.status = payment.status;
  out.payment_amount = money(payment.amount);
  out.payment_method = payment.method;
  if (payment.method === 'CARD') {
    const profile = profileByKey(payment.cardKey);
    out.payment_option = {
      card_data: {
        card_type: profile?.type ?? 'CREDIT',
        network_name: profile?.network ?? 'UNKNOWN',
        issuer_name: profile?.issuer ?? 'NONE',
        card_category: profile?.category ?? 'CONSUMER',
        country_code: 'IND',
        token_txn_type: payment.tokenTxnType ?? 'ALT_TOKEN',
        ...(payment.last4 !== undefined ? { last4_digit: payment.last4 } : {}),
      },
    };
  }
  const approved = payment.status === 'AUTHORIZED' || payment.status === 'PROCESSED' || payment.status === 'CANCELLED';
  out.acquirer_data = {
    approval_code: approved ? '000000' : '',
    acquirer_reference: payment.acquirerReference,
    rrn: approved ? payment.acquirerReference.slice(-12) : '',
  };
  if (payment.captures.length > 0) {
    out.capture_data = payment.captures.map((c) => ({
      merchant_capture_reference: c.merchantCaptureReference,
      capture_amount: money(c.amount),
      created_at: iso(c.at),
    }));
  }
  if (payment.errorDetail) out.error_detail = { ...payment.errorDetail };
  out.created_at = iso(payment.createdAt);
  out.updated_at = iso(payment.updatedAt);
  return out;
}

/** The order object exactly as Plural's Orders API returns it inside `data`. */
export function orderJson(order: OrderRecord, maxPaymentAttempts: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    order_id: order.id,
    merchant_order_reference: order.merchantOrderReference,
    type: order.type,
    status: order.status,
    merchant_id: MERCHANT_ID,
    order_amount: money(order.amount),
    pre_auth: order.preAuth,
  };
  if (order.parentOrderId !== undefined) out.parent_order_id = order.parentOrderId;
  if (order.allowedPaymentMethods) out.allowed_payment_methods = [...order.allowedPaymentMethods];
  if (order.notes !== undefined) out.notes = order.notes;
  if (order.callbackUrl !== undefined) out.callback_url = order.callbackUrl;
  if (order.failureCallbackUrl !== undefined) out.failure_callback_url = order.failureCallbackUrl;
  if (order.purchaseDetails !== undefined) out.purchase_details = order.purchaseDetails;
  out.payments = order.payments.map(paymentJson);
  if (order.type === 'CHARGE') out.payment_retries_remaining = Math.max(0, maxPaymentAttempts - order.attempts);
  out.created_at = iso(order.createdAt);
  out.updated_at = iso(order.updatedAt);
  return out;
}

/** What tests and resilience checks read from the sandbox's own record (see RunningSandbox.orders). */
export interface OrderSummary {
  readonly orderId: string;
  readonly merchantOrderReference: string;
  readonly type: 'CHARGE' | 'REFUND';
  readonly parentOrderId: string | undefined;
  readonly status: OrderStatus;
  readonly preAuth: boolean;
  readonly amount: Money;
  readonly authorizedAmount: number;
  readonly capturedAmount: number;
  readonly reversedAmount: number;
  readonly refundedAmount: number;
  /** Successful captures; Plural allows at most one. */
  readonly captureCount: number;
  /** Capture calls that reached the state machine with the order AUTHORIZED (successful or declined). */
  readonly captureAttempts: number;
  readonly cancelCount: number;
  readonly paymentAttempts: number;
  readonly authorizedAt: number | undefined;
  /** authorizedAt + authorizationTtlSeconds; an order still AUTHORIZED after it was left too long. */
  readonly authorizationDeadline: number | undefined;
  readonly capturedAt: number | undefined;
  readonly cancelledAt: number | undefined;
  /** When a sale reported AUTHORIZED, or a PENDING refund, is PROCESSED; undefined when nothing waits (optional: added later). */
  readonly settleAt?: number | undefined;
  /** Refunds still PENDING, reserved on this order (optional: added later). */
  readonly refundPendingAmount?: number;
  /** Its refund orders' ids, oldest first (optional: added later). */
  readonly refundIds?: readonly string[];
  /** When the order expires if still unpaid (orderExpirySeconds); undefined: never (optional: added later). */
  readonly expiresAt?: number | undefined;
  /** When it expired unpaid (status FAILED); undefined otherwise (optional: added later). */
  readonly expiredAt?: number | undefined;
  readonly history: readonly { readonly status: OrderStatus; readonly at: number }[];
  readonly payments: readonly {
    readonly id: string;
    readonly method: 'CARD' | 'POINTS';
    readonly status: PaymentStatus;
    readonly amount: Money;
    readonly errorCode: string | undefined;
  }[];
}

export function orderSummary(order: OrderRecord, authorizationTtlSeconds: number): OrderSummary {
  return Object.freeze({
    orderId: order.id,
    merchantOrderReference: order.merchantOrderReference,
    type: order.type,
    parentOrderId: order.parentOrderId,
    status: order.status,
    preAuth: order.preAuth,
    amount: money(order.amount),
    authorizedAmount: order.authorizedAmount,
    capturedAmount: order.capturedAmount,
    reversedAmount: order.reversedAmount,
    refundedAmount: order.refundedAmount,
    captureCount: order.captureCount,
    captureAttempts: order.captureAttempts,
    cancelCount: order.cancelCount,
    paymentAttempts: order.attempts,
    authorizedAt: order.authorizedAt,
    authorizationDeadline:
      order.authorizedAt === undefined ? undefined : order.authorizedAt + authorizationTtlSeconds * 1000,
    capturedAt: order.capturedAt,
    cancelledAt: order.cancelledAt,
    settleAt: order.settleAt,
    refundPendingAmount: order.refundPendingAmount,
    refundIds: [...order.refundIds],
    expiresAt: order.expiresAt,
    expiredAt: order.expiredAt,
    history: order.history.map((h) => ({ ...h })),
    payments: order.payments.map((p) => ({
      id: p.id,
      method: p.method,
      status: p.status,
      amount: money(p.amount),
      errorCode: p.errorDetail?.code,
    })),
  });
}
