/**
 * The API's port to the payment engine. The HTTP layer talks only to this interface; `temporal-engine.ts` implements
 * it over `@temporalio/client` (update-with-start, Updates, Signals), tests implement it in memory. Nothing here
 * carries card data or an OTP: the workflow input holds vault handles and last-4 digits only, the OTP Update a vault
 * handle. The workflow owns every rule: a refused request comes back as an {@link UpdateRejectedError} carrying the
 * workflow's own reason, which the API only translates into HTTP.
 */
import type { CardSecret } from '../card-vault';
import type {
  CallbackReceivedSignal,
  CancelRequest,
  CaptureAnswer,
  CaptureRequest,
  OpenPaymentRequest,
  PaymentAnswer,
  PaymentState,
  PaymentStatus,
  PaymentSummary,
  PaymentWorkflowInput,
  RefundAnswer,
  RefundRequest,
  ResendOtpAnswer,
  SubmitOtpAnswer,
  SubmitOtpRequest,
  UpdateRejection,
  WebhookReceivedSignal,
} from '../workflows/definitions';

/**
 * The payment's current step is being retried because the gateway fails (5xx, 429, timeouts, refused connections):
 * read from the engine's pending work, not from the payment's state.
 */
export interface GatewayRetryStatus {
  status: 'unavailable';
  /** `gateway_unavailable`: Plural answered an error or could not be reached; `gateway_timeout`: the call hung. */
  reason: 'gateway_unavailable' | 'gateway_timeout';
  /** The step being retried (the activity: `createOrder`, `createPayment`, `captureOrder`…). */
  operation: string;
  /** The attempt running or scheduled next (2 = first retry). */
  attempt: number;
  /** The retry budget, when there is one. */
  maxAttempts: number | undefined;
  /** What went wrong last, as `HTTP 503 INTERNAL_ERROR` or `PluralConnectionError ECONNREFUSED`: never a message. */
  lastError: string | undefined;
  /** True while Temporal still retries (an attempt is scheduled or running). */
  retrying: boolean;
  /** When the next attempt starts, while waiting out the backoff (ISO 8601). */
  nextAttemptAt: string | undefined;
}

/** A payment as the engine reports it. */
export interface PaymentRecord {
  state: PaymentState;
  /** Fingerprint of the creating request (see `fingerprint.ts`); undefined if the payment was started elsewhere. */
  requestFingerprint: string | undefined;
  /** Set while a step of the payment is retried because the gateway fails. */
  gateway?: GatewayRetryStatus | undefined;
  /**
   * True when no worker answered in time and the state comes from the payment's memo (status, ids, amounts as of
   * its last status change): correct but possibly behind, and without the details only the workflow holds.
   */
  stale?: boolean;
}

/** What an action's Update answered, or that it has not answered within the wait (it goes on in the workflow). */
export type Answer<T> = { answered: true; answer: T } | { answered: false };

/** Outcome of {@link PaymentEngine.create}. */
export type CreateOutcome =
  /** The payment is actionable; `created` when this request started it. */
  | { answered: true; created: boolean; state: PaymentState }
  /** Started (or found) but not actionable within the wait: read it later. */
  | { answered: false }
  /** The payment exists and has ended: the API compares the request with it. */
  | { answered: false; closed: PaymentRecord };

/** Where a verified webhook or callback was delivered. */
export type DeliveryOutcome = { delivered: true; merchantOrderReference: string } | { delivered: false };

/** Which payments {@link PaymentEngine.list} returns: every filter given must match (AND). */
export interface PaymentListFilters {
  /** Any of these statuses; absent: every status. */
  statuses?: readonly PaymentStatus[];
  /** Created (the workflow started) at or after this instant. */
  createdFrom?: Date;
  /** Created before this instant (exclusive, so consecutive ranges do not overlap). */
  createdTo?: Date;
  /** The merchant order reference starts with this (case-sensitive): letters, digits, `_` and `-` only. */
  referencePrefix?: string;
}

/** A page request of {@link PaymentEngine.list}. */
export interface PaymentListRequest extends PaymentListFilters {
  /** Largest number of payments on the page. */
  limit: number;
  /** The `nextPageToken` of the previous page, with the same filters; absent: the first page. */
  pageToken?: Uint8Array;
}

/** One page of payments, newest first, and the token of the next one. */
export interface PaymentListPage {
  /** Each payment's summary as of its last status change (its memo, with its search attributes laid over it). */
  payments: PaymentSummary[];
  /** Opaque to the API; undefined on the last page. A page may hold fewer than `limit` payments and still have one. */
  nextPageToken: Uint8Array | undefined;
}

/** Options of {@link PaymentEngine.deliverCallback}. */
export interface CallbackDeliveryOptions {
  /**
   * Deliver only to a payment created at or after this time (ms since epoch): an older one's callback is stale. The
   * payment's creation, not its current run's start (a continue-as-new starts a later run).
   */
  startedAfterMs?: number;
}

/** Outcome of {@link PaymentEngine.deliverCallback}. */
export type CallbackDeliveryOutcome =
  | DeliveryOutcome
  /** Not delivered: the running payment was created before `startedAfterMs` (an ended one's answer is `ended`). */
  | { delivered: false; tooOld: true; merchantOrderReference: string }
  /** Not delivered: the order's payment has ended (its workflow closed); the customer still goes to its page. */
  | { delivered: false; ended: true; merchantOrderReference: string };

/**
 * Operations the API needs from the payment engine. Every method is safe to call concurrently. An action's `requestId`
 * names its Update (a keyed request's, from its `Idempotency-Key`'s record: the Update an earlier try of the request
 * left unanswered, or a fresh one): the same id is the same Update, answered with that Update's own outcome, never run
 * twice. Without one, each call is an Update of its own.
 */
export interface PaymentEngine {
  /**
   * Start the payment for `input.merchantOrderReference` and wait (up to `waitMs`) until it is actionable, in one
   * call (update-with-start). A repeat of the creating request (same fingerprint) attaches to the running payment.
   * @throws {UpdateRejectedError} another request already holds this reference (`RequestConflict`)
   */
  create(input: PaymentWorkflowInput, request: OpenPaymentRequest, waitMs: number): Promise<CreateOutcome>;
  /** The payment, or undefined when no payment has this reference. */
  get(merchantOrderReference: string): Promise<PaymentRecord | undefined>;
  /** @throws {PaymentNotFoundError} {@link UpdateRejectedError} {@link ActionNotAcceptedError} */
  submitOtp(
    ref: string,
    request: SubmitOtpRequest,
    waitMs: number,
    requestId?: string,
  ): Promise<Answer<SubmitOtpAnswer>>;
  /** @throws {PaymentNotFoundError} {@link UpdateRejectedError} {@link ActionNotAcceptedError} */
  resendOtp(ref: string, waitMs: number, requestId?: string): Promise<Answer<ResendOtpAnswer>>;
  /** @throws {PaymentNotFoundError} {@link UpdateRejectedError} {@link ActionNotAcceptedError} */
  capture(ref: string, request: CaptureRequest, waitMs: number, requestId?: string): Promise<Answer<CaptureAnswer>>;
  /** @throws {PaymentNotFoundError} {@link UpdateRejectedError} {@link ActionNotAcceptedError} */
  cancel(ref: string, request: CancelRequest, waitMs: number, requestId?: string): Promise<Answer<PaymentAnswer>>;
  /**
   * Refund a PROCESSED payment (the workflow's validator refuses an amount above what is left, another currency, a
   * payment not PROCESSED, a closed refund window, or a reference used for another amount). A repeat of an earlier
   * refund is answered with it (`REPEATED`), even after the payment's workflow has completed.
   * @throws {PaymentNotFoundError} {@link UpdateRejectedError} {@link ActionNotAcceptedError}
   */
  refund(ref: string, request: RefundRequest, waitMs: number, requestId?: string): Promise<Answer<RefundAnswer>>;
  /**
   * Signal the payment whose Plural order is `signal.orderId` (its current run, also right after a continue-as-new);
   * `delivered: false` when no payment has that order, with `ended` when its workflow has closed, and with `tooOld`
   * when it runs but was created before `options.startedAfterMs` (then nothing is sent to it).
   */
  deliverCallback(signal: CallbackReceivedSignal, options?: CallbackDeliveryOptions): Promise<CallbackDeliveryOutcome>;
  /**
   * Signal the payment for a verified webhook: by merchant order reference when the webhook carries one, else by
   * Plural order id; a refund's event by its parent order id. `delivered: false` when no running payment matches.
   */
  deliverWebhook(merchantOrderReference: string | undefined, signal: WebhookReceivedSignal): Promise<DeliveryOutcome>;
  /**
   * One page of the payments matching `request`, newest first, from the engine's search index. The index is
   * eventually consistent: a payment created or changed a moment ago may be missing or show its previous status.
   */
  list(request: PaymentListRequest): Promise<PaymentListPage>;
  /** Resolves when the engine (Temporal) is reachable; rejects otherwise. */
  ping(): Promise<void>;
}

/** No payment has this merchant order reference (or it has ended, for an action). */
export class PaymentNotFoundError extends Error {
  override readonly name = 'PaymentNotFoundError';
  readonly type = 'PaymentNotFound';
  constructor(readonly merchantOrderReference: string) {
    super(`no payment with merchant_order_reference ${merchantOrderReference}`);
  }
}

/**
 * The workflow's validator refused the request; nothing was written to the payment's history. `kind` is the
 * refusal's family (`UPDATE_REJECTION`), `code` the workflow's own code for it (`payment_not_authorized`…).
 */
export class UpdateRejectedError extends Error {
  override readonly name = 'UpdateRejectedError';
  constructor(
    readonly kind: UpdateRejection,
    readonly code: string,
    message: string,
    /** When a `TooEarly` request will be allowed (ISO 8601). */
    readonly availableAt?: string,
  ) {
    super(message);
  }
}

/** Card data (or an OTP) as handed to the vault before the workflow uses it: the card-vault contract, defined there. */
export type { CardSecret };

/** The part of the card vault the API uses: park card data or an OTP, get an opaque handle, drop it if unused. */
export interface CardVaultPort {
  put(secret: CardSecret, ttlMs: number): Promise<string>;
  destroy(handle: string): Promise<void>;
}

/** The engine (Temporal) could not be reached or failed; the request may be retried. */
export class EngineUnavailableError extends Error {
  override readonly name: string = 'EngineUnavailableError';
  readonly type = 'EngineUnavailable';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * A merchant action no worker took up within the wait: not applied yet, and not promised either. Temporal holds such an
 * Update only in memory until a worker runs the payment (its validator may still refuse it; a restarted server drops
 * it), so the request is answered 503 and is safe to send again: the workflow answers a repeat with what happened.
 */
export class ActionNotAcceptedError extends EngineUnavailableError {
  override readonly name = 'ActionNotAcceptedError';
  constructor(
    readonly reference: string,
    readonly action: string,
  ) {
    super(`payment ${reference} did not take the ${action} request within the wait`);
  }
}
