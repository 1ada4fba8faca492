/**
 * How the workflow calls Plural: one step at a time through the activities, with business rejections handed back to
 * the caller, gateway outages retried by Temporal and then parked for an operator, and Get Order reconciliations that
 * never fail the payment.
 */
import { ActivityFailure, ApplicationFailure, condition, log, patched, proxyActivities } from '@temporalio/workflow';
import type {
  GetOrderInput,
  OrderSnapshot,
  PaymentActivities,
  ReadRefundInput,
  ReadRefundResult,
  RefundOrderNotFound,
  RefundInput,
  RefundSnapshot,
} from '../activities';
import { isoAt, nowMs } from './clock';
import { ENGINE_FAILURE_CODE, FAILURE_TYPE, PAYMENT_STATUS } from './definitions';
import type { ParkedOperation, PaymentDurations, PaymentLimits } from './definitions';
import type { Inbox, UnconfirmedEvent } from './messages';
import { PATCH } from './patches';
import type { PatchId } from './patches';
import { stageOf } from './plural-order';
import { RECONCILE_OUTCOME, RECONCILE_TRIGGER } from './metrics';
import type { ReconcileTrigger } from './metrics';
import type { Payment } from './payment-state';

/** Reads again of an order that lags an event that said it was decided, and the time between them. */
export const EVENT_LAG_LOOKS = 3;
export const EVENT_LAG_LOOK_MS = 20_000;

/** The event says Plural decided the order (not a refund's event), and the order was just read still open. */
function lagsBehind(e: UnconfirmedEvent, read: string): boolean {
  return !e.aboutRefund && stageOf(e.claimedStatus) !== 'OPEN' && stageOf(read) === 'OPEN';
}

/** An activity failure as the workflow branches on it. */
export interface FailureInfo {
  type: string;
  code: string;
  message: string;
}

/** The activity failure's type, code and message (ApplicationFailure raised by our activities, or a timeout). */
export function failureInfo(err: unknown): FailureInfo {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const details = cause.details?.[0] as { code?: unknown } | undefined;
      const type = cause.type ?? FAILURE_TYPE.GATEWAY_UNAVAILABLE;
      return { type, code: typeof details?.code === 'string' ? details.code : type, message: cause.message };
    }
    return {
      type: FAILURE_TYPE.GATEWAY_UNAVAILABLE,
      code: ENGINE_FAILURE_CODE.GATEWAY_UNAVAILABLE,
      message: cause?.message ?? err.message,
    };
  }
  throw err;
}

/**
 * What makes a parked step moot, asked each time the gateway events that come while it waits are confirmed. `since`:
 * the patch that began confirming them at this step's parks (payments that parked before it waited without reading
 * Plural, and replay so); the first, a capture's, when absent.
 */
export type StopWhen = (() => boolean) & { readonly since?: PatchId };

/** A {@link StopWhen} for a step whose parks began confirming events with patch `since`. */
export const stopWhenSince = (since: PatchId, when: () => boolean): StopWhen => Object.assign(() => when(), { since });

/** The payment's activities and the rules for calling them. */
export class Steps {
  /** Every gateway call: retried by Temporal within the limits, then parked. */
  readonly acts: PaymentActivities;
  /** Reconciliation is best effort: a short retry budget, the next round will try again. */
  private readonly lookups: PaymentActivities;
  /** Housekeeping that never holds a payment up (an unused card hand-off destroyed): the same short budget. */
  readonly chores: PaymentActivities;

  /** When a failed confirmation Get Order may be tried again, and the delay after the next failure. */
  private confirmAt = 0;
  /** When the events Plural's order lagged behind are read again. */
  private lagLookAt = 0;
  private confirmDelayMs: number;

  constructor(
    private readonly payment: Payment,
    private readonly inbox: Inbox,
    limits: PaymentLimits,
    private readonly durations: PaymentDurations,
    private readonly customerId: string | undefined,
  ) {
    this.confirmDelayMs = durations.reconcileInitialDelayMs;
    const retry = {
      initialInterval: limits.activityRetryInitialIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: limits.activityRetryMaximumIntervalMs,
      maximumAttempts: limits.activityMaxAttempts,
    };
    this.acts = proxyActivities<PaymentActivities>({ startToCloseTimeout: '30 seconds', retry });
    this.lookups = proxyActivities<PaymentActivities>({
      startToCloseTimeout: '30 seconds',
      retry: { ...retry, maximumAttempts: Math.min(3, limits.activityMaxAttempts) },
    });
    this.chores = this.lookups;
  }

  private park(operation: ParkedOperation['operation'], f: FailureInfo): void {
    const p = this.payment;
    p.s.parked = { operation, code: f.code, message: f.message, since: isoAt(nowMs()), retries: 0 };
    p.parks += 1;
    p.note(`${operation} parked for an operator: ${f.code}`);
    p.upsertSearchAttributes();
    log.warn('payment operation parked for an operator', { operation, code: f.code });
    p.metrics.parked(operation);
  }

  /** Clears the parked step (the operator retried it, or it succeeded). */
  unpark(): void {
    const p = this.payment;
    if (!p.s.parked) return;
    p.s.parked = undefined;
    p.touch();
    p.upsertSearchAttributes();
  }

  /** Whether the last park ended because its deadline came (not an operator's retry or give-up, nor the end). */
  parkDeadlinePassed = false;

  /**
   * Parks `operation` until an operator retries it (true) or a cancel, the payment's end or `until` (epoch ms: the
   * payment's own deadline for the step, see `parkDeadlinePassed`) ends the wait (false). With `stopWhen`, the gateway
   * events that come meanwhile are confirmed (Get Order) while it waits, and the wait ends (false) once `stopWhen()`
   * says what Plural's order showed makes the step moot.
   */
  async parkUntilOperator(
    operation: ParkedOperation['operation'],
    f: FailureInfo,
    until?: number,
    stopWhen?: StopWhen,
  ): Promise<boolean> {
    const p = this.payment;
    if (p.s.parked?.operation === operation) {
      // Parked again after an operator's retry: the retry ran and failed again.
      p.s.parked = { ...p.s.parked, code: f.code, message: f.message, retries: p.s.parked.retries + 1 };
      p.parks += 1;
      p.touch();
    } else {
      this.park(operation, f);
    }
    // Payments that parked before deadlines existed waited for the operator alone, and replay so.
    const deadline = until !== undefined && patched(PATCH.NOTHING_WAITS_FOREVER) ? until : undefined;
    const retriesBefore = this.inbox.operatorRetries;
    const woken = (): boolean =>
      this.inbox.operatorRetries > retriesBefore || this.inbox.cancel !== undefined || p.ended;
    this.parkDeadlinePassed = false;
    // Payments that parked before events were confirmed while parked waited without reading Plural, and replay so.
    if (stopWhen !== undefined && patched(stopWhen.since ?? PATCH.PARKED_CAPTURE_CONFIRMS_EVENTS)) {
      for (;;) {
        const wakeAt = Math.min(deadline ?? Infinity, this.nextConfirmAt());
        const ready = (): boolean => woken() || this.confirmDue();
        if (wakeAt === Infinity) await condition(ready);
        else await condition(ready, Math.max(1, wakeAt - nowMs()));
        if (woken()) break;
        if (deadline !== undefined && nowMs() >= deadline) {
          this.parkDeadlinePassed = true;
          break;
        }
        if ((await this.confirmEvents()) && stopWhen()) {
          this.unpark();
          return false;
        }
      }
    } else if (deadline === undefined) await condition(woken);
    else if (!(await condition(woken, Math.max(1, deadline - nowMs())))) this.parkDeadlinePassed = true;
    if (this.inbox.operatorRetries > retriesBefore && !p.ended) return true;
    this.unpark();
    return false;
  }

  /**
   * Runs one step. Business rejections go to `onRejected`, which says whether to park, to stop (the step is no longer
   * parked), or to stop with the step left parked as it is (`keep`: its caller unparks it, or parks it again, once it
   * has looked at Plural's order); a missing card hand-off
   * fails the payment; a gateway outage that outlasted the retries parks the step until an operator retries it
   * (`operatorRetry`) or gives up (`operatorGiveUp`, or a cancel: then the result is undefined), or until `parkUntil()` when it
   * gives a time (then too: `parkDeadlinePassed`), or until `stopWhen` says Plural's order, read to confirm its
   * events while parked, makes the step moot (see {@link parkUntilOperator}). `call` learns whether it runs again
   * after an operator's retry (a new activity, whose attempt count starts at 1 again).
   */
  async run<T>(
    operation: ParkedOperation['operation'],
    call: (afterOperatorRetry: boolean) => Promise<T>,
    onRejected: (f: FailureInfo) => 'park' | 'stop' | 'keep',
    onParked?: (f: FailureInfo) => void,
    parkUntil?: () => number | undefined,
    stopWhen?: StopWhen,
  ): Promise<T | undefined> {
    const p = this.payment;
    // Read by the caller once this returns: about this step's own park, never an earlier step's.
    this.parkDeadlinePassed = false;
    for (let afterOperatorRetry = false; ; afterOperatorRetry = true) {
      try {
        const result = await call(afterOperatorRetry);
        this.unpark();
        return result;
      } catch (err) {
        const f = failureInfo(err);
        if (f.type === FAILURE_TYPE.CARD_DATA_UNAVAILABLE) {
          // A step an operator retried is no longer parked once it failed for good (the status change's one upsert
          // carries it).
          if (p.s.parked && patched(PATCH.NOTHING_WAITS_FOREVER)) p.s.parked = undefined;
          p.fail(ENGINE_FAILURE_CODE.CARD_DATA_UNAVAILABLE, f.message, `${operation}: card data unavailable`);
          return undefined;
        }
        // A step that ends here (rejected for good, or the payment ended) is no longer waiting for an operator.
        const verdict = f.type === FAILURE_TYPE.GATEWAY_UNAVAILABLE ? 'park' : onRejected(f);
        if (verdict === 'keep') return undefined;
        if (verdict === 'stop') {
          this.unpark();
          return undefined;
        }
        if (p.ended) {
          this.unpark();
          return undefined;
        }
        // Whoever waits for this step (a merchant's Update) hears now that it is parked, not when an operator acts:
        // once parked (the wait parks the step before its first await), so the answer shows it.
        const waited = this.parkUntilOperator(operation, f, parkUntil?.(), stopWhen);
        onParked?.(f);
        if (!(await waited)) return undefined;
      }
    }
  }

  /** Get Order and apply it; failures are noted, not fatal (the next round tries again). Returns whether it ran. */
  async reconcile(cause: string, trigger: ReconcileTrigger): Promise<boolean> {
    const p = this.payment;
    const input = this.orderRead();
    if (input === undefined) return false;
    let order: OrderSnapshot;
    try {
      order = await this.lookups.getOrder(input);
    } catch (err) {
      p.note(`${cause} failed: ${failureInfo(err).code}`);
      p.metrics.reconciliation(trigger, RECONCILE_OUTCOME.ERROR);
      return false;
    }
    this.applyRead(order, cause, trigger);
    return true;
  }

  /** What a reconciliation's Get Order asks for (undefined before the payment has an order at Plural). */
  orderRead(): GetOrderInput | undefined {
    const orderId = this.payment.s.pluralOrderId;
    if (orderId === undefined) return undefined;
    const savedCardOf = this.savedCardLookup();
    return { orderId, ...(savedCardOf !== undefined ? { savedCardOf } : {}) };
  }

  /** Applies Plural's order as read for `orderRead()` (by `reconcile`, or by the activity that read it). */
  applyRead(order: OrderSnapshot, cause: string, trigger: ReconcileTrigger): void {
    const p = this.payment;
    const before = p.status;
    p.s.reconciliations += 1;
    p.s.lastReconciledAt = isoAt(nowMs());
    p.applyOrder(order, cause);
    // Amounts Plural's order moved with no change of status (a refund made on its dashboard that the order now counts)
    // reach the memo too, so that a search lists what Plural holds. A command, so behind its patch, asked only then.
    if (p.memoBehind && patched(PATCH.MEMO_FOLLOWS_PLURALS_AMOUNTS)) p.upsertMemo();
    p.metrics.reconciliation(trigger, p.status === before ? RECONCILE_OUTCOME.UNCHANGED : RECONCILE_OUTCOME.CHANGED);
  }

  /**
   * For a payment that saves its card (`save: true` with a customer), Get Order also asks for the token Plural saved,
   * until it is ACTIVE; otherwise undefined.
   */
  savedCardLookup(): { customerId: string; last4: string } | undefined {
    const p = this.payment;
    const method = p.method;
    const customerId = this.customerId;
    if (method.kind !== 'card' || method.save !== true || customerId === undefined) return undefined;
    if (p.s.savedCard?.status === 'ACTIVE') return undefined;
    return { customerId, last4: method.last4 };
  }

  /** Get Order of any order (a refund's, say), best effort: undefined when Plural cannot be reached. */
  async lookup(orderId: string): Promise<OrderSnapshot | undefined> {
    try {
      return await this.lookups.getOrder({ orderId });
    } catch (err) {
      this.payment.note(`Get Order of ${orderId} failed: ${failureInfo(err).code}`);
      return undefined;
    }
  }

  /**
   * A refund by the merchant reference its step derives (see `findRefund`), best effort: the refund, null when Plural
   * has none, or the failure when Plural cannot be asked.
   */
  async findRefund(input: RefundInput): Promise<RefundSnapshot | null | FailureInfo> {
    try {
      return await this.lookups.findRefund(input);
    } catch (err) {
      const f = failureInfo(err);
      this.payment.note(`refund lookup by reference failed: ${f.code}`);
      return f;
    }
  }

  /**
   * A refund order a gateway event named, read at Plural (see `readRefund`), best effort: the refund, null when it is
   * no refund of the payment's order, `notFound` when Plural has no such order yet, undefined when Plural could not be
   * asked.
   */
  async readRefund(input: ReadRefundInput): Promise<ReadRefundResult | RefundOrderNotFound | null | undefined> {
    try {
      return await this.lookups.readRefund(input);
    } catch (err) {
      this.payment.note(`Get Order of refund order ${input.refundOrderId} failed: ${failureInfo(err).code}`);
      return undefined;
    }
  }

  /** Gateway events wait for confirmation, and their Get Order is due. */
  confirmDue(): boolean {
    if (this.payment.s.pluralOrderId === undefined) return false;
    const now = nowMs();
    return (
      (this.inbox.unconfirmed.length > 0 && now >= this.confirmAt) ||
      (this.inbox.lagging.length > 0 && now >= this.lagLookAt)
    );
  }

  /** When the next confirmation Get Order is due (Infinity when no event waits). */
  private nextConfirmAt(): number {
    return Math.min(
      this.inbox.unconfirmed.length > 0 ? this.confirmAt : Infinity,
      this.inbox.lagging.length > 0 ? this.lagLookAt : Infinity,
    );
  }

  /** Events whose claim Plural's order does not reflect yet are read again (`Inbox.lagging`). */
  get lagLooking(): boolean {
    return this.inbox.lagging.length > 0;
  }

  /**
   * Confirms the gateway events that arrived with one Get Order, and moves the payment on what Plural's order says.
   * When Plural cannot be reached the events stay queued and the next try backs off. Returns whether it ran.
   */
  async confirmEvents(): Promise<boolean> {
    if (!this.confirmDue()) return false;
    const now = nowMs();
    const lagging = now >= this.lagLookAt ? this.inbox.lagging.splice(0) : [];
    const fresh = now >= this.confirmAt ? this.inbox.unconfirmed.splice(0) : [];
    // What Plural's order has been read as since an event came may already say what it claims (a webhook arriving
    // while the Get Order after an OTP, or the capture, was on its way): nothing is left to confirm for it.
    const events = [...lagging, ...fresh].filter((e) => {
      if (e.aboutRefund) return true;
      const processed = this.payment.status === PAYMENT_STATUS.PROCESSED;
      if (!processed && e.claimedStatus !== this.payment.s.pluralOrderStatus) return true;
      this.payment.note(
        processed
          ? `${e.label}: the payment is PROCESSED, nothing to confirm`
          : `${e.label}: Plural's order was read as ${e.claimedStatus} since, nothing to confirm`,
      );
      return false;
    });
    if (events.length === 0) return false;
    const labels = events.map((e) => e.label);
    const before = this.payment.status;
    if (await this.reconcile(`Get Order to confirm ${labels.join(', ')}`, RECONCILE_TRIGGER.EVENT)) {
      this.confirmDelayMs = this.durations.reconcileInitialDelayMs;
      if (this.payment.status === before) {
        const read = this.payment.s.pluralOrderStatus ?? 'unknown';
        // Plural's order can lag the events it sends (an integration of its API polls the order after the customer's
        // return): an event that says the order was decided while it still reads open is read again a few times. The
        // build before confirmed once, and its histories replay so.
        const behind = events.filter((e) => lagsBehind(e, read) && (e.looks ?? 0) < EVENT_LAG_LOOKS);
        if (behind.length > 0 && patched(PATCH.EVENTS_AHEAD_OF_THE_ORDER_READ_AGAIN)) {
          const look = Math.max(...behind.map((e) => e.looks ?? 0)) + 1;
          this.inbox.lagging.push(...behind.map((e) => ({ ...e, looks: (e.looks ?? 0) + 1 })));
          this.lagLookAt = nowMs() + EVENT_LAG_LOOK_MS;
          this.payment.note(
            `${labels.join(', ')}: Plural's order is ${read}; read again in ${EVENT_LAG_LOOK_MS / 1000} s ` +
              `(look ${look} of ${EVENT_LAG_LOOKS})`,
          );
        } else {
          this.payment.note(`${labels.join(', ')}: Plural's order is ${read}, payment stays ${before}`);
        }
      }
    } else {
      this.inbox.unconfirmed.unshift(...fresh.filter((e) => events.includes(e)));
      this.inbox.lagging.unshift(...lagging.filter((e) => events.includes(e)));
      this.confirmAt = nowMs() + this.confirmDelayMs;
      this.lagLookAt = Math.max(this.lagLookAt, this.confirmAt);
      this.confirmDelayMs = Math.min(this.confirmDelayMs * 2, this.durations.reconcileMaxDelayMs);
    }
    return true;
  }

  /** Waits until `ready()` holds, a gateway event's confirmation is due, or the time `until` (epoch ms) comes. */
  async waitFor(until: number | undefined, ready: () => boolean): Promise<void> {
    const wakeAt = Math.min(until ?? Infinity, this.nextConfirmAt());
    const predicate = (): boolean => ready() || this.confirmDue();
    if (wakeAt === Infinity) await condition(predicate);
    else await condition(predicate, Math.max(1, wakeAt - nowMs()));
  }
}
