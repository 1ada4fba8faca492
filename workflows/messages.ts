/**
 * The payment's message handlers. Requests that want an answer are Updates: each has a validator
 * (`validators.ts`) that refuses what cannot apply now before anything is written to history; an accepted request
 * goes into the {@link Inbox} with its Update id, the main body acts on it (every activity call happens there, one at
 * a time, so the state moves in one place) and the handler returns that request's own answer. Plural's callbacks and
 * webhooks stay Signals (fire-and-forget): deduplicated and queued for confirmation, the main body reads Plural's order
 * (Get Order) and moves the payment on what the order says, never on the event itself.
 */
import { condition, currentUpdateInfo, patched, setHandler } from '@temporalio/workflow';
import { nowMs } from './clock';
import { PATCH } from './patches';
import {
  callbackReceivedSignal,
  cancelUpdate,
  captureUpdate,
  FREE_TEXT_MAX_LENGTH,
  getPaymentQuery,
  openPaymentUpdate,
  operatorGiveUpUpdate,
  operatorRetryUpdate,
  PAYMENT_STATUS,
  refundUpdate,
  resendOtpUpdate,
  submitOtpUpdate,
  webhookReceivedSignal,
} from './definitions';
import type {
  CallbackReceivedSignal,
  CaptureAnswer,
  CaptureRequest,
  OpenPaymentRequest,
  PaymentAnswer,
  PaymentWorkflowInput,
  RefundAnswer,
  RefundRequest,
  ResendOtpAnswer,
  SubmitOtpAnswer,
  WebhookReceivedSignal,
} from './definitions';
import type { Payment } from './payment-state';
import { cancelRequest, captureRequest, operatorRequest, refundRequest, submitOtpRequest } from './request-shapes';
import { callbackSignalProblem, webhookSignalProblem } from './signal-guards';
import {
  validateCancel,
  validateCapture,
  validateOpen,
  validateOperator,
  validateRefund,
  validateResendOtp,
  validateSubmitOtp,
} from './validators';

/** Who asked to cancel. */
export type CancelSource = 'merchant' | 'operator' | 'workflow';

/** A cancel waiting to be acted on, with the Updates that wait for its answer. */
export interface PendingCancel {
  reason: string | undefined;
  source: CancelSource;
  /** Update ids to answer once the cancel has been acted on (none for Temporal's own cancellation). */
  ids: string[];
}

/** What arrived and has not been handled yet; drained by the phases, which answer each request by its Update id. */
/** A gateway event waiting for its Get Order: what it claims Plural's order is, and whether it is about a refund. */
export interface UnconfirmedEvent {
  label: string;
  claimedStatus: string;
  aboutRefund: boolean;
  /** Reads of Plural's order that found it still open since the event claimed it decided (see `Inbox.lagging`). */
  looks?: number;
}

/** An OTP submission waiting to be sent, or being sent; `joined`: the Updates of the same OTP sent again meanwhile. */
export interface OtpSubmission {
  id: string;
  otpHandle: string;
  otpDigest?: string;
  joined: string[];
}

export class Inbox {
  readonly otps: OtpSubmission[] = [];
  /** The submission being sent to Plural now. */
  otpInFlight: OtpSubmission | undefined;
  /** The digest of the OTP Plural last refused as incorrect (cleared by a resend, which brings a new OTP). */
  incorrectOtpDigest: string | undefined;
  readonly resends: { id: string }[] = [];
  readonly captures: (CaptureRequest & { id: string })[] = [];
  /** Merchant refunds accepted (their records PENDING, their amounts held back), waiting to be sent to Plural. */
  readonly refunds: { id: string; merchantRefundReference: string }[] = [];
  /** The cancel not yet acted on (later requests join it). */
  cancel: PendingCancel | undefined;
  /** How many times an operator asked to retry a parked step. */
  operatorRetries = 0;
  /** Gateway events already seen (`callback:<order>:<status>`, `webhook:<webhook-id>`). */
  readonly seenEvents = new Set<string>();
  /** Gateway events waiting for a Get Order to confirm what they say (labelled for the audit trail). */
  readonly unconfirmed: UnconfirmedEvent[] = [];
  /**
   * Gateway events that claimed Plural decided the order (authorized, processed, failed…) while the Get Order after
   * them still read it open: Plural's order can lag its events, so it is read again a few times (`Steps`).
   */
  readonly lagging: UnconfirmedEvent[] = [];
  /**
   * Refund orders of the payment's order that gateway events named and none of its refunds had when they came (one
   * made outside the engine, or the engine's own before its answer was recorded): read by the refund window.
   */
  readonly refundOrdersNamed: string[] = [];
  /** Of those, the ones Plural could not be asked about yet: read again at the refund window's next look. */
  readonly refundOrdersUnread: string[] = [];
  /** Of the unread, those Plural answered it has no order for, with how many looks have not found them. */
  readonly refundOrdersNotFound = new Map<string, number>();
  private readonly answers = new Map<string, unknown>();

  /** Records a cancel request; one already waiting absorbs it (both get its answer). */
  requestCancel(reason: string | undefined, source: CancelSource, id?: string): void {
    this.cancel ??= { reason: reason === undefined ? undefined : clip(reason), source, ids: [] };
    if (id !== undefined) this.cancel.ids.push(id);
  }

  /** Takes the waiting cancel, for a phase to act on (then {@link answerAll} its ids). */
  takeCancel(): PendingCancel | undefined {
    const cancel = this.cancel;
    this.cancel = undefined;
    return cancel;
  }

  answer(id: string, value: unknown): void {
    this.answers.set(id, value);
  }

  answerAll(ids: readonly string[], value: unknown): void {
    for (const id of ids) this.answers.set(id, value);
  }

  /** The submission of the OTP with this digest, queued or in flight. */
  otpWith(digest: string): OtpSubmission | undefined {
    if (this.otpInFlight?.otpDigest === digest) return this.otpInFlight;
    return this.otps.find((o) => o.otpDigest === digest);
  }

  /** Answers a submission and every Update that joined it. */
  answerOtp(sub: OtpSubmission, value: unknown): void {
    this.answerAll([sub.id, ...sub.joined], value);
  }

  /** Waits for the main body's answer to the Update `id`. */
  async answerOf<T>(id: string): Promise<T> {
    await condition(() => this.answers.has(id));
    const value = this.answers.get(id) as T;
    this.answers.delete(id);
    return value;
  }
}

/**
 * Free text from a person, cut to {@link FREE_TEXT_MAX_LENGTH} characters (whole code points) so what reaches the
 * workflow outside the API cannot grow its history or its log lines without bound.
 */
export function clip(text: string, max = FREE_TEXT_MAX_LENGTH): string {
  if (text.length <= max) return text;
  return `${Array.from(text).slice(0, max).join('')}…`;
}

/** The running Update's id (handlers only run inside an Update). */
function updateId(): string {
  return currentUpdateInfo()?.id ?? 'unknown-update';
}

/** The state as the query shows it (and the validators read it). */
const stateOf = (payment: Payment) => payment.snapshot();

/** The payment is actionable: the customer can act, it is authorized, parked, closing or final. */
function actionable(payment: Payment): boolean {
  const s = payment.s;
  return s.status !== PAYMENT_STATUS.CREATED || s.redirectUrl !== undefined || s.parked !== undefined;
}

/** Registers the query, every Update with its validator, and the gateway's Signals. */
export function registerHandlers(input: PaymentWorkflowInput, payment: Payment, inbox: Inbox): void {
  setHandler(getPaymentQuery, () => payment.snapshot());

  setHandler(
    openPaymentUpdate,
    async (request) => {
      await condition(() => actionable(payment));
      return { state: payment.snapshot(), created: request.requestId === input.requestId };
    },
    { validator: (request: OpenPaymentRequest) => validateOpen(input, request) },
  );

  setHandler(
    submitOtpUpdate,
    async (request): Promise<SubmitOtpAnswer> => {
      const id = updateId();
      const digest = request.otpDigest;
      if (digest !== undefined) {
        // The same OTP again (a client retrying a request whose answer it did not wait for): it joins the submission
        // already queued or in flight, or, refused already, is answered so; Plural never sees it twice.
        const same = inbox.otpWith(digest);
        if (same && patched(PATCH.OTP_REPEATS_JOIN)) {
          same.joined.push(id);
          return inbox.answerOf<SubmitOtpAnswer>(id);
        }
        if (digest === inbox.incorrectOtpDigest && patched(PATCH.OTP_REPEATS_JOIN)) {
          return {
            outcome: 'INCORRECT',
            attemptsLeft: payment.s.otp?.attemptsLeft ?? 0,
            message: 'Plural already refused this OTP; it was not sent again (no attempt used)',
            state: payment.snapshot(),
          };
        }
      }
      inbox.otps.push({
        id,
        otpHandle: request.otpHandle,
        ...(digest !== undefined ? { otpDigest: digest } : {}),
        joined: [],
      });
      return inbox.answerOf<SubmitOtpAnswer>(id);
    },
    {
      validator: (request) => {
        submitOtpRequest(request);
        validateSubmitOtp(stateOf(payment), nowMs());
      },
    },
  );

  setHandler(
    resendOtpUpdate,
    async (): Promise<ResendOtpAnswer> => {
      const id = updateId();
      inbox.resends.push({ id });
      return inbox.answerOf<ResendOtpAnswer>(id);
    },
    { validator: () => validateResendOtp(stateOf(payment), nowMs()) },
  );

  setHandler(
    captureUpdate,
    async (request): Promise<CaptureAnswer> => {
      const id = updateId();
      // Runs right after its validator, before the next Update of the same batch is validated: that one is refused.
      payment.captureRequested = true;
      inbox.captures.push({ ...(request ?? {}), id });
      return inbox.answerOf<CaptureAnswer>(id);
    },
    {
      validator: (request: CaptureRequest) =>
        validateCapture(stateOf(payment), captureRequest(request), {
          cancelPending: inbox.cancel !== undefined || payment.cancelling,
        }),
    },
  );

  setHandler(
    cancelUpdate,
    async (request): Promise<PaymentAnswer> => {
      // Already closing: the cancel is under way; answer with the payment as it is.
      if (payment.status === PAYMENT_STATUS.CLOSING) return { state: payment.snapshot() };
      const id = updateId();
      // A cancel sent while a step is parked is the operator giving up on it.
      inbox.requestCancel(request?.reason, payment.s.parked ? 'operator' : 'merchant', id);
      return inbox.answerOf<PaymentAnswer>(id);
    },
    {
      validator: (request) => {
        cancelRequest(request);
        validateCancel(stateOf(payment));
      },
    },
  );

  setHandler(
    refundUpdate,
    async (request): Promise<RefundAnswer> => {
      const earlier = payment.merchantRefund(request.merchantRefundReference);
      if (earlier) return { outcome: 'REPEATED', refund: { ...earlier }, state: payment.snapshot() };
      const id = updateId();
      // Runs right after its validator, before the next Update of the same batch is validated: that one sees this
      // refund's amount held back, so concurrent refunds never add up to more than was captured.
      payment.requestRefund(request);
      inbox.refunds.push({ id, merchantRefundReference: request.merchantRefundReference });
      return inbox.answerOf<RefundAnswer>(id);
    },
    { validator: (request: RefundRequest) => validateRefund(stateOf(payment), refundRequest(request), nowMs()) },
  );

  setHandler(
    operatorRetryUpdate,
    async (request): Promise<PaymentAnswer> => {
      const parked = payment.s.parked;
      const retries = parked?.retries ?? 0;
      inbox.operatorRetries += 1;
      if (parked) {
        payment.note(
          `operator retry of ${parked.operation}${request?.operator ? ` by ${clip(request.operator)}` : ''}`,
        );
      }
      // Answered once the step has run again: unparked (done), parked again (failed again), or the payment ended —
      // or parked afresh (a step that succeeded, then parked again at once: an automatic cancel Plural answered again
      // without effect past the authorization's expiry). Decided as the retry is accepted, so that a retry of the
      // build before waits on the one condition it waited on, registered when it was (waiters resume in that order).
      const answersNewPark = patched(PATCH.OPERATOR_RETRY_ANSWERS_A_NEW_PARK);
      const parksBefore = payment.parks;
      await condition(
        () =>
          payment.s.parked === undefined ||
          payment.s.parked.retries > retries ||
          payment.ended ||
          (answersNewPark && payment.parks > parksBefore),
      );
      return { state: payment.snapshot() };
    },
    {
      validator: (request) => {
        operatorRequest('operatorRetry', request);
        validateOperator(stateOf(payment));
      },
    },
  );

  setHandler(
    operatorGiveUpUpdate,
    async (request): Promise<PaymentAnswer> => {
      const id = updateId();
      const who = request?.operator ? `operator ${clip(request.operator)}` : 'operator';
      inbox.requestCancel(`${who}: ${clip(request?.reason ?? 'gave up on the parked step')}`, 'operator', id);
      return inbox.answerOf<PaymentAnswer>(id);
    },
    {
      validator: (request) => {
        operatorRequest('operatorGiveUp', request);
        validateOperator(stateOf(payment));
      },
    },
  );

  /**
   * Queues a verified gateway event for confirmation with Get Order, once per event id, unless it claims the status
   * Plural's order was last read as (it brings nothing new). A refund's event is about its refund order: it belongs to
   * this payment when it names this payment's order as its parent, or is one of its refunds.
   * Once the payment is PROCESSED only refunds' events are confirmed: its own order can no longer move it, and a
   * payment waiting out its refund window would otherwise spend a Get Order on every late or resent order event.
   */
  const gatewayEvent = (
    id: string,
    orderId: string,
    label: string,
    claimedStatus: string,
    parentOrderId?: string,
  ): void => {
    if (inbox.seenEvents.has(id)) return;
    inbox.seenEvents.add(id);
    const own = payment.s.pluralOrderId;
    const aboutRefund =
      orderId !== own &&
      ((parentOrderId !== undefined && parentOrderId === own) ||
        payment.s.refunds.some((r) => r.refundOrderId === orderId));
    if (own !== undefined && orderId !== own && !aboutRefund) {
      payment.note(`ignored ${label}: it is about Plural order ${orderId}, not this payment's order ${own}`);
      return;
    }
    if (payment.status === PAYMENT_STATUS.PROCESSED && !aboutRefund) {
      payment.note(`${label} received: the payment is PROCESSED, nothing to confirm`);
      return;
    }
    // An event that says what Plural's order was last read as brings nothing to confirm (the capture behind it would
    // otherwise wait for a Get Order that can only repeat what the payment holds).
    if (!aboutRefund && claimedStatus === payment.s.pluralOrderStatus) {
      payment.note(`${label} received: Plural's order was already read as ${claimedStatus}, nothing to confirm`);
      return;
    }
    payment.note(`${label} received; confirming with Get Order`);
    inbox.unconfirmed.push({ label, claimedStatus, aboutRefund });
    const named = aboutRefund && !payment.s.refunds.some((r) => r.refundOrderId === orderId);
    if (named && !inbox.refundOrdersNamed.includes(orderId)) inbox.refundOrdersNamed.push(orderId);
  };
  // Anyone who reaches Temporal can send a Signal with any payload: a malformed one is noted (without its content)
  // and otherwise ignored, rather than failing the workflow task or reaching the payment.
  setHandler(callbackReceivedSignal, (payload: unknown) => {
    const problem = callbackSignalProblem(payload);
    if (problem !== undefined) return payment.note(`ignored a malformed callbackReceived signal: ${problem}`);
    const sig = payload as CallbackReceivedSignal;
    gatewayEvent(`callback:${sig.orderId}:${sig.status}`, sig.orderId, `callback ${sig.status}`, sig.status);
  });
  setHandler(webhookReceivedSignal, (payload: unknown) => {
    const problem = webhookSignalProblem(payload);
    if (problem !== undefined) return payment.note(`ignored a malformed webhookReceived signal: ${problem}`);
    const sig = payload as WebhookReceivedSignal;
    gatewayEvent(
      `webhook:${sig.webhookId}`,
      sig.orderId,
      `webhook ${sig.eventType} (${sig.webhookId})`,
      sig.orderStatus,
      sig.parentOrderId,
    );
  });
}
