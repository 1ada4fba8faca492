/** The sandbox's timed steps; each order has at most one timer of each kind. */
export type TimedStep =
  /** A payment left PENDING fails (paymentTimeoutSeconds). */
  | 'payment-expiry'
  /** A sale reported AUTHORIZED becomes PROCESSED, or a PENDING refund is processed. */
  | 'settlement'
  /** An order still CREATED or ATTEMPTED becomes FAILED (orderExpirySeconds). */
  | 'order-expiry';

// setTimeout fires after 1 ms (with a warning) when given more than 2^31 - 1 ms; longer delays are chained.
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Real-time timers of the timed steps, by (step, order id). They are unref'd, so they never keep a process alive,
 * and {@link stop} clears them all. Steps are also applied lazily on reads (Gateway.catchUp), which is what makes
 * a fake `now` clock work: a timer only guarantees the step happens without a read.
 */
export class OrderTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  /** Runs `fn` after `ms`, replacing any timer of the same step for the order. */
  set(step: TimedStep, orderId: string, ms: number, fn: () => void): void {
    const key = `${step}:${orderId}`;
    this.clear(step, orderId);
    if (this.stopped) return;
    const arm = (left: number): void => {
      const timer = setTimeout(
        () => {
          if (left > MAX_TIMEOUT_MS) {
            arm(left - MAX_TIMEOUT_MS);
            return;
          }
          this.timers.delete(key);
          fn();
        },
        Math.min(left, MAX_TIMEOUT_MS),
      );
      timer.unref();
      this.timers.set(key, timer);
    };
    arm(Math.max(0, ms));
  }

  clear(step: TimedStep, orderId: string): void {
    const key = `${step}:${orderId}`;
    const timer = this.timers.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(key);
  }

  /** Clears every timer; later {@link set} calls do nothing. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Timers armed right now (tests check that stop() leaves none). */
  size(): number {
    return this.timers.size;
  }
}
