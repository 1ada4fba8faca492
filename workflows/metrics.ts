/**
 * Business metrics of the payment workflow: one place for their names, their label values and how the workflow
 * records them.
 *
 * The workflow records each event through the `paymentMetrics` sink; the worker side (`observability/payment-metrics`)
 * turns it into a counter on Temporal Core's Prometheus endpoint (`WORKER_METRICS_PORT`). Why a sink of our own
 * rather than the SDK's workflow `metricMeter`: both skip calls made while replaying history, but neither can take
 * back a call made by a workflow task that the server then rejects — and the server rejects the task that completes
 * a payment whenever a signal (typically Plural's webhook) arrives while it runs, so the retried task counts the
 * terminal status again. Each event therefore carries its ordinal among the run's events of that name, and the
 * sink counts an ordinal once per run.
 *
 * Every label value is a small enumeration from this file or from `definitions/`: never an order reference, an
 * amount, a gateway id or anything about the customer.
 */
import { proxySinks, workflowInfo } from '@temporalio/workflow';
import type { Sinks } from '@temporalio/workflow';
import type { ParkedOperation, PaymentMethodKind, PaymentStatus } from './definitions';

/** Counter names as Prometheus shows them. */
export const PAYMENT_METRIC = {
  STARTED: 'payment_started_total',
  COMPLETED: 'payment_completed_total',
  OTP_SUBMISSIONS: 'payment_otp_submissions_total',
  OTP_RESENDS: 'payment_otp_resends_total',
  RECONCILIATIONS: 'payment_reconciliations_total',
  AUTO_CANCELS: 'payment_auto_cancels_total',
  CAPTURES: 'payment_captures_total',
  PARKED: 'payment_operations_parked_total',
  AUTO_REFUNDS: 'payment_auto_refunds_total',
  REFUNDS: 'payment_refunds_total',
  MERCHANT_WEBHOOKS: 'payment_merchant_webhooks_total',
} as const;
export type PaymentMetricName = (typeof PAYMENT_METRIC)[keyof typeof PAYMENT_METRIC];

/** What became of one OTP the customer submitted. */
export const OTP_SUBMISSION_RESULT = {
  /** Plural accepted it. */
  ACCEPTED: 'accepted',
  /** Plural said wrong, the customer may try again. */
  INCORRECT: 'incorrect',
  /** Plural ended the authentication (the last wrong OTP). */
  FAILED: 'failed',
  /** The OTP's vault hand-off was gone; nothing reached Plural. */
  UNAVAILABLE: 'unavailable',
  /** Plural could not be reached within the activity retries. */
  ERROR: 'error',
} as const;
export type OtpSubmissionResult = (typeof OTP_SUBMISSION_RESULT)[keyof typeof OTP_SUBMISSION_RESULT];

/** What became of one OTP resend request. */
export const OTP_RESEND_OUTCOME = {
  SENT: 'sent',
  /** Plural refused it (its own limit or window). */
  REJECTED: 'rejected',
  /** Refused by the engine before calling Plural: the resend window is still closed. */
  TOO_EARLY: 'too_early',
  /** Refused by the engine before calling Plural: no resends left. */
  LIMIT_REACHED: 'limit_reached',
  ERROR: 'error',
} as const;
export type OtpResendOutcome = (typeof OTP_RESEND_OUTCOME)[keyof typeof OTP_RESEND_OUTCOME];

/** Why the workflow asked Plural for the order (Get Order) instead of waiting for a callback or webhook. */
export const RECONCILE_TRIGGER = {
  /** The backoff while authenticating, when neither callback nor webhook has arrived. */
  NO_EVENT: 'no_event',
  /** The last look as the authentication window closes. */
  WINDOW_CLOSED: 'window_closed',
  /** Right after Plural accepted the OTP. */
  OTP_ACCEPTED: 'otp_accepted',
  /** Plural refused an OTP submission: was it a retry of one it had accepted? */
  OTP_REFUSED: 'otp_refused',
  /** A signed callback or webhook arrived: Plural's order is read before anything moves. */
  EVENT: 'event',
  /** A sale Plural has authorized but not yet processed. */
  SALE_PROCESSING: 'sale_processing',
  /** Watching Plural's order while the payment is CLOSING, until the order is final. */
  CLOSING: 'closing',
  /** A processed payment that saved its card: the token Plural saved may only now be listed. */
  SAVED_CARD: 'saved_card',
  /** After a capture Plural refused. */
  CAPTURE_REJECTED: 'capture_rejected',
  /** After a cancel that did not complete. */
  CANCEL_INCOMPLETE: 'cancel_incomplete',
} as const;
export type ReconcileTrigger = (typeof RECONCILE_TRIGGER)[keyof typeof RECONCILE_TRIGGER];

/** What one Get Order did to the payment. */
export const RECONCILE_OUTCOME = {
  /** The payment's status moved. */
  CHANGED: 'changed',
  UNCHANGED: 'unchanged',
  /** Get Order failed (the next round tries again). */
  ERROR: 'error',
} as const;
export type ReconcileOutcome = (typeof RECONCILE_OUTCOME)[keyof typeof RECONCILE_OUTCOME];

/** Why the engine cancelled an authorization on its own. */
export const AUTO_CANCEL_REASON = {
  /** `autoCancelAfterMs` passed without a capture, before the authorization expires at the issuer. */
  AUTHORIZATION_EXPIRY: 'authorization_expiry',
  /** Plural authorized while the payment was CLOSING (the merchant had cancelled, or the engine had given up). */
  LATE_AUTHORIZATION: 'late_authorization',
} as const;
export type AutoCancelReason = (typeof AUTO_CANCEL_REASON)[keyof typeof AUTO_CANCEL_REASON];

/** Why the engine refunded money on its own: Plural took it while the payment was CLOSING, for this closing reason. */
export const AUTO_REFUND_REASON = {
  MERCHANT_CANCEL: 'merchant_cancel',
  OPERATOR_CANCEL: 'operator_cancel',
  WORKFLOW_CANCELLED: 'workflow_cancelled',
  AUTHENTICATION_WINDOW_CLOSED: 'authentication_window_closed',
} as const;
export type AutoRefundReason = (typeof AUTO_REFUND_REASON)[keyof typeof AUTO_REFUND_REASON];

/** `refunded`: Plural confirmed it; `failed`: Plural refused it or reported it failed (the step is parked). */
export const AUTO_REFUND_OUTCOME = { REFUNDED: 'refunded', FAILED: 'failed' } as const;
export type AutoRefundOutcome = (typeof AUTO_REFUND_OUTCOME)[keyof typeof AUTO_REFUND_OUTCOME];

/**
 * Every refund: the merchant's, the automatic ones (those are broken down by closing reason above too) and those made
 * outside the engine (Plural's dashboard) that the engine found at Plural.
 */
export const REFUND_REASON = { MERCHANT: 'merchant', AUTO: 'auto', EXTERNAL: 'external' } as const;
export type RefundMetricReason = (typeof REFUND_REASON)[keyof typeof REFUND_REASON];

/**
 * `refunded`: Plural processed it; `failed`: Plural reported it failed, or an operator gave up on it while Plural was
 * unreachable; `rejected`: Plural refused the request (nothing was refunded, nothing kept).
 */
export const REFUND_OUTCOME = { REFUNDED: 'refunded', FAILED: 'failed', REJECTED: 'rejected' } as const;
export type RefundOutcome = (typeof REFUND_OUTCOME)[keyof typeof REFUND_OUTCOME];

/**
 * What became of one merchant event at one endpoint: `delivered` (a 2xx answer), or `undelivered` once its retries
 * ran out (`webhookDeliveryWindowMs`) or its endpoint is no longer configured.
 */
export const MERCHANT_WEBHOOK_OUTCOME = { DELIVERED: 'delivered', UNDELIVERED: 'undelivered' } as const;
export type MerchantWebhookOutcome = (typeof MERCHANT_WEBHOOK_OUTCOME)[keyof typeof MERCHANT_WEBHOOK_OUTCOME];

export const CAPTURE_KIND = { FULL: 'full', PARTIAL: 'partial' } as const;
export type CaptureKind = (typeof CAPTURE_KIND)[keyof typeof CAPTURE_KIND];

/** `captured`: Plural captured it; `rejected`: refused by the engine or by Plural, or abandoned while parked. */
export const CAPTURE_OUTCOME = { CAPTURED: 'captured', REJECTED: 'rejected' } as const;
export type CaptureOutcome = (typeof CAPTURE_OUTCOME)[keyof typeof CAPTURE_OUTCOME];

/** Label names of each counter, for documentation and for tests that check no other label appears. */
export const PAYMENT_METRIC_LABELS: Record<PaymentMetricName, readonly string[]> = {
  [PAYMENT_METRIC.STARTED]: ['method'],
  [PAYMENT_METRIC.COMPLETED]: ['status', 'method'],
  [PAYMENT_METRIC.OTP_SUBMISSIONS]: ['result'],
  [PAYMENT_METRIC.OTP_RESENDS]: ['outcome'],
  [PAYMENT_METRIC.RECONCILIATIONS]: ['trigger', 'outcome'],
  [PAYMENT_METRIC.AUTO_CANCELS]: ['reason'],
  [PAYMENT_METRIC.CAPTURES]: ['kind', 'outcome'],
  [PAYMENT_METRIC.PARKED]: ['operation'],
  [PAYMENT_METRIC.AUTO_REFUNDS]: ['reason', 'outcome'],
  [PAYMENT_METRIC.REFUNDS]: ['reason', 'outcome'],
  [PAYMENT_METRIC.MERCHANT_WEBHOOKS]: ['outcome'],
};

/**
 * The label every counter carries besides its own: the merchant account the payment belongs to (a configured slug,
 * `MERCHANT_ID_PATTERN`), so a multi-merchant deployment reads each merchant's rates apart.
 */
export const PAYMENT_METRIC_MERCHANT_LABEL = 'merchant';

/** The sink the workflow records through; the worker injects it (`createPaymentMetricsSinks`). */
export interface PaymentMetricsSinks extends Sinks {
  paymentMetrics: {
    /**
     * One occurrence of the counter `name` with `labels` (its own and {@link PAYMENT_METRIC_MERCHANT_LABEL}).
     * `ordinal` numbers the run's occurrences of `name` from 1 (deterministic, so a retried workflow task repeats the
     * ordinals of the attempt it replaces).
     */
    count(name: PaymentMetricName, labels: Record<string, string>, ordinal: number): void;
  };
}

/** Records the payment workflow's business counters (see the module comment). */
export interface PaymentMetrics {
  started(method: PaymentMethodKind): void;
  /** The payment reached a terminal status (once per payment: terminal statuses are never left). */
  completed(status: PaymentStatus, method: PaymentMethodKind): void;
  otpSubmission(result: OtpSubmissionResult): void;
  otpResend(outcome: OtpResendOutcome): void;
  reconciliation(trigger: ReconcileTrigger, outcome: ReconcileOutcome): void;
  autoCancel(reason: AutoCancelReason): void;
  capture(kind: CaptureKind, outcome: CaptureOutcome): void;
  parked(operation: ParkedOperation['operation']): void;
  autoRefund(reason: AutoRefundReason, outcome: AutoRefundOutcome): void;
  /** A refund's outcome is known (once per refund). */
  refund(reason: RefundMetricReason, outcome: RefundOutcome): void;
  /** A merchant event's delivery to one endpoint ended (once per event and endpoint). */
  merchantWebhook(outcome: MerchantWebhookOutcome): void;
}

/** Help text of each counter on the Prometheus endpoint. */
export const PAYMENT_METRIC_DESCRIPTIONS: Record<PaymentMetricName, string> = {
  [PAYMENT_METRIC.STARTED]: 'Payments started, by method',
  [PAYMENT_METRIC.COMPLETED]: 'Payments that reached a terminal status, by status and method',
  [PAYMENT_METRIC.OTP_SUBMISSIONS]: 'OTP submissions, by result',
  [PAYMENT_METRIC.OTP_RESENDS]: 'OTP resend requests, by outcome',
  [PAYMENT_METRIC.RECONCILIATIONS]: 'Get Order reconciliations, by trigger and outcome',
  [PAYMENT_METRIC.AUTO_CANCELS]: 'Authorizations the engine cancelled on its own, by reason',
  [PAYMENT_METRIC.CAPTURES]: 'Capture requests, by kind and outcome',
  [PAYMENT_METRIC.PARKED]: 'Operations parked for an operator, by operation',
  [PAYMENT_METRIC.AUTO_REFUNDS]: 'Refunds of money Plural took while a payment was closing, by reason and outcome',
  [PAYMENT_METRIC.REFUNDS]: "Refunds (the merchant's and automatic ones), by reason and outcome",
  [PAYMENT_METRIC.MERCHANT_WEBHOOKS]: 'Merchant webhook events delivered, or given up on, per endpoint, by outcome',
};

/** Whether `name` is one of {@link PAYMENT_METRIC}. */
export function isPaymentMetricName(name: unknown): name is PaymentMetricName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(PAYMENT_METRIC_LABELS, name);
}

/**
 * Creates the recorder for the payment of merchant `merchantId`; call it inside the workflow function (a sink proxy
 * only works in a workflow context). Sink calls are not commands: what they carry never touches history or replay.
 */
export function paymentMetrics(merchantId: string): PaymentMetrics {
  const { paymentMetrics: sink } = proxySinks<PaymentMetricsSinks>();
  const ordinals = new Map<PaymentMetricName, number>();
  const add = (name: PaymentMetricName, labels: Record<string, string>): void => {
    const ordinal = (ordinals.get(name) ?? 0) + 1;
    ordinals.set(name, ordinal);
    // Replayed events were counted when they first ran; the ordinal still advances so later ones keep their number.
    if (!workflowInfo().unsafe.isReplaying) {
      sink.count(name, { ...labels, [PAYMENT_METRIC_MERCHANT_LABEL]: merchantId }, ordinal);
    }
  };
  return {
    started: (method) => add(PAYMENT_METRIC.STARTED, { method }),
    completed: (status, method) => add(PAYMENT_METRIC.COMPLETED, { status, method }),
    otpSubmission: (result) => add(PAYMENT_METRIC.OTP_SUBMISSIONS, { result }),
    otpResend: (outcome) => add(PAYMENT_METRIC.OTP_RESENDS, { outcome }),
    reconciliation: (trigger, outcome) => add(PAYMENT_METRIC.RECONCILIATIONS, { trigger, outcome }),
    autoCancel: (reason) => add(PAYMENT_METRIC.AUTO_CANCELS, { reason }),
    capture: (kind, outcome) => add(PAYMENT_METRIC.CAPTURES, { kind, outcome }),
    parked: (operation) => add(PAYMENT_METRIC.PARKED, { operation }),
    autoRefund: (reason, outcome) => add(PAYMENT_METRIC.AUTO_REFUNDS, { reason, outcome }),
    refund: (reason, outcome) => add(PAYMENT_METRIC.REFUNDS, { reason, outcome }),
    merchantWebhook: (outcome) => add(PAYMENT_METRIC.MERCHANT_WEBHOOKS, { outcome }),
  };
}
