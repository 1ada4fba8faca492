/** A waiting long poll. `deliver` returns false when the poll can no longer take the task. */
export interface Poller<T> {
  deliver(task: T): boolean;
  /** True once the poll has been answered, timed out or cancelled by the caller. */
  done: boolean;
}

/** A task whose validity is checked lazily when it is handed out (stale tasks are skipped, never searched for). */
export interface QueuedTask {
  isValid(): boolean;
}

class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  remove(item: T): void {
    const i = this.items.indexOf(item, this.head);
    if (i >= 0) this.items.splice(i, 1);
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) yield item;
    }
  }
}

class TaskQueueState<T extends QueuedTask> {
  readonly tasks = new Deque<T>();
  readonly pollers = new Deque<Poller<T>>();
  lastPollTime = 0;
}

/** Task queues of one kind (workflow or activity), keyed by namespace and queue name; matches tasks with polls. */
export class TaskQueues<T extends QueuedTask> {
  private readonly queues = new Map<string, TaskQueueState<T>>();

  private queue(namespace: string, name: string): TaskQueueState<T> {
    const key = `${namespace}\u0000${name}`;
    let q = this.queues.get(key);
    if (!q) {
      q = new TaskQueueState<T>();
      this.queues.set(key, q);
    }
    return q;
  }

  /** Adds a task, handing it straight to a waiting poll when there is one. */
  offer(namespace: string, name: string, task: T): void {
    const q = this.queue(namespace, name);
    for (;;) {
      const poller = q.pollers.shift();
      if (!poller) break;
      if (poller.done) continue;
      if (poller.deliver(task)) return;
      if (!task.isValid()) return;
    }
    q.tasks.push(task);
  }

  /** Hands the first valid queued task to the poller, or parks it. Returns a function that un-parks it. */
  poll(namespace: string, name: string, poller: Poller<T>, now: number): (now: number) => void {
    const q = this.queue(namespace, name);
    q.lastPollTime = now;
    for (;;) {
      const task = q.tasks.shift();
      if (!task) break;
      if (!task.isValid()) continue;
      if (poller.deliver(task)) return () => undefined;
      // The poll could not take it (already answered); keep the task for the next poll.
      if (task.isValid()) q.tasks.push(task);
      return () => undefined;
    }
    q.pollers.push(poller);
    return (later: number) => {
      q.lastPollTime = later;
      q.pollers.remove(poller);
    };
  }

  /** True when someone polled the queue within `windowMs` or is polling it now. */
  hasRecentPoller(namespace: string, name: string, now: number, windowMs: number): boolean {
    const q = this.queues.get(`${namespace}\u0000${name}`);
    if (!q) return false;
    for (const p of q.pollers) if (!p.done) return true;
    return now - q.lastPollTime <= windowMs;
  }

  /** Removes a queue and returns its still-valid tasks (used when a sticky queue's worker shuts down). */
  drain(namespace: string, name: string): T[] {
    const key = `${namespace}\u0000${name}`;
    const q = this.queues.get(key);
    if (!q) return [];
    this.queues.delete(key);
    return [...q.tasks].filter((t) => t.isValid());
  }

  /** Number of valid queued tasks (for tests and diagnostics). */
  backlog(namespace: string, name: string): number {
    const q = this.queues.get(`${namespace}\u0000${name}`);
    if (!q) return 0;
    let n = 0;
    for (const t of q.tasks) if (t.isValid()) n++;
    return n;
  }
}
