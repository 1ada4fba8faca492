/**
 * What every group of activities is built on: the dependencies, the running attempt, the logger, and the
 * translations more than one group needs (merchant references, Plural's order as the workflow sees it).
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ORDER_STATUS, PAYMENT_STATUS, redactSensitive } from '../plural-client';
import type { MerchantWebhookDirectory, WebhookSender } from '../merchant-webhooks';
import type { Order, PluralClient } from '../plural-client';
import { DEFAULT_MERCHANT_ID, FAILURE_TYPE, parsePaymentWorkflowId } from '../workflows/definitions';
import { classify } from './failures';
import type {
  ActivityLogger,
  CardLookupInput,
  CardLookupResult,
  CardVault,
  GenerateOtpInput,
  GetOrderInput,
  OrderSnapshot,
  OtpGenerateResult,
} from './types';

/** Each merchant's Plural client (its own credentials and token cache); undefined for a merchant not configured here. */
export type MerchantPluralClients = (merchantId: string) => PluralClient | undefined;

/** What the merchant webhook activity needs; without it, every delivery fails as an unknown endpoint. */
export interface MerchantWebhookDeps {
  directory: MerchantWebhookDirectory;
  sender: WebhookSender;
}

/** Dependencies of `createActivities`. */
export interface ActivityDeps {
  /**
   * The Plural client of every payment (a single merchant), or each merchant's: an activity then calls Plural with
   * the client of its payment's merchant, named by the payment's workflow id. The workflow knows only that id.
   */
  plural: PluralClient | MerchantPluralClients;
  vault: CardVault;
  logger?: ActivityLogger;
  /** Merchant webhook endpoints and the sender; unset, a payment that names an endpoint notes it undelivered. */
  merchantWebhooks?: MerchantWebhookDeps;
  /** The longest a follow-up call may take (tests shorten it). @default FOLLOW_UP_TIMEOUT_MS */
  followUpTimeoutMs?: number;
  /** The waits before each new read of a refund order Plural cannot find (tests shorten them). @default REFUND_NOT_FOUND_REREADS_MS */
  refundNotFoundRereadsMs?: readonly number[];
}

/** The merchant of the running activity's payment: from its workflow id (`payment:<merchant>:<ref>`). */
export function activityMerchantId(): string {
  const workflowId = Context.current().info.workflowExecution?.workflowId;
  // A workflow id the API never makes (a test's, an operator's own start) is the default merchant's.
  return (workflowId !== undefined ? parsePaymentWorkflowId(workflowId)?.merchantId : undefined) ?? DEFAULT_MERCHANT_ID;
}

/**
 * A Plural client that sends each call through the client of the running activity's merchant. A merchant this
 * worker has no credentials for (a worker deployed with an older MERCHANTS_FILE) fails the attempt as retryable, so
 * the payment waits (and parks, as for a gateway outage) rather than calling Plural with another merchant's account.
 */
function merchantRoutedClient(clients: MerchantPluralClients): PluralClient {
  const current = (): PluralClient => {
    const merchantId = activityMerchantId();
    const client = clients(merchantId);
    if (!client) {
      throw ApplicationFailure.retryable(
        `this worker has no Plural credentials for merchant ${merchantId}; add it to MERCHANTS_FILE and restart`,
        FAILURE_TYPE.GATEWAY_UNAVAILABLE,
      );
    }
    return client;
  };
  return new Proxy({} as PluralClient, {
    get(_target, property) {
      const client = current();
      const value: unknown = Reflect.get(client, property, client);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(client) : value;
    },
  });
}

const MAX_REFERENCE_LENGTH = 50;

/**
 * A merchant reference of at most 50 characters derived from an idempotency key (stable across retries).
 *
 * Every mutating call carries the idempotency key `<workflowId>:<step>`; the merchant references Plural limits to 50
 * characters derive from the same key (hashed when longer), so a retry sends the same reference.
 */
export function referenceFor(key: string): string {
  if (key.length <= MAX_REFERENCE_LENGTH) return key;
  return `h-${createHash('sha256').update(key).digest('base64url').slice(0, 40)}`;
}

/**
 * Plural's answer to an order, reduced to what the workflow needs (no card data). `partialCapture`: the amount the
 * engine's capture of this order asked for, when it asked for part: Plural's one partial capture takes exactly that, so
 * a PARTIALLY_CAPTURED order that lists no capture took it (not the whole amount its processed payment would say).
 */
export function snapshotOf(order: Order, partialCapture?: number): OrderSnapshot {
  // A pre-auth's captures are listed on the payments they took from; a processed sale took its payments' whole amounts
  // without a capture of its own. Once any payment lists a capture, the order was captured, and a processed payment
  // listing none took nothing (a partial capture of card + points is taken from the card alone).
  const capturesListed = order.payments.some((p) => (p.capture_data?.length ?? 0) > 0);
  const payments = order.payments.map((p) => ({
    id: p.id,
    method: p.payment_method,
    status: p.status,
    amount: { value: p.payment_amount.value, currency: p.payment_amount.currency },
    capturedValue:
      p.capture_data && p.capture_data.length > 0
        ? p.capture_data.reduce((sum, c) => sum + c.capture_amount.value, 0)
        : p.status === PAYMENT_STATUS.PROCESSED && !capturesListed
          ? p.payment_amount.value
          : 0,
    // Plural's texts go to history, the payment's failure and the merchant's events: masked, should they echo a card
    // number, CVV or OTP.
    errorCode: p.error_detail?.code != null ? redactSensitive(p.error_detail.code) : undefined,
    errorMessage: p.error_detail?.message != null ? redactSensitive(p.error_detail.message) : undefined,
  }));
  const status = statusOf(order);
  // Only an order Plural calls PARTIALLY_CAPTURED: one it calls PROCESSED says it took the whole amount.
  if (partialCapture !== undefined && !capturesListed && status === ORDER_STATUS.PARTIALLY_CAPTURED) {
    const card =
      payments.find((p) => p.method === 'CARD' && p.capturedValue > 0) ??
      payments.find((p) => p.method === 'CARD') ??
      payments[0];
    for (const p of payments) p.capturedValue = p === card ? partialCapture : 0;
  }
  const listed = payments.reduce((sum, p) => sum + p.capturedValue, 0);
  return {
    orderId: order.order_id,
    status,
    amount: { value: order.order_amount.value, currency: order.order_amount.currency },
    payments,
    // An order Plural calls PROCESSED took its whole amount (a partial capture is PARTIALLY_CAPTURED), also when its
    // payments lag behind it or are not listed: never read as nothing taken (a closing payment would end CANCELLED).
    capturedValue: listed === 0 && status === ORDER_STATUS.PROCESSED ? order.order_amount.value : listed,
    capturesListed,
  };
}

/**
 * The order's status as the payment moves on it. A payment's own status is the authoritative outcome of its attempt,
 * and the order's can lag it (an integration of Plural's API reads `payments[0].status`, not the order's): an order
 * still CREATED or PENDING whose payments read PROCESSED or AUTHORIZED is read as they say. Only those, the money
 * taken or held; a failed payment on an open order is read as the order says (it may take another attempt).
 */
function statusOf(order: Order): string {
  if (order.status !== ORDER_STATUS.CREATED && order.status !== ORDER_STATUS.PENDING) return order.status;
  // The live attempt: its payments not failed or cancelled (a split card + points payment is two). All of them must
  // say so: a points part PROCESSED beside a card part still PENDING (its OTP or challenge) is not the order's.
  const live = order.payments.filter(
    (p) => p.status !== PAYMENT_STATUS.FAILED && p.status !== PAYMENT_STATUS.CANCELLED,
  );
  if (live.length === 0) return order.status;
  if (live.every((p) => p.status === PAYMENT_STATUS.PROCESSED)) return ORDER_STATUS.PROCESSED;
  const held = (p: { status: string }): boolean =>
    p.status === PAYMENT_STATUS.AUTHORIZED || p.status === PAYMENT_STATUS.PROCESSED;
  if (live.every(held)) return ORDER_STATUS.AUTHORIZED;
  return order.status;
}

/**
 * Plural operations one group makes for another, as follow-up calls (README.md, "Follow-up calls"), each given the
 * call's signal: Get Order as the workflow reads it (`orders.ts`), the card lookup (`payments.ts`), Generate OTP
 * (`otp.ts`). Built once by `createActivities` and handed to the groups that follow up with them.
 */
export type OrderReader = (input: GetOrderInput, signal: AbortSignal) => Promise<OrderSnapshot>;
export type CardLookup = (input: CardLookupInput, signal: AbortSignal) => Promise<CardLookupResult>;
export type OtpGenerator = (input: GenerateOtpInput, signal: AbortSignal) => Promise<OtpGenerateResult>;

/** What each group's factory (`create…Activities(ctx)`) is given: the deps, and helpers over them. */
export interface ActivityContext {
  plural: PluralClient;
  vault: CardVault;
  /** The running attempt: its cancellation signal (pass it to every Plural call) and its number (1 on the first). */
  call: () => { signal: AbortSignal; attempt: number };
  /** Logs with the activity's identity (workflow id, run id, activity type, attempt) so lines join the payment. */
  log: (level: 'info' | 'warn', fields: object, msg: string) => void;
  /** Get Order, Plural's answer as it is; failures classified with `GATEWAY_REJECTED` as the business type. */
  getOrder: (orderId: string, signal: AbortSignal) => Promise<Order>;
  /** Get Order as a snapshot (see `getOrder`). */
  getOrderSnapshot: (orderId: string, signal: AbortSignal) => Promise<OrderSnapshot>;
  /**
   * A follow-up call after the activity's own (README.md, "Follow-up calls"): `call` gets a signal that aborts at the
   * follow-up's deadline (or with the attempt's), and the answer is undefined — logged as `what`, never thrown — when
   * the call fails or misses that deadline, or when too little of the attempt's start-to-close time is left to make it.
   * The workflow then makes the call as a step of its own, and the activity's own call is not repeated.
   */
  followUp: <T>(what: string, call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal) => Promise<T | undefined>;
  /** The waits before each new read of a refund order Plural cannot find (`readRefund`). */
  refundNotFoundRereadsMs: readonly number[];
}

/**
 * A refund order a REFUND_* webhook named that Plural cannot find is read again after each of these waits before it
 * is taken as none of the payment's: Plural's own event named it, so it may be one Plural has not made readable yet.
 */
export const REFUND_NOT_FOUND_REREADS_MS: readonly number[] = [1_000, 3_000];

/** The longest a follow-up call may take. */
export const FOLLOW_UP_TIMEOUT_MS = 5_000;
/**
 * What a follow-up leaves of the attempt's start-to-close timeout, at least: the activity's answer must reach Temporal
 * before it, or the attempt times out and its retry repeats the activity's own call.
 */
export const FOLLOW_UP_RESERVE_MS = 5_000;
/** A follow-up with less time than this is not started. */
const FOLLOW_UP_MIN_MS = 500;

/**
 * How long a follow-up may take now: {@link FOLLOW_UP_TIMEOUT_MS} (or `limitMs`), within the attempt's start-to-close
 * timeout less {@link FOLLOW_UP_RESERVE_MS}, counted from the attempt's scheduling (an upper bound of its running
 * time); 0 when less than {@link FOLLOW_UP_MIN_MS} of that is left.
 */
export function followUpBudgetMs(
  info: { startToCloseTimeoutMs: number; currentAttemptScheduledTimestampMs: number },
  nowMs: number,
  limitMs: number = FOLLOW_UP_TIMEOUT_MS,
): number {
  const left = info.startToCloseTimeoutMs - (nowMs - info.currentAttemptScheduledTimestampMs) - FOLLOW_UP_RESERVE_MS;
  return left >= FOLLOW_UP_MIN_MS ? Math.min(limitMs, left) : 0;
}

/** Builds the {@link ActivityContext} every group of activities shares. */
export function createActivityContext(deps: ActivityDeps): ActivityContext {
  const { vault, logger } = deps;
  const plural = typeof deps.plural === 'function' ? merchantRoutedClient(deps.plural) : deps.plural;
  const getOrder: ActivityContext['getOrder'] = async (orderId, signal) => {
    try {
      return await plural.getOrder(orderId, { signal });
    } catch (err) {
      throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
    }
  };
  const log: ActivityContext['log'] = (level, fields, msg) => {
    if (!logger) return;
    const { workflowExecution, activityType, attempt } = Context.current().info;
    logger[level](
      {
        workflowId: workflowExecution?.workflowId,
        runId: workflowExecution?.runId,
        activityType,
        attempt,
        ...fields,
      },
      msg,
    );
  };
  return {
    plural,
    vault,
    call: () => {
      const ctx = Context.current();
      return { signal: ctx.cancellationSignal, attempt: ctx.info.attempt };
    },
    log,
    followUp: async (what, call, signal) => {
      const budget = followUpBudgetMs(Context.current().info, Date.now(), deps.followUpTimeoutMs);
      if (budget === 0) {
        log('warn', {}, `${what} not made: too little of the attempt's time left; the workflow makes the call itself`);
        return undefined;
      }
      // An AbortController and a timer of our own, not AbortSignal.timeout/any: on Node 20 a timeout signal held only
      // by AbortSignal.any can be garbage-collected before it fires (nodejs/node#57736). The race also bounds work
      // that takes no signal (the vault read inside the card lookup).
      const controller = new AbortController();
      const relay = (): void => controller.abort(signal.reason);
      if (signal.aborted) relay();
      else signal.addEventListener('abort', relay, { once: true });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new Error(`follow-up timed out after ${budget} ms`);
          err.name = 'FollowUpTimeout';
          controller.abort(err);
          reject(err);
        }, budget);
      });
      try {
        return await Promise.race([call(controller.signal), deadline]);
      } catch (err) {
        log(
          'warn',
          { err: err instanceof Error ? err.name : typeof err },
          `${what} failed; the workflow makes the call itself`,
        );
        return undefined;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', relay);
      }
    },
    getOrder,
    getOrderSnapshot: async (orderId, signal) => snapshotOf(await getOrder(orderId, signal)),
    refundNotFoundRereadsMs: deps.refundNotFoundRereadsMs ?? REFUND_NOT_FOUND_REREADS_MS,
  };
}
