/**
 * An in-memory {@link PaymentEngine} that behaves like a small payment workflow, and an in-memory card vault.
 * Requests are refused by the workflow's own validators (`workflows/validators.ts`), as the real engine refuses them.
 * Every call is recorded so tests can assert what reached the engine (and that nothing did).
 */
import type {
  Answer,
  CallbackDeliveryOptions,
  CallbackDeliveryOutcome,
  CardSecret,
  CardVaultPort,
  CreateOutcome,
  DeliveryOutcome,
  GatewayRetryStatus,
  PaymentEngine,
  PaymentListPage,
  PaymentListRequest,
  PaymentRecord,
} from '../../api/engine';
import { PaymentNotFoundError } from '../../api/engine';
import { rejectionOf } from '../../api/temporal-engine';
import { newPaymentState } from '../../workflows/definitions';
import type {
  CallbackReceivedSignal,
  CancelRequest,
  CaptureAnswer,
  CaptureRequest,
  OpenPaymentRequest,
  OtpSubmissionOutcome,
  PaymentAnswer,
  PaymentState,
  PaymentStatus,
  PaymentSummary,
  PaymentWorkflowInput,
  RefundAnswer,
  RefundRecord,
  RefundRequest,
  ResendOtpAnswer,
  SubmitOtpAnswer,
  SubmitOtpRequest,
  WebhookReceivedSignal,
} from '../../workflows/definitions';
import {
  refundableValue,
  repeatedRefund,
  validateCancel,
  validateCapture,
  validateOpen,
  validateRefund,
  validateResendOtp,
  validateSubmitOtp,
} from '../../workflows/validators';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const CORRECT_OTP = '123456';
/** Cards ending in this go through the challenge page instead of native OTP. */
export const CHALLENGE_LAST4 = '4444';

export interface FakeEngineOptions {
  /** Requests are recorded but never answered (an engine whose workers do not answer in time). */
  unresponsive?: boolean;
  /** Delay before each state change, ms. @default 5 */
  transitionDelayMs?: number;
  /** How long after an OTP is sent a resend is allowed, ms. @default 30000 */
  resendAfterMs?: number;
  /** Outcome of captures. @default 'CAPTURED' */
  captureOutcome?: 'CAPTURED' | 'REJECTED' | 'PARKED';
  /** What Plural makes of refunds: processed at once, PENDING, refused, or the step parks. @default 'PROCESSED' */
  refundOutcome?: 'PROCESSED' | 'PENDING' | 'REJECTED' | 'PARKED';
  /** Plural unreachable for OTP resends (the workflow answers IGNORED, still awaiting the OTP). */
  resendUnreachable?: boolean;
  /** Plural keeps failing an authorization's cancel: the step parks, the payment stays AUTHORIZED. */
  cancelParks?: boolean;
  /** Plural answers an authorization's cancel with its order still AUTHORIZED: the payment stays AUTHORIZED. */
  cancelWithoutEffect?: boolean;
  /** Plural refuses Create Order: a new payment ends FAILED before any payment is made. */
  orderRefused?: boolean;
}

const REFUND_WINDOW_MS = 180 * 24 * 3600_000;

export interface EngineCall {
  method: keyof PaymentEngine;
  args: unknown[];
  /** The workflow's validator refused it: nothing happened (no history in the real engine). */
  refused?: boolean;
  /** The request's id across its keyed retries (a capture's, as the route gives it: the Update id it names). */
  requestId?: string;
}

interface Entry {
  state: PaymentState;
  input: PaymentWorkflowInput;
  fingerprint: string;
  webhookIds: Set<string>;
}

const TERMINAL: readonly PaymentStatus[] = ['PROCESSED', 'CANCELLED', 'FAILED'];

export class FakeEngine implements PaymentEngine {
  readonly calls: EngineCall[] = [];
  readonly payments = new Map<string, Entry>();
  /** What `get` reports as the payment's gateway retry status (as the Temporal engine reads it from `describe`). */
  readonly gatewayStatus = new Map<string, GatewayRetryStatus>();
  reachable = true;
  /** Capture Updates by id (a keyed retry of an unanswered one is the same Update), with their answers once made. */
  private readonly captureUpdates = new Map<string, { answer?: CaptureAnswer }>();
  /** Reads answer from the "memo" (no worker answered): marked stale. */
  stale = false;

  /** The vault the OTP signal's handle points into (as the submit-OTP activity reads it). */
  constructor(
    readonly options: FakeEngineOptions = {},
    readonly vault: FakeVault = new FakeVault(),
  ) {}

  /** Calls other than reads (`get`, `list`, `ping`) that the payment did not refuse. */
  get mutatingCalls(): EngineCall[] {
    return this.calls.filter((c) => c.method !== 'get' && c.method !== 'list' && c.method !== 'ping' && !c.refused);
  }

  private later(fn: () => void): void {
    if (this.options.unresponsive) return;
    setTimeout(fn, this.options.transitionDelayMs ?? 5);
  }

  private entry(ref: string): Entry {
    const e = this.payments.get(ref);
    if (!e) throw new PaymentNotFoundError(ref);
    return e;
  }

  private move(e: Entry, to: PaymentStatus, cause: string): void {
    const at = new Date().toISOString();
    e.state.audit.push({ from: e.state.status, to, cause, at });
    e.state.status = to;
    e.state.updatedAt = at;
    if (to === 'PROCESSED') {
      // As the workflow: a PROCESSED payment takes refunds for its refund window.
      e.state.refundWindowEndsAt = new Date(Date.now() + REFUND_WINDOW_MS).toISOString();
      e.state.amountCaptured ??= { ...e.state.amount };
      this.refreshRefundable(e);
      return;
    }
    e.state.nextActions =
      to === 'AWAITING_OTP'
        ? ['SUBMIT_OTP', 'RESEND_OTP', 'CANCEL']
        : to === 'AWAITING_CHALLENGE'
          ? ['COMPLETE_CHALLENGE', 'CANCEL']
          : to === 'AUTHORIZED'
            ? ['CAPTURE', 'CANCEL']
            : to === 'CREATED'
              ? ['CANCEL']
              : [];
  }

  /** What a PROCESSED payment in its window shows: the amount left to refund, and REFUND while something is. */
  private refreshRefundable(e: Entry): void {
    const left = refundableValue(e.state);
    e.state.amountRefundable = { value: left, currency: e.state.amount.currency };
    e.state.nextActions = left >= 100 ? ['REFUND'] : [];
  }

  /** Put a payment directly into a status (test set-up). */
  force(ref: string, status: PaymentStatus): void {
    const e = this.entry(ref);
    this.move(e, status, 'test');
    if (status === 'AUTHORIZED') e.state.amountAuthorized = { ...e.state.amount };
  }

  /**
   * Answer an accepted request: after the transition delay `act` changes the payment and gives the answer; an
   * unresponsive engine answers nothing within `waitMs`.
   */
  private async answer<T>(waitMs: number, act: () => T): Promise<Answer<T>> {
    if (this.options.unresponsive) {
      await sleep(waitMs);
      return { answered: false };
    }
    await sleep(this.options.transitionDelayMs ?? 5);
    return { answered: true, answer: act() };
  }

  /** The workflow's own validator, refusing as the Temporal engine does. */
  private validate(check: () => void): void {
    try {
      check();
    } catch (failure) {
      const last = this.calls.at(-1);
      if (last) last.refused = true;
      throw rejectionOf(failure) ?? failure;
    }
  }

  /** The calls of `method` the payment accepted (not refused by its validator). */
  accepted(method: keyof PaymentEngine): EngineCall[] {
    return this.calls.filter((c) => c.method === method && !c.refused);
  }

  /** A payment started elsewhere (an older build, another API instance), optionally already in `status`. */
  seed(input: PaymentWorkflowInput, requestFingerprint: string, status?: PaymentStatus): void {
    const e = this.open(input, requestFingerprint, status === undefined);
    if (status !== undefined) this.move(e, status, 'test');
  }

  async create(input: PaymentWorkflowInput, request: OpenPaymentRequest, waitMs: number): Promise<CreateOutcome> {
    this.calls.push({ method: 'create', args: [input, request] });
    const ref = input.merchantOrderReference;
    let e = this.payments.get(ref);
    if (e && TERMINAL.includes(e.state.status)) return { answered: false, closed: this.record(e) };
    if (e && this.options.unresponsive) {
      // No worker runs the validator in time: neither answered nor refused.
      await sleep(waitMs);
      return { answered: false };
    }
    if (e) {
      const existing = e;
      this.validate(() => validateOpen(existing.input, request));
    } else {
      e = this.open(input, request.requestFingerprint);
    }
    const entry = e;
    const deadline = Date.now() + waitMs;
    while (!this.actionable(entry.state) && Date.now() < deadline) await sleep(1);
    if (!this.actionable(entry.state)) return { answered: false };
    return {
      answered: true,
      created: request.requestId === entry.input.requestId,
      state: structuredClone(entry.state),
    };
  }

  private actionable(s: PaymentState): boolean {
    return s.status !== 'CREATED' || s.redirectUrl !== undefined || s.parked !== undefined;
  }

  /** A new payment; with `run`, it then moves on by itself (order, payment, OTP or challenge) as the workflow does. */
  private open(input: PaymentWorkflowInput, requestFingerprint: string, run = true): Entry {
    const ref = input.merchantOrderReference;
    const now = new Date().toISOString();
    const state: PaymentState = {
      ...newPaymentState(input, { workflowId: `payment:${ref}`, createdAt: now, updatedAt: now }),
      nextActions: ['CANCEL'],
    };
    const e: Entry = { state, input, fingerprint: requestFingerprint, webhookIds: new Set() };
    this.payments.set(ref, e);
    if (!run) return e;
    this.later(() => {
      // A payment seeded in a status of its own (test set-up) has moved on: the simulated creation does not apply.
      if (state.status !== 'CREATED') return;
      state.pluralOrderId = `v1-ord-${ref}`;
      // A payment a test has already put in a status (`seed`, `force`) stays there: the timer must not move it back.
      if (state.status !== 'CREATED') return;
      if (this.options.orderRefused) {
        state.failure = { code: 'INVALID_REQUEST', message: 'order refused' };
        this.move(e, 'FAILED', 'rejected by Plural (OrderRejected)');
        return;
      }
      if (input.method.kind === 'hosted_checkout') {
        state.redirectUrl = `https://checkout.example.test/pay/${ref}`;
        state.nextActions = ['REDIRECT_TO_CHECKOUT', 'CANCEL'];
        return;
      }
      state.pluralPaymentIds.push(`v1-pay-${ref}`);
      const last4 = 'last4' in input.method ? input.method.last4 : undefined;
      if (last4 === CHALLENGE_LAST4) {
        state.challengeUrl = `https://sandbox.example.test/challenge/${ref}`;
        this.move(e, 'AWAITING_CHALLENGE', 'payment created');
        return;
      }
      state.otp = {
        attemptsLeft: 3,
        resendsLeft: 2,
        resendAvailableAt: new Date(Date.now() + (this.options.resendAfterMs ?? 30_000)).toISOString(),
      };
      this.move(e, 'AWAITING_OTP', 'OTP sent');
    });
    return e;
  }

  /** A deep copy, as a Temporal query result would be. */
  private record(e: Entry): PaymentRecord {
    const gateway = this.gatewayStatus.get(e.state.merchantOrderReference);
    return {
      state: structuredClone(e.state),
      requestFingerprint: e.fingerprint,
      ...(gateway ? { gateway: { ...gateway } } : {}),
      ...(this.stale ? { stale: true } : {}),
    };
  }

  get(ref: string): Promise<PaymentRecord | undefined> {
    this.calls.push({ method: 'get', args: [ref] });
    const e = this.payments.get(ref);
    return Promise.resolve(e ? this.record(e) : undefined);
  }

  private authorize(e: Entry, cause: string): void {
    e.state.amountAuthorized = { ...e.state.amount };
    e.state.authorizedAt = new Date().toISOString();
    if (e.state.preAuth) this.move(e, 'AUTHORIZED', cause);
    else {
      e.state.amountCaptured = { ...e.state.amount };
      this.move(e, 'PROCESSED', cause);
    }
  }

  async submitOtp(ref: string, request: SubmitOtpRequest, waitMs: number): Promise<Answer<SubmitOtpAnswer>> {
    this.calls.push({ method: 'submitOtp', args: [ref, request] });
    const e = this.entry(ref);
    this.validate(() => validateSubmitOtp(e.state, Date.now()));
    return this.answer(waitMs, () => {
      const otp = e.state.otp;
      const reply = (outcome: OtpSubmissionOutcome, message?: string): SubmitOtpAnswer => {
        if (otp) otp.lastSubmission = { outcome, ...(message !== undefined ? { message } : {}) };
        return {
          outcome,
          attemptsLeft: otp?.attemptsLeft ?? 0,
          ...(message !== undefined ? { message } : {}),
          state: structuredClone(e.state),
        };
      };
      if (e.state.status !== 'AWAITING_OTP' || !otp) return reply('IGNORED', `payment is ${e.state.status}`);
      // As the submit-OTP activity: read the OTP from the vault, destroy it once the outcome is known.
      const submitted = this.vault.secrets.get(request.otpHandle)?.otp;
      if (submitted === undefined) {
        return reply('FAILED', 'the submitted OTP is no longer available; submit the OTP again');
      }
      void this.vault.destroy(request.otpHandle);
      if (submitted === CORRECT_OTP) {
        this.authorize(e, 'OTP accepted');
        return reply('ACCEPTED');
      }
      otp.attemptsLeft -= 1;
      if (otp.attemptsLeft <= 0) {
        e.state.failure = { code: 'OTP_ATTEMPTS_EXHAUSTED', message: 'too many wrong OTPs' };
        this.move(e, 'FAILED', 'OTP attempts exhausted');
        return reply('FAILED', 'OTP attempts exhausted');
      }
      e.state.updatedAt = new Date().toISOString();
      return reply('INCORRECT', 'incorrect OTP');
    });
  }

  async resendOtp(ref: string, waitMs: number): Promise<Answer<ResendOtpAnswer>> {
    this.calls.push({ method: 'resendOtp', args: [ref] });
    const e = this.entry(ref);
    this.validate(() => validateResendOtp(e.state, Date.now()));
    return this.answer(waitMs, () => {
      const otp = e.state.otp;
      if (!otp) return { outcome: 'IGNORED', state: structuredClone(e.state) };
      if (this.options.resendUnreachable) {
        otp.lastResend = { outcome: 'IGNORED', message: 'Plural is unavailable' };
        return { outcome: 'IGNORED', message: 'Plural is unavailable', state: structuredClone(e.state) };
      }
      otp.resendsLeft -= 1;
      if (otp.resendsLeft <= 0) e.state.nextActions = e.state.nextActions.filter((a) => a !== 'RESEND_OTP');
      otp.resendAvailableAt = new Date(Date.now() + (this.options.resendAfterMs ?? 30_000)).toISOString();
      otp.lastResend = { outcome: 'SENT' };
      return { outcome: 'SENT', state: structuredClone(e.state) };
    });
  }

  async capture(
    ref: string,
    request: CaptureRequest,
    waitMs: number,
    requestId?: string,
  ): Promise<Answer<CaptureAnswer>> {
    this.calls.push({ method: 'capture', args: [ref, request], ...(requestId !== undefined ? { requestId } : {}) });
    const e = this.entry(ref);
    // The same Update again (Temporal dedupes by id): not validated again; its answer, made once.
    let update = requestId !== undefined ? this.captureUpdates.get(requestId) : undefined;
    if (!update) {
      this.validate(() => validateCapture(e.state, request));
      // The workflow takes one capture at a time: a second one sees CAPTURE gone from the next actions.
      e.state.nextActions = e.state.nextActions.filter((a) => a !== 'CAPTURE');
      update = {};
      if (requestId !== undefined) this.captureUpdates.set(requestId, update);
    }
    const made = update;
    return this.answer(waitMs, () => {
      if (made.answer) return made.answer;
      const outcome = this.options.captureOutcome ?? 'CAPTURED';
      const message = outcome === 'REJECTED' ? 'capture declined' : undefined;
      e.state.lastCapture = { outcome, ...(message !== undefined ? { message } : {}) };
      const amountCaptured = request.amount ?? e.state.amountAuthorized ?? e.state.amount;
      if (outcome === 'CAPTURED') {
        e.state.amountCaptured = amountCaptured;
        this.move(e, 'PROCESSED', 'captured');
      }
      made.answer = {
        outcome,
        ...(outcome === 'CAPTURED' ? { amountCaptured } : {}),
        ...(message !== undefined ? { message } : {}),
        state: structuredClone(e.state),
      };
      return made.answer;
    });
  }

  async cancel(ref: string, request: CancelRequest, waitMs: number): Promise<Answer<PaymentAnswer>> {
    this.calls.push({ method: 'cancel', args: [ref, request] });
    const e = this.entry(ref);
    this.validate(() => validateCancel(e.state));
    if (e.state.status === 'CLOSING') return { answered: true, answer: { state: structuredClone(e.state) } };
    return this.answer(waitMs, () => {
      // As the workflow does: an authorization is cancelled at Plural at once; a payment not yet authorized closes
      // until Plural's order is final (the fake never finalizes it).
      if (e.state.status === 'AUTHORIZED' && this.options.cancelParks) {
        e.state.parked = {
          operation: 'cancel',
          code: 'INTERNAL_ERROR',
          message: 'Plural is unavailable',
          since: new Date().toISOString(),
          retries: 0,
        };
        e.state.nextActions = ['OPERATOR_RETRY', 'CANCEL'];
      } else if (e.state.status === 'AUTHORIZED' && this.options.cancelWithoutEffect) {
        // As the workflow does when Plural's order still reads AUTHORIZED after the cancel: answered as it stands.
      } else if (e.state.status === 'AUTHORIZED') this.move(e, 'CANCELLED', request.reason ?? 'cancel requested');
      else if (!TERMINAL.includes(e.state.status)) this.move(e, 'CLOSING', request.reason ?? 'cancel requested');
      return { state: structuredClone(e.state) };
    });
  }

  async refund(ref: string, request: RefundRequest, waitMs: number): Promise<Answer<RefundAnswer>> {
    this.calls.push({ method: 'refund', args: [ref, request] });
    const e = this.entry(ref);
    this.validate(() => validateRefund(e.state, request, Date.now()));
    const earlier = repeatedRefund(e.state, request);
    if (earlier) {
      return {
        answered: true,
        answer: { outcome: 'REPEATED', refund: structuredClone(earlier), state: structuredClone(e.state) },
      };
    }
    // Held back at once, as the workflow's handler does: the next refund is validated against what is left.
    const amount = request.amount ?? { value: refundableValue(e.state), currency: e.state.amount.currency };
    const record: RefundRecord = {
      reason: 'MERCHANT',
      amount: { ...amount },
      merchantRefundReference: request.merchantRefundReference,
      ...(request.amount === undefined ? { rest: true } : {}),
      ...(request.reason !== undefined ? { note: request.reason } : {}),
      reference: undefined,
      refundOrderId: undefined,
      status: 'PENDING',
      at: new Date().toISOString(),
    };
    e.state.refunds.push(record);
    this.refreshRefundable(e);
    return this.answer(waitMs, (): RefundAnswer => {
      const outcome = this.options.refundOutcome ?? 'PROCESSED';
      const reply = (o: RefundAnswer['outcome'], message?: string): RefundAnswer => ({
        outcome: o,
        refund: structuredClone(record),
        ...(message !== undefined ? { message } : {}),
        state: structuredClone(e.state),
      });
      if (outcome === 'PARKED') return reply('PARKED', 'Plural is unavailable');
      if (outcome === 'REJECTED') {
        e.state.refunds = e.state.refunds.filter((r) => r !== record);
        this.refreshRefundable(e);
        record.status = 'FAILED';
        return reply('REJECTED', 'refund amount exceeds what Plural can refund');
      }
      record.refundOrderId = `v1-rf-${ref}-${e.state.refunds.length}`;
      record.reference = `payment:${ref}:refund:${request.merchantRefundReference}`;
      if (outcome === 'PROCESSED') {
        record.status = 'PROCESSED';
        e.state.amountRefunded = {
          value: (e.state.amountRefunded?.value ?? 0) + amount.value,
          currency: amount.currency,
        };
      }
      this.refreshRefundable(e);
      return reply('REFUNDED');
    });
  }

  private byOrderId(orderId: string): Entry | undefined {
    return [...this.payments.values()].find((e) => e.state.pluralOrderId === orderId);
  }

  deliverCallback(
    signal: CallbackReceivedSignal,
    options: CallbackDeliveryOptions = {},
  ): Promise<CallbackDeliveryOutcome> {
    this.calls.push({ method: 'deliverCallback', args: [signal] });
    const e = this.byOrderId(signal.orderId);
    if (!e) return Promise.resolve({ delivered: false });
    // As the Temporal engine: a payment that ended FAILED or CANCELLED has no workflow left to signal.
    if (e.state.status === 'FAILED' || e.state.status === 'CANCELLED') {
      return Promise.resolve({ delivered: false, ended: true, merchantOrderReference: e.state.merchantOrderReference });
    }
    // As the Temporal engine: the workflow's start time is the payment's `createdAt`.
    if (options.startedAfterMs !== undefined && Date.parse(e.state.createdAt) < options.startedAfterMs) {
      return Promise.resolve({
        delivered: false,
        tooOld: true,
        merchantOrderReference: e.state.merchantOrderReference,
      });
    }
    this.later(() => {
      if (e.state.status !== 'AWAITING_CHALLENGE') return;
      if (signal.status === 'AUTHORIZED' || signal.status === 'PROCESSED') this.authorize(e, 'callback');
      else {
        e.state.failure = { code: signal.errorCode ?? 'PAYMENT_DECLINED', message: signal.errorMessage ?? 'declined' };
        this.move(e, 'FAILED', 'callback');
      }
    });
    return Promise.resolve({ delivered: true, merchantOrderReference: e.state.merchantOrderReference });
  }

  deliverWebhook(ref: string | undefined, signal: WebhookReceivedSignal): Promise<DeliveryOutcome> {
    this.calls.push({ method: 'deliverWebhook', args: [ref, signal] });
    const e =
      (ref !== undefined && signal.parentOrderId === undefined ? this.payments.get(ref) : undefined) ??
      this.byOrderId(signal.parentOrderId ?? signal.orderId);
    if (!e) return Promise.resolve({ delivered: false });
    if (!e.webhookIds.has(signal.webhookId)) {
      e.webhookIds.add(signal.webhookId);
      this.later(() => {
        if (signal.orderStatus === 'AUTHORIZED' && e.state.status === 'AWAITING_CHALLENGE')
          this.authorize(e, 'webhook');
      });
    }
    return Promise.resolve({ delivered: true, merchantOrderReference: e.state.merchantOrderReference });
  }

  /**
   * As visibility lists them: newest created first (ties: the later created first), filtered like the Temporal
   * engine's query. The page token is the offset of the next page, as text.
   */
  list(request: PaymentListRequest): Promise<PaymentListPage> {
    this.calls.push({ method: 'list', args: [request] });
    const from = request.createdFrom?.getTime() ?? -Infinity;
    const to = request.createdTo?.getTime() ?? Infinity;
    const matching = [...this.payments.values()]
      .map((e) => e.state)
      .reverse()
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
      .filter(
        (s) =>
          (request.statuses === undefined || request.statuses.includes(s.status)) &&
          Date.parse(s.createdAt) >= from &&
          Date.parse(s.createdAt) < to &&
          (request.referencePrefix === undefined || s.merchantOrderReference.startsWith(request.referencePrefix)),
      );
    const offset = request.pageToken ? Number(Buffer.from(request.pageToken).toString('utf8')) : 0;
    const end = offset + request.limit;
    const summary = (s: PaymentState): PaymentSummary => ({
      merchantOrderReference: s.merchantOrderReference,
      method: s.method,
      preAuth: s.preAuth,
      status: s.status,
      pluralOrderId: s.pluralOrderId,
      amount: { ...s.amount },
      amountCaptured: s.amountCaptured && { ...s.amountCaptured },
      amountRefunded: s.amountRefunded && { ...s.amountRefunded },
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    });
    return Promise.resolve({
      payments: matching.slice(offset, end).map(summary),
      nextPageToken: end < matching.length ? new Uint8Array(Buffer.from(String(end), 'utf8')) : undefined,
    });
  }

  ping(): Promise<void> {
    this.calls.push({ method: 'ping', args: [] });
    return this.reachable ? Promise.resolve() : Promise.reject(new Error('connection refused'));
  }
}

/** A vault that keeps secrets in a map and records every handle it gave out or destroyed. */
export class FakeVault implements CardVaultPort {
  readonly secrets = new Map<string, CardSecret>();
  readonly destroyed: string[] = [];
  private next = 0;

  put(secret: CardSecret, _ttlMs: number): Promise<string> {
    const handle = `vh_${++this.next}`;
    this.secrets.set(handle, { ...secret });
    return Promise.resolve(handle);
  }

  destroy(handle: string): Promise<void> {
    this.secrets.delete(handle);
    this.destroyed.push(handle);
    return Promise.resolve();
  }
}
