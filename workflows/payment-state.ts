/**
 * The payment's state and the only code that changes it: status moves (through the transition table of
 * `state-machine.ts`), the audit trail, search attributes, what Plural's order says, and the next actions offered to
 * the merchant. Phases (`phases/`) call its methods; the `getPayment` query reads {@link Payment.snapshot}.
 *
 * Money moves on Plural's word only: {@link Payment.applyOrder} takes an order read from Plural (Get Order, or the
 * answer to the engine's own create, capture, cancel or refund). A signed callback or webhook is not applied; it asks
 * for a Get Order (`messages.ts`), so even a validly signed but forged event cannot mark a payment paid.
 */
import { log, patched, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { OrderSnapshot } from '../activities';
import { isoAt, nowMs } from './clock';
import {
  CLOSING_REASON,
  ENGINE_FAILURE_CODE,
  MIN_REFUND_VALUE,
  NEXT_ACTION,
  PAYMENT_MEMO_KEY,
  PAYMENT_STATUS,
  DEFAULT_MERCHANT_ID,
  newPaymentState,
  otpWindowClosed,
  SEARCH_ATTRIBUTE,
} from './definitions';
import type {
  AuditEntry,
  ClosingReason,
  NextAction,
  PaymentDurations,
  PaymentMethodDescriptor,
  PaymentState,
  PaymentStatus,
  PaymentSummary,
  PaymentWorkflowInput,
  RefundRecord,
  RefundRequest,
} from './definitions';
import { paymentMetrics, REFUND_OUTCOME, REFUND_REASON } from './metrics';
import { PATCH } from './patches';
import type { PaymentMetrics } from './metrics';
import { failureOf, refundOutcome, stageOf } from './plural-order';
import { refundableValue } from './validators';
import type { OrderStage } from './plural-order';
import { assertTransition, canTransition, isTerminal } from './state-machine';

/** What hears of the payment's moves as they happen (`merchant-outbox.ts`). */
export interface PaymentEventListener {
  statusChanged(status: Exclude<PaymentStatus, 'CREATED'>): void;
  refundChanged(record: RefundRecord): void;
}

export class Payment {
  /** The state the query returns (copied by {@link snapshot}). */
  readonly s: PaymentState;
  readonly method: PaymentMethodDescriptor;
  /** The merchant account the payment belongs to (the `MerchantId` search attribute). */
  readonly merchantId: string;
  /** Upserts carry changed search attributes only ({@link PaymentWorkflowInput.searchAttributeChangesOnly}). */
  private readonly searchAttributeChangesOnly: boolean;
  /**
   * Status, order id and last change in search attributes, the rest in the memo
   * ({@link PaymentWorkflowInput.summaryInSearchAttributes}).
   */
  private readonly summaryInSearchAttributes: boolean;
  /**
   * The memo's own part of the summary (the amounts) as last written: by the API at the start, then by this run;
   * undefined in a continued run until it writes the memo.
   */
  private memoWritten: string | undefined;
  /** Changed since this run started (`PaymentUpdatedAt` is stated from then on, never in the first task). */
  private touched = false;
  /** Business counters (workflows/metrics.ts): not called while replaying, counted once per run by the worker. */
  readonly metrics: PaymentMetrics;

  /**
   * No further OTP submission or resend applies: Plural accepted one, or refused for good. The authentication loop
   * then reads Plural's order on a backoff until it decides.
   */
  otpSettled = false;
  /** Plural accepted an OTP of this payment's (this run: authentication never continues as new). */
  otpAccepted = false;
  /** A capture was sent to Plural (Plural allows one per order). */
  captureAttempted = false;
  /**
   * A capture Update was accepted and waits its turn: Plural allows one capture, so from this moment the validator
   * refuses another (`capture_limit_reached`) rather than queueing a request that could only be refused later.
   */
  captureRequested = false;
  /** A cancel of the authorization is under way at Plural: a capture arriving meanwhile is refused (`cancel_pending`). */
  cancelling = false;
  /**
   * Times a step parked for an operator this run, a park after an operator's retry included (`Steps`): an operator's
   * retry is answered once it moves, even when the step unparked and parked afresh in one go.
   */
  parks = 0;
  /** OTP submissions and resends sent to Plural (each numbers its idempotency key). */
  otpSubmissions = 0;
  otpResends = 0;
  /** The card payment's id at Plural, for OTP calls. */
  cardPaymentId: string | undefined;
  /**
   * A PROCESSED payment waiting out its refund window: its status is final, but its steps (a refund, an operator's
   * retry of one) still matter until the window is over.
   */
  takingRefunds = false;
  /** The refund window is over: the workflow took its last refund (set as `takingRefunds` goes false). */
  refundWindowClosed = false;
  /** Hears of every status change and refund status (the merchant's webhooks); unset when the merchant has none. */
  events: PaymentEventListener | undefined;

  constructor(
    input: PaymentWorkflowInput,
    private readonly durations: PaymentDurations,
  ) {
    this.method = input.method;
    this.merchantId = input.merchantId ?? DEFAULT_MERCHANT_ID;
    this.metrics = paymentMetrics(this.merchantId);
    this.searchAttributeChangesOnly = input.searchAttributeChangesOnly === true;
    this.summaryInSearchAttributes = input.summaryInSearchAttributes === true;
    if (input.continued) {
      // The next run of a payment that continued as new: the state the last run left.
      this.s = JSON.parse(JSON.stringify(input.continued.state)) as PaymentState;
      return;
    }
    this.s = newPaymentState(input, {
      workflowId: workflowInfo().workflowId,
      createdAt: workflowInfo().startTime.toISOString(),
      updatedAt: isoAt(nowMs()),
    });
    // The API wrote the memo as the payment started: amounts not yet taken.
    this.memoWritten = this.memoPart();
  }

  get status(): PaymentStatus {
    return this.s.status;
  }

  get terminal(): boolean {
    return isTerminal(this.s.status);
  }

  /** Nothing more will happen: the status is final and the payment is not waiting out a refund window. */
  get ended(): boolean {
    return this.terminal && !this.takingRefunds;
  }

  /** Waiting for the customer: the native OTP, the challenge page or the hosted checkout. */
  get awaiting(): boolean {
    return this.s.status === PAYMENT_STATUS.AWAITING_OTP || this.s.status === PAYMENT_STATUS.AWAITING_CHALLENGE;
  }

  /** Plural's order as of the last answer ('OPEN' before the order exists). */
  get stage(): OrderStage {
    return stageOf(this.s.pluralOrderStatus ?? 'CREATED');
  }

  /** Captured minus refunded, minor units: what Plural has kept of the customer's money. */
  get netCaptured(): number {
    return (this.s.amountCaptured?.value ?? 0) - (this.s.amountRefunded?.value ?? 0);
  }

  touch(): void {
    this.s.updatedAt = isoAt(nowMs());
    this.touched = true;
  }

  /**
   * Adds an audit entry that changes no status; one the payment already noted since its status last changed is
   * counted on that entry instead (`repeats`, `lastAt`). State only: the commands are those of a new entry.
   */
  note(cause: string): void {
    const { audit, status } = this.s;
    const at = isoAt(nowMs());
    const same = sameNoteSinceLastMove(audit, status, cause);
    if (same) {
      same.repeats = (same.repeats ?? 0) + 1;
      same.lastAt = at;
    } else {
      audit.push({ from: status, to: status, cause, at });
    }
    this.touch();
  }

  /** Adds the audit entry `cause` unless the payment already has it (a note that says the same however often). */
  noteOnce(cause: string): void {
    if (!this.s.audit.some((e) => e.cause === cause)) this.note(cause);
  }

  /**
   * States the payment's search attributes: those whose value changed since the workflow started (with the attributes
   * the API gave it) or last upserted them. Each upsert is a write to Temporal's visibility store, which costs the
   * server about what an activity's events do; one that changes nothing tells no reader anything. A payment started
   * without {@link PaymentWorkflowInput.searchAttributeChangesOnly} upserts all of them, as it did when it started.
   */
  upsertSearchAttributes(): void {
    const s = this.s;
    const wanted: SearchAttributeUpdatePair[] = [
      { key: SEARCH_ATTRIBUTE.PAYMENT_STATUS, value: s.status },
      { key: SEARCH_ATTRIBUTE.MERCHANT_ORDER_REFERENCE, value: s.merchantOrderReference },
      ...(s.pluralOrderId === undefined ? [] : [{ key: SEARCH_ATTRIBUTE.PLURAL_ORDER_ID, value: s.pluralOrderId }]),
      { key: SEARCH_ATTRIBUTE.PARKED_OPERATION, value: s.parked?.operation ?? 'none' },
      { key: SEARCH_ATTRIBUTE.MERCHANT_ID, value: this.merchantId },
      ...(this.summaryInSearchAttributes && this.touched
        ? [{ key: SEARCH_ATTRIBUTE.UPDATED_AT, value: new Date(s.updatedAt) }]
        : []),
    ];
    // The creation time rides on every upsert made (a continue-as-new carries it on), never on one of its own, so a
    // history from before it replays with the same commands; on every one, not the first only: replaying a payment that
    // moved before it existed, the SDK's copy of the attributes would hold it while the server's never did.
    // workflows/README.md, "The creation time in search attributes".
    const createdAt: SearchAttributeUpdatePair = { key: SEARCH_ATTRIBUTE.CREATED_AT, value: new Date(s.createdAt) };
    if (!this.searchAttributeChangesOnly) {
      upsertSearchAttributes([...wanted, createdAt]);
      return;
    }
    // The execution's attributes as started and upserted since (the SDK keeps workflowInfo current on each upsert).
    const current = workflowInfo().typedSearchAttributes;
    const changed = wanted.filter((pair) => !sameValue(current.get(pair.key), pair.value));
    if (changed.length > 0) upsertSearchAttributes([...changed, createdAt]);
  }

  /**
   * A move the workflow makes on its own account (the customer was sent to the challenge page, the merchant
   * cancelled, the close ended).
   * @throws {IllegalTransitionError} when the transition table does not allow it: a bug, which fails the workflow task
   */
  moveTo(to: PaymentStatus, cause: string): void {
    if (this.s.status === to) return;
    assertTransition(this.s.status, to, cause);
    this.apply(to, cause);
  }

  /**
   * A move what Plural says asks for: made when the table allows it, else recorded as ignored (a payment never moves
   * backwards or out of a terminal status). Returns whether the status changed.
   */
  advance(to: PaymentStatus, cause: string, settle?: () => void): boolean {
    const from = this.s.status;
    if (from === to) return false;
    if (!canTransition(from, to)) {
      this.note(`ignored ${to} (${cause}): payment is already ${from}`);
      return false;
    }
    this.apply(to, cause, settle);
    return true;
  }

  /** Moves to `to`; `settle` sets what comes with the new status first, so the memo and the merchant's event have it. */
  private apply(to: PaymentStatus, cause: string, settle?: () => void): void {
    const from = this.s.status;
    this.s.status = to;
    settle?.();
    this.s.audit.push({ from, to, cause, at: isoAt(nowMs()) });
    this.touch();
    this.upsertSearchAttributes();
    this.syncMemo();
    // The SDK's workflow logger adds workflowId, runId and workflowType, and stays silent while replaying.
    log.info('payment status changed', { from, to, cause });
    if (isTerminal(to)) this.metrics.completed(to, this.method.kind);
    if (to !== PAYMENT_STATUS.CREATED) this.events?.statusChanged(to);
  }

  /** Tells the merchant of a refund's status: Plural took it (PENDING), or refused it (FAILED, not kept). */
  announceRefund(record: RefundRecord): void {
    this.events?.refundChanged(record);
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
    // With the summary in search attributes the id goes with the payment's next move (AWAITING_OTP, the challenge
    // page, a failure, a parked step): nothing routes by it before then, since callbacks come from the customer's
    // return from a page the payment has moved to hand out, and refund events after the capture.
    if (this.summaryInSearchAttributes) return;
    this.upsertSearchAttributes();
    this.upsertMemo();
  }

  /**
   * Keeps the memo current after the summary changed: the whole summary each time, or, with the summary in search
   * attributes, only when its memo part (the amounts taken) changed since this run last wrote it.
   */
  syncMemo(): void {
    if (this.summaryInSearchAttributes && this.memoWritten === this.memoPart()) return;
    this.upsertMemo();
  }

  /** The part of the summary only the memo holds and that changes: the amounts captured and refunded. */
  private memoPart(): string {
    return JSON.stringify([this.s.amountCaptured ?? null, this.s.amountRefunded ?? null]);
  }

  /**
   * The payment's summary in the workflow's memo (encrypted like every payload), so the API can still answer a read
   * from `describe()` when no worker answers the query.
   */
  upsertMemo(): void {
    const s = this.s;
    const summary: PaymentSummary = {
      merchantOrderReference: s.merchantOrderReference,
      method: s.method,
      preAuth: s.preAuth,
      status: s.status,
      pluralOrderId: s.pluralOrderId,
      amount: s.amount,
      amountCaptured: s.amountCaptured,
      amountRefunded: s.amountRefunded,
      // A read answered from the memo (no worker) still redirects the browser and shows the metadata.
      ...(s.returnUrl !== undefined ? { returnUrl: s.returnUrl } : {}),
      ...(s.merchantMetadata !== undefined ? { merchantMetadata: s.merchantMetadata } : {}),
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
    upsertMemo({ [PAYMENT_MEMO_KEY]: summary });
    this.memoWritten = this.memoPart();
  }

  /**
   * The memo's amounts trail the payment's: a read of Plural's order moved them with no change of status (which writes
   * the memo). False in a continued run until it has written the memo (what the last run wrote is not known here).
   */
  get memoBehind(): boolean {
    return this.memoWritten !== undefined && this.memoWritten !== this.memoPart();
  }

  /**
   * Starts closing the payment: it stays CLOSING until Plural's order is final, and the closing phase cancels or
   * refunds what Plural takes meanwhile.
   */
  close(reason: ClosingReason, cause: string, detail?: string): void {
    this.s.closing = { reason, since: isoAt(nowMs()), ...(detail !== undefined ? { detail } : {}) };
    this.moveTo(PAYMENT_STATUS.CLOSING, cause);
  }

  /** Ends a CLOSING payment: FAILED when the customer did not authenticate in time, else CANCELLED. */
  finishClosing(cause: string): void {
    const closing = this.s.closing;
    if (closing?.reason === CLOSING_REASON.AUTHENTICATION_WINDOW_CLOSED) {
      this.s.failure = {
        code: ENGINE_FAILURE_CODE.AUTHENTICATION_WINDOW_CLOSED,
        message: closing.detail ?? 'the customer did not complete authentication in time',
      };
      this.moveTo(PAYMENT_STATUS.FAILED, cause);
      return;
    }
    this.s.failure = {
      code: ENGINE_FAILURE_CODE.CANCELLED_BEFORE_AUTHORIZATION,
      message: closing?.detail ?? 'cancelled before authorization',
    };
    this.moveTo(PAYMENT_STATUS.CANCELLED, cause);
  }

  /**
   * Applies what Plural's order says: the amounts it took and refunded, and the status it implies. While CLOSING only
   * the amounts and Plural's status are recorded: the closing phase decides what to do about them.
   */
  applyOrder(order: OrderSnapshot, source: string): void {
    const s = this.s;
    if (s.pluralOrderId !== undefined && order.orderId !== s.pluralOrderId) {
      this.note(`ignored ${source}: Plural order ${order.orderId} is not this payment's order ${s.pluralOrderId}`);
      return;
    }
    this.setOrderId(order.orderId);
    s.pluralOrderStatus = order.status;
    // The newest answer wins: Plural's token moves INITIATED → ACTIVE.
    if (order.savedCard) s.savedCard = { ...order.savedCard };
    const stage = stageOf(order.status);
    // An order that lists no capture tells what was taken by its status alone (a captured pre-auth's whole amount):
    // the amount already known (a partial capture's, from Plural's answer to it) stands. State only: answers recorded
    // before `capturesListed` existed read as before.
    // A sale never lists a capture: each read says what its payments have taken so far (a points part may be taken
    // before the card part's OTP or challenge), and what a sale took only grows.
    const unlisted = order.capturesListed === false && s.amountCaptured !== undefined && s.preAuth;
    if (order.capturedValue > 0 && !unlisted) {
      const value = s.preAuth ? order.capturedValue : Math.max(order.capturedValue, s.amountCaptured?.value ?? 0);
      s.amountCaptured = { value, currency: s.amount.currency };
    }
    if (stage === 'REFUNDED' && s.amountCaptured && (s.amountRefunded?.value ?? 0) < s.amountCaptured.value) {
      // Refunded in full at Plural, by the engine or by someone else (Plural's dashboard): the order's status says so.
      s.amountRefunded = { ...s.amountCaptured };
    }
    if (this.terminal || s.status === PAYMENT_STATUS.CLOSING) return;
    const cause = `${source}: Plural order ${order.status}`;
    switch (stage) {
      case 'OPEN':
        return;
      case 'ATTEMPT_FAILED': {
        const failure = failureOf(order);
        if (this.method.kind === 'hosted_checkout') {
          // On Plural's page the customer may try again (another card) until the order's attempts run out.
          this.note(`${cause}: the customer's payment failed (${failure?.code ?? 'no code'}); they may retry`);
          return;
        }
        // A seamless payment: the engine's one attempt failed, and only the engine could make another.
        this.fail(failure?.code ?? 'PAYMENT_FAILED', failure?.message ?? 'the payment attempt failed', cause);
        return;
      }
      case 'AUTHORIZED':
        if (s.preAuth) this.markAuthorized(cause);
        // A sale: Plural authorized it and will process it; neither capture nor cancel applies.
        else this.advance(PAYMENT_STATUS.PROCESSING, cause);
        return;
      case 'CAPTURED':
      case 'REFUNDED':
        this.markProcessed(cause);
        return;
      case 'CANCELLED':
        // A sale Plural was processing that Plural cancelled: the build before could not follow it (the table had no
        // such move), noted it and kept reading the order; its histories replay that.
        if (s.status === PAYMENT_STATUS.PROCESSING && !patched(PATCH.PROCESSING_FOLLOWS_PLURALS_CANCEL)) {
          this.note(`ignored ${PAYMENT_STATUS.CANCELLED} (${cause}): payment is already ${s.status}`);
          return;
        }
        this.advance(PAYMENT_STATUS.CANCELLED, cause);
        return;
      case 'FAILED': {
        const failure = failureOf(order);
        this.fail(failure?.code ?? 'PAYMENT_FAILED', failure?.message ?? 'Plural reported the order as failed', cause);
        return;
      }
    }
  }

  private markAuthorized(cause: string): void {
    this.advance(PAYMENT_STATUS.AUTHORIZED, cause, () => {
      const at = nowMs();
      this.s.amountAuthorized = { ...this.s.amount };
      this.s.authorizedAt = isoAt(at);
      this.s.authorizationExpiresAt = isoAt(at + this.durations.authorizationLifetimeMs);
      this.s.autoCancelAt = isoAt(at + this.durations.autoCancelAfterMs);
    });
  }

  private markProcessed(cause: string): void {
    this.advance(PAYMENT_STATUS.PROCESSED, cause, () => {
      this.s.amountAuthorized ??= { ...this.s.amount };
      // A sale processed without capture data took the whole amount.
      this.s.amountCaptured ??= { ...this.s.amountAuthorized };
      this.s.refundWindowEndsAt = isoAt(nowMs() + this.durations.refundWindowMs);
    });
  }

  /** The merchant's earlier refund with this reference. */
  merchantRefund(merchantRefundReference: string): RefundRecord | undefined {
    return this.s.refunds.find((r) => r.merchantRefundReference === merchantRefundReference);
  }

  /**
   * Records a merchant's refund the moment its Update is accepted, PENDING: its amount is held back from then on, so
   * the next refund of the same batch is validated against what is really left.
   */
  requestRefund(request: RefundRequest): RefundRecord {
    const s = this.s;
    const amount = request.amount ?? {
      value: refundableValue(s),
      currency: s.amountCaptured?.currency ?? s.amount.currency,
    };
    const record: RefundRecord = {
      reason: 'MERCHANT',
      amount: { ...amount },
      merchantRefundReference: request.merchantRefundReference,
      ...(request.amount === undefined ? { rest: true } : {}),
      ...(request.reason !== undefined ? { note: request.reason } : {}),
      reference: undefined,
      refundOrderId: undefined,
      status: 'PENDING',
      at: isoAt(nowMs()),
    };
    s.refunds.push(record);
    this.note(`refund ${request.merchantRefundReference} of ${amount.value} requested by the merchant`);
    return record;
  }

  /**
   * Applies what Plural says of a refund (its order's status): a PROCESSED refund adds to `amountRefunded`, never
   * beyond what was captured (a full refund may already show in the order's status). Returns the refund's new final
   * status, or undefined when it is still PENDING or was already final.
   */
  settleRefund(record: RefundRecord, pluralStatus: string): 'PROCESSED' | 'FAILED' | undefined {
    const outcome = refundOutcome(pluralStatus);
    if (outcome === 'PENDING' || record.status !== 'PENDING') return undefined;
    record.status = outcome;
    const s = this.s;
    const label =
      record.reason === 'AUTO'
        ? 'automatic refund'
        : record.reason === 'EXTERNAL'
          ? 'refund made outside the engine'
          : `refund ${record.merchantRefundReference ?? ''}`.trimEnd();
    const metricReason =
      record.reason === 'AUTO'
        ? REFUND_REASON.AUTO
        : record.reason === 'EXTERNAL'
          ? REFUND_REASON.EXTERNAL
          : REFUND_REASON.MERCHANT;
    if (outcome === 'PROCESSED') {
      const already = s.amountRefunded?.value ?? 0;
      s.amountRefunded = {
        value: Math.min(already + record.amount.value, s.amountCaptured?.value ?? record.amount.value),
        currency: record.amount.currency,
      };
      this.note(`${label} of ${record.amount.value} processed by Plural (order ${record.refundOrderId ?? '?'})`);
      this.metrics.refund(metricReason, REFUND_OUTCOME.REFUNDED);
    } else {
      record.failure ??= {
        code: 'REFUND_FAILED',
        message: `Plural failed refund order ${record.refundOrderId ?? '?'}`,
      };
      this.note(`${label} of ${record.amount.value} failed at Plural (order ${record.refundOrderId ?? '?'})`);
      this.metrics.refund(metricReason, REFUND_OUTCOME.FAILED);
    }
    this.announceRefund(record);
    return outcome;
  }

  /** What the merchant or customer can do now. */
  nextActions(): NextAction[] {
    const s = this.s;
    if (s.parked) {
      // An operator acts on the step; the merchant may still do what the validators take while it waits: cancel (the
      // operator's give-up) before the payment is processed or closing, refund a processed payment in its window.
      const actions: NextAction[] = [NEXT_ACTION.OPERATOR_RETRY];
      const cancellable =
        s.status !== PAYMENT_STATUS.PROCESSING && s.status !== PAYMENT_STATUS.CLOSING && !this.terminal;
      if (cancellable) actions.push(NEXT_ACTION.CANCEL);
      if (this.refundsOpen && refundableValue(s) >= MIN_REFUND_VALUE) actions.push(NEXT_ACTION.REFUND);
      return actions;
    }
    switch (s.status) {
      case PAYMENT_STATUS.AWAITING_OTP: {
        // Plural accepted an OTP, or refused for good, or the window closed: only its order's outcome is left to wait for.
        if (this.otpSettled || otpWindowClosed(s.otp, nowMs())) return [NEXT_ACTION.CANCEL];
        // Plural takes no OTP until one is resent when it said so (the last one expired).
        const actions: NextAction[] = s.otp?.resendRequired ? [] : [NEXT_ACTION.SUBMIT_OTP];
        if (s.otp && s.otp.resendsLeft > 0) actions.push(NEXT_ACTION.RESEND_OTP);
        return [...actions, NEXT_ACTION.CANCEL];
      }
      case PAYMENT_STATUS.AWAITING_CHALLENGE:
        return [
          this.method.kind === 'hosted_checkout' ? NEXT_ACTION.REDIRECT_TO_CHECKOUT : NEXT_ACTION.COMPLETE_CHALLENGE,
          NEXT_ACTION.CANCEL,
        ];
      case PAYMENT_STATUS.AUTHORIZED:
        return this.captureAttempted || this.captureRequested
          ? [NEXT_ACTION.CANCEL]
          : [NEXT_ACTION.CAPTURE, NEXT_ACTION.CANCEL];
      case PAYMENT_STATUS.PROCESSED:
        return this.refundsOpen && refundableValue(s) >= MIN_REFUND_VALUE ? [NEXT_ACTION.REFUND] : [];
      default:
        return [];
    }
  }

  /**
   * Refunds are accepted: PROCESSED, within its refund window, which has not closed. As `validateRefund` takes them
   * from the moment the payment is PROCESSED, so does this: the capture's own answer already offers the refund,
   * before the workflow reaches its refund phase.
   */
  private get refundsOpen(): boolean {
    const windowEnd = this.s.refundWindowEndsAt === undefined ? NaN : Date.parse(this.s.refundWindowEndsAt);
    return this.s.status === PAYMENT_STATUS.PROCESSED && !this.refundWindowClosed && nowMs() < windowEnd;
  }

  /** A copy of the state for the query (nothing the caller holds can change the workflow's). */
  snapshot(): PaymentState {
    const s = this.s;
    return {
      ...s,
      nextActions: this.nextActions(),
      amountRefundable: this.refundsOpen
        ? { value: refundableValue(s), currency: s.amountCaptured?.currency ?? s.amount.currency }
        : undefined,
      pluralPaymentIds: [...s.pluralPaymentIds],
      refunds: s.refunds.map((r) => ({
        ...r,
        amount: { ...r.amount },
        ...(r.failure ? { failure: { ...r.failure } } : {}),
      })),
      audit: s.audit.map((e) => ({ ...e })),
      otp: s.otp === undefined ? undefined : { ...s.otp },
      closing: s.closing === undefined ? undefined : { ...s.closing },
      savedCard: s.savedCard === undefined ? undefined : { ...s.savedCard },
    };
  }
}

/** Whether a search attribute's current value is `wanted` (a Datetime's by its instant, not its identity). */
function sameValue(current: unknown, wanted: unknown): boolean {
  if (current instanceof Date && wanted instanceof Date) return current.getTime() === wanted.getTime();
  return current === wanted;
}

/** The note `cause` among the notes made since the payment last moved (in `status`), if there is one. */
function sameNoteSinceLastMove(audit: AuditEntry[], status: PaymentStatus, cause: string): AuditEntry | undefined {
  for (let i = audit.length - 1; i >= 0; i--) {
    const e = audit[i]!;
    if (e.from !== status || e.to !== status) return undefined;
    if (e.cause === cause) return e;
  }
  return undefined;
}
