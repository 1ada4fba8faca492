/** A scheduled callback that can be cancelled before it fires. */
export interface TimerHandle {
  /** Virtual time (ms since the epoch) at which the callback fires. */
  readonly at: number;
  cancel(): void;
}

interface TimerEntry extends TimerHandle {
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

const MAX_REAL_DELAY_MS = 60_000;

/**
 * Virtual time for the service: wall clock plus an offset that time skipping moves forward.
 *
 * Time skipping (the test server's behaviour): while the lock count is <= 0 and no work is outstanding (no workflow
 * task, activity attempt or query waiting for a worker), the clock jumps to the next deadline. While locked, deadlines
 * fire in real time.
 */
export class VirtualClock {
  private offsetMs = 0;
  private lockCount: number;
  private outstanding = 0;
  private runningActivities = 0;
  private sleepers = 0;
  private readonly heap: TimerEntry[] = [];
  private seq = 0;
  private realTimer: NodeJS.Timeout | undefined;
  private realTimerAt = Number.POSITIVE_INFINITY;
  private pumpRequested = false;
  private stopped = false;

  constructor(options: { autoSkip: boolean }) {
    this.lockCount = options.autoSkip ? 0 : 1;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  /** Restores a persisted offset (only ever moves time forward). */
  restoreOffset(offsetMs: number): void {
    if (offsetMs > this.offsetMs) this.offsetMs = offsetMs;
  }

  /** Runs `fn` once virtual time reaches `at`. */
  schedule(at: number, fn: () => void): TimerHandle {
    const entry: TimerEntry = {
      at,
      seq: this.seq++,
      fn,
      cancelled: false,
      cancel() {
        entry.cancelled = true;
      },
    };
    this.push(entry);
    if (at < this.realTimerAt || this.canSkip()) this.requestPump();
    return entry;
  }

  /** Resolves once virtual time reaches `at`. */
  sleepUntil(at: number): Promise<void> {
    return new Promise((resolve) => {
      this.schedule(at, resolve);
    });
  }

  /** Unlocks time skipping until virtual time reaches `at`, then locks it again (synchronously, at that instant). */
  unlockUntil(at: number): Promise<void> {
    const woken = new Promise<void>((resolve) => {
      this.schedule(at, () => {
        this.sleepers--;
        this.lock();
        resolve();
      });
    });
    this.sleepers++;
    this.unlock();
    return woken;
  }

  lock(): void {
    this.lockCount++;
  }

  unlock(): void {
    this.lockCount--;
    this.requestPump();
  }

  /**
   * Marks an activity attempt running in a worker (+1) or ending (-1). Like the Java test server, a running
   * activity holds time; an explicit sleep (`unlockUntil`, i.e. `env.sleep`) still advances it.
   */
  running(delta: number): void {
    this.runningActivities = Math.max(0, this.runningActivities + delta);
    if (this.runningActivities === 0) this.requestPump();
  }

  /** Marks work that a worker must do before time may skip (+1) or its end (-1). */
  busy(delta: number): void {
    this.outstanding += delta;
    if (this.outstanding < 0) this.outstanding = 0;
    if (this.outstanding === 0) this.requestPump();
  }

  stop(): void {
    this.stopped = true;
    if (this.realTimer) clearTimeout(this.realTimer);
    this.realTimer = undefined;
  }

  private canSkip(): boolean {
    return this.lockCount <= 0 && this.outstanding === 0 && (this.runningActivities === 0 || this.sleepers > 0);
  }

  private requestPump(): void {
    if (this.pumpRequested || this.stopped) return;
    this.pumpRequested = true;
    setImmediate(() => {
      this.pumpRequested = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    for (;;) {
      const next = this.peek();
      if (!next) break;
      const now = this.now();
      if (next.at > now) {
        if (!this.canSkip()) break;
        this.offsetMs += next.at - now;
      }
      this.pop();
      next.fn();
      // Callbacks may create work; re-evaluate skipping after they settle.
      if (!this.canSkip() && this.peekDue() === undefined) break;
    }
    this.armRealTimer();
  }

  private peekDue(): TimerEntry | undefined {
    const next = this.peek();
    return next && next.at <= this.now() ? next : undefined;
  }

  private armRealTimer(): void {
    const next = this.peek();
    const at = next ? next.at : Number.POSITIVE_INFINITY;
    if (at === this.realTimerAt && this.realTimer) return;
    if (this.realTimer) clearTimeout(this.realTimer);
    this.realTimer = undefined;
    this.realTimerAt = at;
    if (!next) return;
    const delay = Math.min(Math.max(0, at - this.now()), MAX_REAL_DELAY_MS);
    this.realTimer = setTimeout(() => {
      this.realTimer = undefined;
      this.realTimerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, delay);
    this.realTimer.unref();
  }

  private peek(): TimerEntry | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private push(entry: TimerEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): TimerEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: TimerEntry, b: TimerEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
