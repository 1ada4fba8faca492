/**
 * An in-memory {@link PaymentEngine} that behaves like a small payment workflow, and an in-memory card vault.
 * Every call is recorded so tests can assert what reached the engine (and that nothing did).
 */
import type {
  CardSecret,
  CardVaultPort,
  DeliveryOutcome,
  GatewayRetryStatus,
  PaymentEngine,
  PaymentRecord,
  StartOutcome,
} from '../../api/engine';
import { PaymentNotFoundError } from '../../api/engine';
import type {
  CallbackReceivedSignal,
  CancelRequestedSignal,
  CaptureRequestedSignal,
  OtpResendRequestedSignal,
  OtpSubmittedSignal,
  PaymentState,
  PaymentStatus,
  PaymentWorkflowInput,
  WebhookReceivedSignal,
} from '../../workflows/definitions';

export const CORRECT_OTP = '123456';
/** Cards ending in this go through the challenge page instead of native OTP. */
export const CHALLENGE_LAST4 = '4444';

export interface FakeEngineOptions {
  /** Signals are recorded but never acted on (an engine that does not answer in time). */
  unresponsive?: boolean;
  /** Delay before each state change, ms. @default 5 */
  transitionDelayMs?: number;
  /** How long after an OTP is sent a resend is allowed, ms. @default 30000 */
  resendAfterMs?: number;
  /** Outcome of captures. @default 'CAPTURED' */
  captureOutcome?: 'CAPTURED' | 'REJECTED' | 'PARKED';
}

export interface EngineCall {
  method: keyof PaymentEngine;
  args: unknown[];
}

interface Entry {
  state: PaymentState;
  input: PaymentWorkflowInput;
  createdAt: string;
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

  /** The vault the OTP signal's handle points into (as the submit-OTP activity reads it). */
  constructor(
    readonly options: FakeEngineOptions = {},
    readonly vault: FakeVault = new FakeVault(),
  ) {}

  /** Calls other than reads (`get`, `ping`). */
  get mutatingCalls(): EngineCall[] {
    return this.calls.filter((c) => c.method !== 'get' && c.method !== 'ping');
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

  /** Put a payment directly into a status (test set-up). */
  force(ref: string, status: PaymentStatus): void {
    const e = this.entry(ref);
    this.move(e, status, 'test');
    if (status === 'AUTHORIZED') e.state.amountAuthorized = { ...e.state.amount };
  }

  start(input: PaymentWorkflowInput, requestFingerprint: string): Promise<StartOutcome> {
    this.calls.push({ method: 'start', args: [input, requestFingerprint] });
    const ref = input.merchantOrderReference;
    const existing = this.payments.get(ref);
    if (existing) return Promise.resolve({ started: false, existingFingerprint: existing.fingerprint });
    const now = new Date().toISOString();
    const state: PaymentState = {
      workflowId: `payment:${ref}`,
      merchantOrderReference: ref,
      method: input.method.kind,
      preAuth: input.preAuth,
      status: 'CREATED',
      amount: { ...input.amount },
      pluralOrderId: undefined,
      pluralPaymentIds: [],
      challengeUrl: undefined,
      redirectUrl: undefined,
      nextActions: ['CANCEL'],
      otp: undefined,
      split: undefined,
      amountAuthorized: undefined,
      amountCaptured: undefined,
      amountRefunded: undefined,
      refunds: [],
      pluralOrderStatus: undefined,
      closing: undefined,
      savedCard: undefined,
      authorizedAt: undefined,
      authorizationExpiresAt: undefined,
      autoCancelAt: undefined,
      lastCapture: undefined,
      failure: undefined,
      parked: undefined,
      audit: [],
      reconciliations: 0,
      lastReconciledAt: undefined,
      updatedAt: now,
    };
    const e: Entry = { state, input, createdAt: now, fingerprint: requestFingerprint, webhookIds: new Set() };
    this.payments.set(ref, e);
    this.later(() => {
      state.pluralOrderId = `v1-ord-${ref}`;
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
    return Promise.resolve({ started: true });
  }

  get(ref: string): Promise<PaymentRecord | undefined> {
    this.calls.push({ method: 'get', args: [ref] });
    const e = this.payments.get(ref);
    if (!e) return Promise.resolve(undefined);
    // A deep copy, as a Temporal query result would be.
    const gateway = this.gatewayStatus.get(ref);
    return Promise.resolve({
      state: structuredClone(e.state),
      createdAt: e.createdAt,
      requestFingerprint: e.fingerprint,
      ...(gateway ? { gateway: { ...gateway } } : {}),
    });
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

  submitOtp(ref: string, signal: OtpSubmittedSignal): Promise<void> {
    this.calls.push({ method: 'submitOtp', args: [ref, signal] });
    const e = this.entry(ref);
    this.later(() => {
      const otp = e.state.otp;
      if (e.state.status !== 'AWAITING_OTP' || !otp) {
        if (otp) otp.lastSubmission = { submissionId: signal.submissionId, outcome: 'IGNORED' };
        return;
      }
      // As the submit-OTP activity: read the OTP from the vault, destroy it once the outcome is known.
      const submitted = this.vault.secrets.get(signal.otpHandle)?.otp;
      if (submitted === undefined) {
        otp.lastSubmission = {
          submissionId: signal.submissionId,
          outcome: 'FAILED',
          message: 'the submitted OTP is no longer available; submit the OTP again',
        };
        return;
      }
      void this.vault.destroy(signal.otpHandle);
      if (submitted === CORRECT_OTP) {
        otp.lastSubmission = { submissionId: signal.submissionId, outcome: 'ACCEPTED' };
        this.authorize(e, 'OTP accepted');
        return;
      }
      otp.attemptsLeft -= 1;
      if (otp.attemptsLeft <= 0) {
        otp.lastSubmission = {
          submissionId: signal.submissionId,
          outcome: 'FAILED',
          message: 'OTP attempts exhausted',
        };
        e.state.failure = { code: 'OTP_ATTEMPTS_EXHAUSTED', message: 'too many wrong OTPs' };
        this.move(e, 'FAILED', 'OTP attempts exhausted');
      } else {
        otp.lastSubmission = { submissionId: signal.submissionId, outcome: 'INCORRECT', message: 'incorrect OTP' };
        e.state.updatedAt = new Date().toISOString();
      }
    });
    return Promise.resolve();
  }

  resendOtp(ref: string, signal: OtpResendRequestedSignal): Promise<void> {
    this.calls.push({ method: 'resendOtp', args: [ref, signal] });
    const e = this.entry(ref);
    this.later(() => {
      const otp = e.state.otp;
      if (!otp) return;
      if (otp.resendsLeft <= 0) {
        otp.lastResend = { requestId: signal.requestId, outcome: 'LIMIT_REACHED' };
        return;
      }
      otp.resendsLeft -= 1;
      otp.resendAvailableAt = new Date(Date.now() + (this.options.resendAfterMs ?? 30_000)).toISOString();
      otp.lastResend = { requestId: signal.requestId, outcome: 'SENT' };
    });
    return Promise.resolve();
  }

  capture(ref: string, signal: CaptureRequestedSignal): Promise<void> {
    this.calls.push({ method: 'capture', args: [ref, signal] });
    const e = this.entry(ref);
    this.later(() => {
      const outcome = this.options.captureOutcome ?? 'CAPTURED';
      e.state.lastCapture = {
        requestId: signal.requestId,
        outcome,
        ...(outcome === 'REJECTED' ? { message: 'capture declined' } : {}),
      };
      if (outcome === 'CAPTURED') {
        e.state.amountCaptured = signal.amount ?? e.state.amountAuthorized ?? e.state.amount;
        this.move(e, 'PROCESSED', 'captured');
      }
    });
    return Promise.resolve();
  }

  cancel(ref: string, signal: CancelRequestedSignal): Promise<void> {
    this.calls.push({ method: 'cancel', args: [ref, signal] });
    const e = this.entry(ref);
    this.later(() => {
      // As the workflow does: an authorization is cancelled at Plural at once; a payment not yet authorized closes
      // until Plural's order is final (the fake never finalizes it).
      if (e.state.status === 'AUTHORIZED') this.move(e, 'CANCELLED', signal.reason ?? 'cancel requested');
      else if (!TERMINAL.includes(e.state.status)) this.move(e, 'CLOSING', signal.reason ?? 'cancel requested');
    });
    return Promise.resolve();
  }

  private byOrderId(orderId: string): Entry | undefined {
    return [...this.payments.values()].find((e) => e.state.pluralOrderId === orderId);
  }

  deliverCallback(signal: CallbackReceivedSignal): Promise<DeliveryOutcome> {
    this.calls.push({ method: 'deliverCallback', args: [signal] });
    const e = this.byOrderId(signal.orderId);
    if (!e) return Promise.resolve({ delivered: false });
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
    const e = (ref !== undefined ? this.payments.get(ref) : undefined) ?? this.byOrderId(signal.orderId);
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
