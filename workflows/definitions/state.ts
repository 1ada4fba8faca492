/**
 * What `getPayment` answers, and a payment's state knowing only its memo's basis. Never holds card data.
 */
import type { SavedCardSnapshot } from '../../activities/types';
import type { ClosingReason, NextAction, PaymentStatus } from './statuses';
import type { Money, PaymentMethodKind } from './terms';

/** A transition (or a noted non-transition, where `from === to`) in the audit trail. */
export interface AuditEntry {
  from: PaymentStatus;
  to: PaymentStatus;
  cause: string;
  /** ISO 8601 workflow time. */
  at: string;
  /**
   * A note that came again while the status stayed the same (a read failing at every look, say) is counted here
   * rather than added once more, so that a long wait does not grow the trail (and the continue-as-new input) without
   * bound: how many more times it came (absent: once).
   */
  repeats?: number;
  /** ISO 8601 workflow time of its last repeat (with `repeats`). */
  lastAt?: string;
}

export interface PaymentFailure {
  code: string;
  message: string;
}

/** A step that failed for good and waits for an operator (`operatorRetry`, or `operatorGiveUp` or a cancel). */
export interface ParkedOperation {
  operation: 'create_order' | 'create_payment' | 'authenticate' | 'capture' | 'cancel' | 'refund' | 'reconcile';
  code: string;
  message: string;
  since: string;
  retries: number;
}

export type OtpSubmissionOutcome = 'ACCEPTED' | 'INCORRECT' | 'FAILED' | 'IGNORED';
export type OtpResendOutcome = 'SENT' | 'TOO_EARLY' | 'LIMIT_REACHED' | 'REJECTED' | 'IGNORED';

export interface OtpState {
  attemptsLeft: number;
  resendsLeft: number;
  /** ISO time from which a resend is allowed. */
  resendAvailableAt: string | undefined;
  lastSubmission?: { outcome: OtpSubmissionOutcome; message?: string };
  lastResend?: { outcome: OtpResendOutcome; message?: string };
  /**
   * Plural refused the last OTP offering only a resend (an expired OTP, say): it takes no OTP until one is resent, so
   * SUBMIT_OTP is not offered until then. Absent otherwise.
   */
  resendRequired?: true;
  /**
   * When the authentication window closes (ISO 8601): from then on no OTP or resend is taken, and the payment waits
   * for Plural's last word on its order. Absent in payments that started before it was kept.
   */
  windowEndsAt?: string;
}

/** The OTP's authentication window has closed at `nowMs` (never, for a payment that did not keep its end). */
export function otpWindowClosed(otp: OtpState | undefined, nowMs: number): boolean {
  return otp?.windowEndsAt !== undefined && nowMs >= Date.parse(otp.windowEndsAt);
}

export interface CaptureOutcome {
  outcome: 'CAPTURED' | 'REJECTED' | 'PARKED';
  message?: string;
}

/**
 * `MERCHANT`: the merchant asked for it; `AUTO`: the engine refunded money Plural took while the payment was closing;
 * `EXTERNAL`: made outside the engine (Plural's dashboard), found at Plural when its REFUND_* webhook named it.
 */
export type RefundReason = 'AUTO' | 'MERCHANT' | 'EXTERNAL';

/** A refund the engine asked Plural for (or, for a merchant's refund, is about to). */
export interface RefundRecord {
  reason: RefundReason;
  amount: Money;
  /** The merchant's id for the refund (`MERCHANT` refunds): unique per payment. */
  merchantRefundReference?: string;
  /** The merchant's request omitted the amount (refund the rest): a repeat must omit it too. */
  rest?: boolean;
  /** The merchant's words (`MERCHANT` refunds). */
  note?: string;
  /** The refund's own merchant reference at Plural (its idempotency key), once Plural has answered. */
  reference: string | undefined;
  /** Plural's refund order, once created. */
  refundOrderId: string | undefined;
  /** PENDING until Plural says PROCESSED or FAILED (including a merchant's refund not yet sent to Plural). */
  status: 'PENDING' | 'PROCESSED' | 'FAILED';
  /** Why a refund FAILED. */
  failure?: PaymentFailure;
  at: string;
}

/** Why and since when a payment is CLOSING. */
export interface ClosingInfo {
  reason: ClosingReason;
  since: string;
  /** The cancel request's reason, when a person asked. */
  detail?: string;
}

/** What `getPayment` returns. Never holds card data. */
export interface PaymentState {
  workflowId: string;
  merchantOrderReference: string;
  method: PaymentMethodKind;
  preAuth: boolean;
  status: PaymentStatus;
  amount: Money;
  pluralOrderId: string | undefined;
  pluralPaymentIds: string[];
  challengeUrl: string | undefined;
  redirectUrl: string | undefined;
  nextActions: NextAction[];
  otp: OtpState | undefined;
  /** For card + points: the split the balance check allowed. */
  split: { card: Money; points: Money } | undefined;
  amountAuthorized: Money | undefined;
  /** What Plural took (captured), whether or not it was refunded since. */
  amountCaptured: Money | undefined;
  /** What the engine refunded and Plural confirmed; net money taken = captured − refunded. */
  amountRefunded: Money | undefined;
  /** What a refund may still take (captured − refunded − refunds in flight), while the refund window is open. */
  amountRefundable: Money | undefined;
  refunds: RefundRecord[];
  /** A PROCESSED payment takes refunds until then (ISO 8601); its workflow completes after it. */
  refundWindowEndsAt: string | undefined;
  /** Plural's order status at the last answer the engine had (create, Get Order, capture, cancel). */
  pluralOrderStatus: string | undefined;
  /** Set while (and after) the payment was CLOSING. */
  closing: ClosingInfo | undefined;
  /** The card a `save: true` payment saved for the customer at Plural, once Plural lists it (pay with `tokenId`). */
  savedCard: SavedCardSnapshot | undefined;
  authorizedAt: string | undefined;
  authorizationExpiresAt: string | undefined;
  autoCancelAt: string | undefined;
  lastCapture: CaptureOutcome | undefined;
  failure: PaymentFailure | undefined;
  parked: ParkedOperation | undefined;
  /** Get Order calls made to reconcile (no callback or webhook, window closing, after a capture). */
  reconciliations: number;
  lastReconciledAt: string | undefined;
  audit: AuditEntry[];
  /** The merchant's return page for this payment ({@link PaymentWorkflowInput.returnUrl}). */
  returnUrl: string | undefined;
  /** The merchant's metadata, as sent with the create (and to Plural). */
  merchantMetadata: Record<string, string> | undefined;
  /** When the payment's workflow started (ISO 8601). */
  createdAt: string;
  updatedAt: string;
}

/** What a payment is known by before anything has happened to it; read from its memo, all the API knows of it. */
export type PaymentStateBasis = Pick<
  PaymentState,
  | 'workflowId'
  | 'merchantOrderReference'
  | 'method'
  | 'preAuth'
  | 'status'
  | 'amount'
  | 'pluralOrderId'
  | 'amountCaptured'
  | 'amountRefunded'
  | 'returnUrl'
  | 'merchantMetadata'
  | 'createdAt'
  | 'updatedAt'
>;

/**
 * A payment's state knowing only `basis`: every other field unset, empty or zero. The workflow starts from it, and
 * the API answers with it from the memo when no worker does (marked stale).
 */
export function paymentStateOf(basis: PaymentStateBasis): PaymentState {
  return {
    workflowId: basis.workflowId,
    merchantOrderReference: basis.merchantOrderReference,
    method: basis.method,
    preAuth: basis.preAuth,
    status: basis.status,
    amount: basis.amount,
    pluralOrderId: basis.pluralOrderId,
    pluralOrderStatus: undefined,
    pluralPaymentIds: [],
    challengeUrl: undefined,
    redirectUrl: undefined,
    nextActions: [],
    otp: undefined,
    split: undefined,
    amountAuthorized: undefined,
    amountCaptured: basis.amountCaptured,
    amountRefunded: basis.amountRefunded,
    amountRefundable: undefined,
    refunds: [],
    refundWindowEndsAt: undefined,
    authorizedAt: undefined,
    authorizationExpiresAt: undefined,
    autoCancelAt: undefined,
    lastCapture: undefined,
    failure: undefined,
    parked: undefined,
    closing: undefined,
    savedCard: undefined,
    reconciliations: 0,
    lastReconciledAt: undefined,
    audit: [],
    returnUrl: basis.returnUrl,
    merchantMetadata: basis.merchantMetadata,
    createdAt: basis.createdAt,
    updatedAt: basis.updatedAt,
  };
}
