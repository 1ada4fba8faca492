/**
 * The payment's state and the only code that changes it: status moves (through the transition table of
 * `state-machine.ts`), the audit trail, search attributes, what Plural's callbacks, webhooks and orders say, and the
 * next actions offered to the merchant. Phases (`phases/`) call its methods; the `getPayment` query reads
 * {@link Payment.snapshot}.
 */
import { log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OrderSnapshot } from '../activities';
import { isoAt, nowMs } from './clock';
import { NEXT_ACTION, PAYMENT_STATUS, SEARCH_ATTRIBUTE } from './definitions';
import type {
  NextAction,
  PaymentDurations,
  PaymentMethodDescriptor,
  PaymentState,
  PaymentStatus,
  PaymentWorkflowInput,
} from './definitions';
import { paymentMetrics } from './metrics';
import type { PaymentMetrics } from './metrics';
import { observationFromOrder } from './observations';
import type { Observation } from './observations';
import { assertTransition, canTransition, isTerminal } from './state-machine';

export class Payment {
  /** The state the query returns (copied by {@link snapshot}). */
  readonly s: PaymentState;
  readonly method: PaymentMethodDescriptor;
  /** Business counters (workflows/metrics.ts): not called while replaying, counted once per run by the worker. */
  readonly metrics: PaymentMetrics = paymentMetrics();

  /** Plural accepted an OTP: no further submission or resend applies. */
  otpAccepted = false;
  /** A capture was sent to Plural (Plural allows one per order). */
  captureAttempted = false;
  /** OTP submissions and resends sent to Plural (each numbers its idempotency key). */
  otpSubmissions = 0;
  otpResends = 0;
  /** The card payment's id at Plural, for OTP calls. */
  cardPaymentId: string | undefined;
  /** Set when Plural authorizes or processes after the engine gave up on authentication. */
  lateOutcome: 'AUTHORIZED' | 'PROCESSED' | undefined;
  watchingLateOutcome = false;

  constructor(
    input: PaymentWorkflowInput,
    private readonly durations: PaymentDurations,
  ) {
    this.method = input.method;
    this.s = {
      workflowId: workflowInfo().workflowId,
      merchantOrderReference: input.merchantOrderReference,
      method: input.method.kind,
      preAuth: input.preAuth,
      status: PAYMENT_STATUS.CREATED,
      amount: { ...input.amount },
      pluralOrderId: undefined,
      pluralPaymentIds: [],
      challengeUrl: undefined,
      redirectUrl: undefined,
      nextActions: [],
      otp: undefined,
      split: undefined,
      amountAuthorized: undefined,
      amountCaptured: undefined,
      authorizedAt: undefined,
      authorizationExpiresAt: undefined,
      autoCancelAt: undefined,
      lastCapture: undefined,
      failure: undefined,
      parked: undefined,
      reconciliations: 0,
      lastReconciledAt: undefined,
      audit: [],
      updatedAt: isoAt(nowMs()),
    };
  }

  get status(): PaymentStatus {
    return this.s.status;
  }

  get terminal(): boolean {
    return isTerminal(this.s.status);
  }

  /** Waiting for the customer: the native OTP, the challenge page or the hosted checkout. */
  get awaiting(): boolean {
    return this.s.status === PAYMENT_STATUS.AWAITING_OTP || this.s.status === PAYMENT_STATUS.AWAITING_CHALLENGE;
  }

  touch(): void {
    this.s.updatedAt = isoAt(nowMs());
  }

  /** Adds an audit entry that changes no status. */
  note(cause: string): void {
    this.s.audit.push({ from: this.s.status, to: this.s.status, cause, at: isoAt(nowMs()) });
    this.touch();
  }

  upsertSearchAttributes(): void {
    const s = this.s;
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE.PAYMENT_STATUS, value: s.status },
      { key: SEARCH_ATTRIBUTE.MERCHANT_ORDER_REFERENCE, value: s.merchantOrderReference },
      ...(s.pluralOrderId === undefined ? [] : [{ key: SEARCH_ATTRIBUTE.PLURAL_ORDER_ID, value: s.pluralOrderId }]),
      { key: SEARCH_ATTRIBUTE.PARKED_OPERATION, value: s.parked?.operation ?? 'none' },
    ]);
  }

  /**
   * A move the workflow makes on its own account (the order was created, the customer was sent to the challenge
   * page, the merchant cancelled).
   * @throws {IllegalTransitionError} when the transition table does not allow it: a bug, which fails the workflow task
   */
  moveTo(to: PaymentStatus, cause: string): void {
    if (this.s.status === to) return;
    assertTransition(this.s.status, to, cause);
    this.apply(to, cause);
  }

  /**
   * A move that what Plural reports asks for: made when the table allows it, else recorded as ignored (a late or
   * stale event never moves a payment backwards or out of a terminal status). Returns whether the status changed.
   */
  advance(to: PaymentStatus, cause: string): boolean {
    const from = this.s.status;
    if (from === to) return false;
    if (!canTransition(from, to)) {
      this.note(`ignored ${to} (${cause}): payment is already ${from}`);
      return false;
    }
    this.apply(to, cause);
    return true;
  }

  private apply(to: PaymentStatus, cause: string): void {
    const from = this.s.status;
    this.s.status = to;
    this.s.audit.push({ from, to, cause, at: isoAt(nowMs()) });
    this.touch();
    this.upsertSearchAttributes();
    // The SDK's workflow logger adds workflowId, runId and workflowType, and stays silent while replaying.
    log.info('payment status changed', { from, to, cause });
    if (isTerminal(to)) this.metrics.completed(to, this.method.kind);
  }

  /** Fails the payment with `code` unless it has already ended. */
  fail(code: string, message: string, cause: string): void {
    if (this.terminal) return;
    this.s.failure = { code, message };
    this.moveTo(PAYMENT_STATUS.FAILED, cause);
  }

  setOrderId(orderId: string): void {
    if (this.s.pluralOrderId === orderId) return;
    this.s.pluralOrderId = orderId;
    this.upsertSearchAttributes();
  }

  private markAuthorized(cause: string): void {
    if (!this.advance(PAYMENT_STATUS.AUTHORIZED, cause)) return;
    const at = nowMs();
    this.s.amountAuthorized = { ...this.s.amount };
    this.s.authorizedAt = isoAt(at);
    this.s.authorizationExpiresAt = isoAt(at + this.durations.authorizationLifetimeMs);
    this.s.autoCancelAt = isoAt(at + this.durations.autoCancelAfterMs);
  }

  private markProcessed(capturedValue: number | undefined, cause: string): void {
    if (!this.advance(PAYMENT_STATUS.PROCESSED, cause)) return;
    this.s.amountAuthorized ??= { ...this.s.amount };
    const value = capturedValue !== undefined && capturedValue > 0 ? capturedValue : this.s.amountAuthorized.value;
    this.s.amountCaptured = { value, currency: this.s.amount.currency };
  }

  /**
   * Applies what Plural says about the order. `afterCapture`: the observation follows our own capture attempt, so
   * a FAILED order after authorization is real (a declined capture) rather than a late authentication failure.
   */
  observe(o: Observation, afterCapture = false): void {
    if (this.s.pluralOrderId !== undefined && o.orderId !== this.s.pluralOrderId) {
      this.note(`ignored ${o.source} for another order ${o.orderId}`);
      return;
    }
    const auditLength = this.s.audit.length;
    this.applyObservation(o, afterCapture);
    // Record that a gateway event arrived even when it changed nothing (e.g. the webhook after the callback).
    if (this.s.audit.length === auditLength && o.source !== 'order') {
      this.note(`${o.label}: no change, payment is ${this.s.status}`);
    }
  }

  private applyObservation(o: Observation, afterCapture: boolean): void {
    const cause = o.label;
    switch (o.kind) {
      case 'AUTHORIZED':
      case 'PROCESSED':
        if (this.s.status === PAYMENT_STATUS.FAILED || this.s.status === PAYMENT_STATUS.CANCELLED) {
          if (this.watchingLateOutcome && this.lateOutcome === undefined) {
            this.lateOutcome = o.kind;
            this.note(`late ${o.kind} at Plural after the payment was ${this.s.status} (${cause})`);
          }
          return;
        }
        if (o.kind === 'AUTHORIZED') this.markAuthorized(cause);
        else this.markProcessed(o.capturedValue, cause);
        return;
      case 'CANCELLED':
        this.advance(PAYMENT_STATUS.CANCELLED, cause);
        return;
      case 'FAILED':
        if (this.s.status === PAYMENT_STATUS.AUTHORIZED && !afterCapture) {
          this.note(`ignored FAILED (${cause}): an authorized payment is not downgraded`);
          return;
        }
        this.fail(o.errorCode ?? 'PAYMENT_FAILED', o.errorMessage ?? 'Plural reported the payment as failed', cause);
        return;
      case 'NONE':
        return;
    }
  }

  /** Applies a Get Order (or create, capture, cancel) answer. */
  applyOrder(order: OrderSnapshot, source: string, afterCapture = false): void {
    this.setOrderId(order.orderId);
    this.observe(observationFromOrder(order, source), afterCapture);
  }

  /** What the merchant or customer can do now. */
  nextActions(): NextAction[] {
    const s = this.s;
    if (s.parked) return [NEXT_ACTION.OPERATOR_RETRY, NEXT_ACTION.CANCEL];
    switch (s.status) {
      case PAYMENT_STATUS.AWAITING_OTP: {
        const actions: NextAction[] = [NEXT_ACTION.SUBMIT_OTP];
        if (s.otp && s.otp.resendsLeft > 0) actions.push(NEXT_ACTION.RESEND_OTP);
        return [...actions, NEXT_ACTION.CANCEL];
      }
      case PAYMENT_STATUS.AWAITING_CHALLENGE:
        return [
          this.method.kind === 'hosted_checkout' ? NEXT_ACTION.REDIRECT_TO_CHECKOUT : NEXT_ACTION.COMPLETE_CHALLENGE,
          NEXT_ACTION.CANCEL,
        ];
      case PAYMENT_STATUS.AUTHORIZED:
        return this.captureAttempted ? [NEXT_ACTION.CANCEL] : [NEXT_ACTION.CAPTURE, NEXT_ACTION.CANCEL];
      default:
        return [];
    }
  }

  /** A copy of the state for the query (nothing the caller holds can change the workflow's). */
  snapshot(): PaymentState {
    const s = this.s;
    return {
      ...s,
      nextActions: this.nextActions(),
      pluralPaymentIds: [...s.pluralPaymentIds],
      audit: s.audit.map((e) => ({ ...e })),
      otp: s.otp === undefined ? undefined : { ...s.otp },
    };
  }
}
