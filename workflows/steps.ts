/**
 * How the workflow calls Plural: one step at a time through the activities, with business rejections handed back to
 * the caller, gateway outages retried by Temporal and then parked for an operator, and Get Order reconciliations that
 * never fail the payment.
 */
import { ActivityFailure, ApplicationFailure, condition, log, proxyActivities } from '@temporalio/workflow';
import type { OrderSnapshot, PaymentActivities } from '../activities';
import { isoAt, nowMs } from './clock';
import { ENGINE_FAILURE_CODE, FAILURE_TYPE } from './definitions';
import type { ParkedOperation, PaymentLimits } from './definitions';
import type { Inbox } from './messages';
import { RECONCILE_OUTCOME } from './metrics';
import type { ReconcileTrigger } from './metrics';
import type { Payment } from './payment-state';

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

/** The payment's activities and the rules for calling them. */
export class Steps {
  /** Every gateway call: retried by Temporal within the limits, then parked. */
  readonly acts: PaymentActivities;
  /** Reconciliation is best effort: a short retry budget, the next round will try again. */
  private readonly lookups: PaymentActivities;

  constructor(
    private readonly payment: Payment,
    private readonly inbox: Inbox,
    limits: PaymentLimits,
  ) {
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
  }

  private park(operation: ParkedOperation['operation'], f: FailureInfo): void {
    const p = this.payment;
    p.s.parked = { operation, code: f.code, message: f.message, since: isoAt(nowMs()), retries: 0 };
    p.note(`${operation} parked for an operator: ${f.code}`);
    p.upsertSearchAttributes();
    log.warn('payment operation parked for an operator', { operation, code: f.code });
    p.metrics.parked(operation);
  }

  private unpark(): void {
    const p = this.payment;
    if (!p.s.parked) return;
    p.s.parked = undefined;
    p.touch();
    p.upsertSearchAttributes();
  }

  /** Parks `operation` until an operator retries it (true) or a cancel / terminal status ends the wait (false). */
  async parkUntilOperator(operation: ParkedOperation['operation'], f: FailureInfo): Promise<boolean> {
    const p = this.payment;
    if (p.s.parked?.operation === operation) {
      p.s.parked = { ...p.s.parked, code: f.code, message: f.message };
    } else {
      this.park(operation, f);
    }
    const retriesBefore = this.inbox.operatorRetries;
    await condition(() => this.inbox.operatorRetries > retriesBefore || this.inbox.cancel !== undefined || p.terminal);
    if (this.inbox.operatorRetries > retriesBefore && !p.terminal) {
      if (p.s.parked) p.s.parked.retries += 1;
      return true;
    }
    this.unpark();
    return false;
  }

  /**
   * Runs one step. Business rejections go to `onRejected` (which returns whether to park); a missing card hand-off
   * fails the payment; a gateway outage that outlasted the retries parks the step until an operator retries it
   * (`operatorRetry`) or gives up (`cancelRequested`, then the result is undefined).
   */
  async run<T>(
    operation: ParkedOperation['operation'],
    call: () => Promise<T>,
    onRejected: (f: FailureInfo) => 'park' | 'stop',
  ): Promise<T | undefined> {
    const p = this.payment;
    for (;;) {
      try {
        const result = await call();
        this.unpark();
        return result;
      } catch (err) {
        const f = failureInfo(err);
        if (f.type === FAILURE_TYPE.CARD_DATA_UNAVAILABLE) {
          p.fail(ENGINE_FAILURE_CODE.CARD_DATA_UNAVAILABLE, f.message, `${operation}: card data unavailable`);
          return undefined;
        }
        if (f.type !== FAILURE_TYPE.GATEWAY_UNAVAILABLE && onRejected(f) === 'stop') return undefined;
        if (p.terminal) return undefined;
        if (!(await this.parkUntilOperator(operation, f))) return undefined;
      }
    }
  }

  /** Get Order and apply it; failures are noted, not fatal (the next round tries again). */
  async reconcile(cause: string, trigger: ReconcileTrigger, afterCapture = false): Promise<void> {
    const p = this.payment;
    if (p.s.pluralOrderId === undefined) return;
    let order: OrderSnapshot;
    try {
      order = await this.lookups.getOrder({ orderId: p.s.pluralOrderId });
    } catch (err) {
      p.note(`${cause} failed: ${failureInfo(err).code}`);
      p.metrics.reconciliation(trigger, RECONCILE_OUTCOME.ERROR);
      return;
    }
    const before = p.status;
    p.s.reconciliations += 1;
    p.s.lastReconciledAt = isoAt(nowMs());
    p.applyOrder(order, cause, afterCapture);
    p.metrics.reconciliation(trigger, p.status === before ? RECONCILE_OUTCOME.UNCHANGED : RECONCILE_OUTCOME.CHANGED);
  }
}
