/**
 * The payment resource (the engine's `PaymentState`) and the list's payment summary (its `PaymentSummary`) in the
 * API's snake_case vocabulary. Neither holds card data.
 */
import type { SavedCardSnapshot } from '../activities/types';
import type { Money, PaymentSummary, RefundRecord } from '../workflows/definitions';
import type { PaymentRecord } from './engine';

const money = (m: Money | undefined): Money | null => (m ? { value: m.value, currency: m.currency } : null);

/** Build the JSON body for one payment. Absent values are `null` so the shape is stable. */
export function paymentResource(record: PaymentRecord) {
  const s = record.state;
  return {
    object: 'payment',
    merchant_order_reference: s.merchantOrderReference,
    status: s.status,
    amount: money(s.amount),
    pre_auth: s.preAuth,
    payment_method: s.method,
    order_id: s.pluralOrderId ?? null,
    payment_id: s.pluralPaymentIds.at(-1) ?? null,
    payment_ids: [...s.pluralPaymentIds],
    challenge_url: s.challengeUrl ?? null,
    redirect_url: s.redirectUrl ?? null,
    next_actions: [...s.nextActions],
    otp: s.otp
      ? {
          attempts_left: s.otp.attemptsLeft,
          resends_left: s.otp.resendsLeft,
          resend_available_at: s.otp.resendAvailableAt ?? null,
          window_ends_at: s.otp.windowEndsAt ?? null,
          last_submission: s.otp.lastSubmission
            ? { outcome: s.otp.lastSubmission.outcome, message: s.otp.lastSubmission.message ?? null }
            : null,
          last_resend: s.otp.lastResend
            ? { outcome: s.otp.lastResend.outcome, message: s.otp.lastResend.message ?? null }
            : null,
        }
      : null,
    split: s.split ? { card: money(s.split.card), points: money(s.split.points) } : null,
    authorized_amount: money(s.amountAuthorized),
    captured_amount: money(s.amountCaptured),
    // What Plural confirmed refunded (the merchant's refunds, and money taken while closing); net = captured − refunded.
    refunded_amount: money(s.amountRefunded),
    // While the refund window is open: what a refund may still take (captured − refunded − refunds in flight).
    refundable_amount: money(s.amountRefundable),
    refund_window_ends_at: s.refundWindowEndsAt ?? null,
    refunds: s.refunds.map(refundResource),
    plural_order_status: s.pluralOrderStatus ?? null,
    closing: s.closing ? { reason: s.closing.reason, since: s.closing.since, detail: s.closing.detail ?? null } : null,
    authorized_at: s.authorizedAt ?? null,
    authorization_expires_at: s.authorizationExpiresAt ?? null,
    auto_cancel_at: s.autoCancelAt ?? null,
    last_capture: s.lastCapture ? { outcome: s.lastCapture.outcome, message: s.lastCapture.message ?? null } : null,
    failure: s.failure ? { code: s.failure.code, message: s.failure.message } : null,
    parked: s.parked
      ? {
          operation: s.parked.operation,
          code: s.parked.code,
          message: s.parked.message,
          since: s.parked.since,
          retries: s.parked.retries,
        }
      : null,
    saved_card: savedCardOf(s.savedCard),
    gateway: record.gateway
      ? {
          status: record.gateway.status,
          reason: record.gateway.reason,
          operation: record.gateway.operation,
          attempt: record.gateway.attempt,
          max_attempts: record.gateway.maxAttempts ?? null,
          last_error: record.gateway.lastError ?? null,
          retrying: record.gateway.retrying,
          next_attempt_at: record.gateway.nextAttemptAt ?? null,
        }
      : null,
    // The merchant's own, as sent (never logged); and the page the browser returns to (see return-url.ts).
    merchant_metadata: s.merchantMetadata ? { ...s.merchantMetadata } : null,
    return_url: s.returnUrl ?? null,
    events: s.audit.map((e) => ({
      from: e.from,
      to: e.to,
      cause: e.cause,
      at: e.at,
      repeats: e.repeats ?? 0,
      last_at: e.lastAt ?? e.at,
    })),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    // No worker answered in time: status, ids and amounts come from the payment's memo (as of its last status change).
    stale: record.stale === true,
  };
}
export type PaymentResource = ReturnType<typeof paymentResource>;

/**
 * One payment of `GET /v1/payments`: what the payment's memo holds (as of its last status change), with the same
 * field names as the payment resource. `GET /v1/payments/{ref}` has the rest.
 */
export function paymentSummaryResource(s: PaymentSummary) {
  return {
    object: 'payment_summary',
    merchant_order_reference: s.merchantOrderReference,
    status: s.status,
    amount: money(s.amount),
    pre_auth: s.preAuth,
    payment_method: s.method,
    order_id: s.pluralOrderId ?? null,
    captured_amount: money(s.amountCaptured),
    refunded_amount: money(s.amountRefunded),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}
export type PaymentSummaryResource = ReturnType<typeof paymentSummaryResource>;

/**
 * One refund of a payment: the merchant's (`MERCHANT`), the engine's own of money taken while closing (`AUTO`), or one
 * made outside the engine that Plural's webhook named (`EXTERNAL`).
 */
export function refundResource(r: RefundRecord) {
  return {
    object: 'refund' as const,
    merchant_refund_reference: r.merchantRefundReference ?? null,
    reason: r.reason,
    // The merchant's own words, as sent with the refund (`reason` in the request).
    merchant_reason: r.note ?? null,
    amount: money(r.amount),
    status: r.status,
    refund_order_id: r.refundOrderId ?? null,
    failure: r.failure ? { code: r.failure.code, message: r.failure.message } : null,
    created_at: r.at,
  };
}
export type RefundResource = ReturnType<typeof refundResource>;

/** The card saved for the customer (`card.save: true`), once Plural has it: pay with `card_token.token_id`. */
function savedCardOf(c: SavedCardSnapshot | undefined) {
  if (!c) return null;
  return {
    token_id: c.tokenId,
    status: c.status ?? null,
    last4: c.last4,
    expiry_month: c.expiryMonth ?? null,
    expiry_year: c.expiryYear ?? null,
  };
}
