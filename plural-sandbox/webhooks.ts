import { request, type Agent } from 'undici';
import type { FaultConfig } from './options';
import type { Dice } from './random';
import { signWebhook } from './signatures';

/** Plural's retry schedule after the first attempt, seconds: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const RETRY_SCHEDULE_SECONDS: readonly number[] = [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000];

const LOG_LIMIT = 10_000;

/** One line of the delivery log (no payload, no secrets). */
export interface WebhookDelivery {
  readonly webhookId: string;
  readonly eventType: string;
  readonly orderId: string;
  /** 1 for the first attempt of this copy. */
  readonly attempt: number;
  /** 1, or 2 for the duplicate of a duplicated event. */
  readonly copy: number;
  readonly outcome: 'delivered' | 'failed' | 'dropped' | 'no_url';
  readonly status?: number;
  readonly error?: string;
  /** When the answer (or the failure) came. */
  readonly at: number;
  /** The order in which the sandbox sent its requests (1 for the first): answers may come back in another order. */
  readonly sent?: number;
}

interface PendingEvent {
  readonly webhookId: string;
  readonly eventType: string;
  readonly orderId: string;
  readonly body: string;
  readonly copy: number;
}

export interface WebhookSenderDeps {
  readonly agent: Agent;
  readonly url: () => string | undefined;
  readonly secret: string;
  readonly retryScale: number;
  readonly timeoutMs: number;
  readonly faults: () => FaultConfig;
  readonly dice: Dice;
  readonly now: () => number;
  /** Told of every webhook fault injected (for the fault counts). */
  readonly onFault?: (kind: 'webhookDropped' | 'webhookDuplicated' | 'webhookReordered' | 'webhookDelayed') => void;
}

/** Sends signed webhooks with Plural's retries and the configured webhook faults. */
export class WebhookSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly held = new Map<string, { event: PendingEvent; timer: NodeJS.Timeout }>();
  private readonly deliveries: WebhookDelivery[] = [];
  private stopped = false;
  /** Requests sent so far (numbers each delivery record in sending order). */
  private sentCount = 0;

  constructor(private readonly deps: WebhookSenderDeps) {}

  /** Queues one event; `seq` is the event's number within its order, which fixes its webhook-id. */
  enqueue(eventType: string, orderId: string, seq: number, data: unknown): void {
    if (this.stopped) return;
    const webhookId = `msg_${this.deps.dice.alnum('webhook-id', `${orderId}|${seq}|${eventType}`, 24)}`;
    const event: PendingEvent = {
      webhookId,
      eventType,
      orderId,
      body: JSON.stringify({ event_type: eventType, data }),
      copy: 1,
    };
    const f = this.deps.faults();
    const dice = this.deps.dice;
    const previouslyHeld = this.held.get(orderId);
    if (dice.chance('webhook-drop', f.webhookDropRate, webhookId)) {
      this.record(event, 0, 'dropped');
      this.deps.onFault?.('webhookDropped');
    } else if (!previouslyHeld && dice.chance('webhook-reorder', f.webhookReorderRate, webhookId)) {
      this.deps.onFault?.('webhookReordered');
      const timer = this.later(f.webhookReorderHoldMs, () => this.release(orderId));
      this.held.set(orderId, { event, timer });
    } else {
      this.dispatch(event);
    }
    if (previouslyHeld) this.release(orderId);
  }

  /** The delivery log, oldest first (bounded to the last 10,000 entries). */
  log(): readonly WebhookDelivery[] {
    return this.deliveries;
  }

  /** Stops every timer and aborts in-flight deliveries. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held.clear();
    await this.deps.agent.destroy();
  }

  private release(orderId: string): void {
    const held = this.held.get(orderId);
    if (!held) return;
    this.held.delete(orderId);
    clearTimeout(held.timer);
    this.timers.delete(held.timer);
    this.dispatch(held.event);
  }

  private dispatch(event: PendingEvent): void {
    const f = this.deps.faults();
    const delayed = this.deps.dice.chance('webhook-delay', f.webhookDelayRate, event.webhookId);
    const delay = delayed ? f.webhookDelayMs : 0;
    if (delayed) this.deps.onFault?.('webhookDelayed');
    this.later(delay, () => void this.attempt(event, 1));
    if (this.deps.dice.chance('webhook-duplicate', f.webhookDuplicateRate, event.webhookId)) {
      this.deps.onFault?.('webhookDuplicated');
      this.later(delay, () => void this.attempt({ ...event, copy: 2 }, 1));
    }
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }

  private async attempt(event: PendingEvent, n: number): Promise<void> {
    const url = this.deps.url();
    if (url === undefined) {
      this.record(event, n, 'no_url');
      return;
    }
    const timestamp = Math.floor(this.deps.now() / 1000);
    this.sentCount += 1;
    const sent = this.sentCount;
    let status: number | undefined;
    let error: string | undefined;
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.deps.agent,
        headers: {
          'content-type': 'application/json',
          'webhook-id': event.webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(event.webhookId, timestamp, event.body, this.deps.secret),
        },
        body: event.body,
        headersTimeout: this.deps.timeoutMs,
        bodyTimeout: this.deps.timeoutMs,
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      error = (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error');
    }
    if (this.stopped) return;
    const ok = status !== undefined && status >= 200 && status < 300;
    this.record(event, n, ok ? 'delivered' : 'failed', status, error, sent);
    if (ok) return;
    const delaySeconds = RETRY_SCHEDULE_SECONDS[n - 1];
    if (delaySeconds === undefined) return;
    this.later(delaySeconds * 1000 * this.deps.retryScale, () => void this.attempt(event, n + 1));
  }

  private record(
    event: PendingEvent,
    attempt: number,
    outcome: WebhookDelivery['outcome'],
    status?: number,
    error?: string,
    sent?: number,
  ): void {
    if (this.deliveries.length >= LOG_LIMIT) this.deliveries.splice(0, LOG_LIMIT / 10);
    this.deliveries.push({
      webhookId: event.webhookId,
      eventType: event.eventType,
      orderId: event.orderId,
      attempt,
      copy: event.copy,
      outcome,
      ...(status !== undefined ? { status } : {}),
      ...(error !== undefined ? { error } : {}),
      at: this.deps.now(),
      ...(sent !== undefined ? { sent } : {}),
    });
  }
}
