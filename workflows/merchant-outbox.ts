/**
 * The payment's merchant webhooks: every status change and every refund's status becomes a {@link MerchantEvent},
 * queued per endpoint in the workflow's state (the outbox) and delivered by one loop per endpoint that awaits one
 * `deliverMerchantEvent` activity at a time, so an endpoint hears of a payment's events in the order they happened.
 * The activity's retry policy carries each event through an endpoint's outage (backoff doubling from
 * `webhookRetryInitialIntervalMs` up to `webhookRetryMaximumIntervalMs`, for `webhookDeliveryWindowMs`); an event
 * still undelivered then is noted in the audit trail and counted, and the next one goes. The queues ride along when
 * the refund window continues as new, and the workflow does not complete while one holds an event.
 *
 * A payment whose merchant has no endpoint has no outbox: nothing is queued and no activity runs.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities';
import { isoAt, nowMs } from './clock';
import { paymentEventType, refundEventType } from './definitions';
import type {
  MerchantEndpointQueue,
  MerchantEvent,
  MerchantEventType,
  MerchantOutboxState,
  PaymentLimits,
  PaymentStatus,
  RefundRecord,
} from './definitions';
import { MERCHANT_WEBHOOK_OUTCOME } from './metrics';
import type { Payment } from './payment-state';

export class MerchantOutbox {
  private nextSequence: number;
  private readonly queues: MerchantEndpointQueue[];
  private readonly acts: PaymentActivities;
  /** Deliveries running now (at most one per endpoint). */
  private running = 0;
  /**
   * While it holds, no delivery starts: the refund window waits for the one in flight before it continues as new, so
   * the next run does not send that event a second time.
   */
  private paused: () => boolean = () => false;
  private readonly windowMs: number;

  constructor(
    private readonly payment: Payment,
    private readonly merchantId: string,
    private readonly workflowId: string,
    endpointIds: readonly string[],
    limits: PaymentLimits,
    carried: MerchantOutboxState | undefined,
  ) {
    this.nextSequence = carried?.nextSequence ?? 1;
    this.windowMs = limits.webhookDeliveryWindowMs;
    this.queues = endpointIds.map((endpointId) => ({
      endpointId,
      events: carried?.queues.find((q) => q.endpointId === endpointId)?.events.map((e) => ({ ...e })) ?? [],
    }));
    this.acts = proxyActivities<PaymentActivities>({
      // One HTTP attempt is bounded by the sender's own timeout; this only catches a worker that vanished.
      startToCloseTimeout: '1 minute',
      scheduleToCloseTimeout: limits.webhookDeliveryWindowMs,
      retry: {
        initialInterval: limits.webhookRetryInitialIntervalMs,
        backoffCoefficient: 2,
        maximumInterval: limits.webhookRetryMaximumIntervalMs,
      },
    });
  }

  /** Starts one delivery loop per endpoint (call once, inside the workflow's non-cancellable scope). */
  start(): void {
    for (const queue of this.queues) void this.deliverAll(queue);
  }

  /** The payment moved to `status`. */
  statusChanged(status: Exclude<PaymentStatus, 'CREATED'>): void {
    this.enqueue(paymentEventType(status));
  }

  /** A refund reached `record.status` (Plural took it PENDING, or it settled, or Plural refused it). */
  refundChanged(record: RefundRecord): void {
    this.enqueue(refundEventType(record.status), record);
  }

  /** No delivery starts while `when()` holds (checked whenever the workflow wakes). */
  pauseWhen(when: () => boolean): void {
    this.paused = when;
  }

  /** A delivery is running. */
  get inFlight(): boolean {
    return this.running > 0;
  }

  /** Every event was delivered (or given up on). */
  get drained(): boolean {
    return this.queues.every((q) => q.events.length === 0);
  }

  /** What the next run carries (taken with nothing in flight). */
  state(): MerchantOutboxState {
    return {
      nextSequence: this.nextSequence,
      queues: this.queues.map((q) => ({ endpointId: q.endpointId, events: q.events.map((e) => ({ ...e })) })),
    };
  }

  private enqueue(type: MerchantEventType, refund?: RefundRecord): void {
    const s = this.payment.s;
    const event: MerchantEvent = {
      sequence: this.nextSequence++,
      type,
      at: isoAt(nowMs()),
      payment: {
        merchantOrderReference: s.merchantOrderReference,
        method: s.method,
        preAuth: s.preAuth,
        status: s.status,
        pluralOrderId: s.pluralOrderId,
        amount: { ...s.amount },
        amountCaptured: s.amountCaptured ? { ...s.amountCaptured } : undefined,
        amountRefunded: s.amountRefunded ? { ...s.amountRefunded } : undefined,
        failure: s.failure ? { ...s.failure } : undefined,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
      },
      ...(refund
        ? {
            refund: {
              ...refund,
              amount: { ...refund.amount },
              ...(refund.failure ? { failure: { ...refund.failure } } : {}),
            },
          }
        : {}),
    };
    for (const queue of this.queues) queue.events.push(event);
  }

  private async deliverAll(queue: MerchantEndpointQueue): Promise<void> {
    for (;;) {
      await condition(() => queue.events.length > 0 && !this.paused());
      const event = queue.events[0]!;
      this.running += 1;
      try {
        await this.acts.deliverMerchantEvent({
          merchantId: this.merchantId,
          endpointId: queue.endpointId,
          workflowId: this.workflowId,
          event,
          idVersion: 2,
        });
        this.payment.metrics.merchantWebhook(MERCHANT_WEBHOOK_OUTCOME.DELIVERED);
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // Retried for the whole delivery window (or, in runs from before an unknown endpoint was retried, the
        // endpoint was gone from the configuration): the merchant can still read the payment; later events go on.
        const cause = err.cause;
        const last = cause instanceof TimeoutFailure ? (cause.cause ?? cause) : (cause ?? err);
        const why =
          cause instanceof ApplicationFailure && cause.nonRetryable
            ? `${cause.type ?? 'failed'}: ${cause.message}`
            : `not delivered within ${this.windowMs} ms (last attempt: ${last.message})`;
        this.payment.note(
          `merchant event ${event.sequence} (${event.type}) undelivered to endpoint ${queue.endpointId}: ${why}`,
        );
        log.warn('merchant webhook undelivered', { endpointId: queue.endpointId, type: event.type, why });
        this.payment.metrics.merchantWebhook(MERCHANT_WEBHOOK_OUTCOME.UNDELIVERED);
      } finally {
        this.running -= 1;
      }
      queue.events.shift();
    }
  }
}
