/** A bounded map whose entries expire: the storage behind both vault implementations. Holds no plaintext. */

/** Options of {@link TtlStore}. */
export interface TtlStoreOptions<V> {
  /** Maximum number of live entries; `set` beyond it reports `full` (after sweeping expired ones). */
  capacity: number;
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
  /**
   * How often expired entries are removed in the background (an unref'd timer; reads also check expiry).
   * @default 5000
   */
  sweepIntervalMs?: number;
  /** Called with every value that leaves the store (expired, deleted, cleared), e.g. to zero its buffers. */
  onRemove?: (value: V) => void;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/** Result of {@link TtlStore.set}. */
export type SetResult = 'stored' | 'exists' | 'full';

export class TtlStore<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: TtlStoreOptions<V>) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 5_000);
    this.timer.unref();
  }

  /** Number of entries, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  /** Stores `value` under a new `id` for `ttlMs`. Never overwrites. */
  set(id: string, value: V, ttlMs: number): SetResult {
    if (this.entries.has(id) && this.get(id) !== undefined) return 'exists';
    if (this.entries.size >= this.options.capacity) this.sweep();
    if (this.entries.size >= this.options.capacity) return 'full';
    this.entries.set(id, { value, expiresAt: this.now() + ttlMs });
    return 'stored';
  }

  /** The live value under `id`; an expired entry is removed and reported as absent. */
  get(id: string): V | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(id, entry);
      return undefined;
    }
    return entry.value;
  }

  /** Expiry time (epoch ms) of a live entry. */
  expiresAt(id: string): number | undefined {
    return this.get(id) === undefined ? undefined : this.entries.get(id)?.expiresAt;
  }

  /** Removes `id`; true if it was there. */
  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.remove(id, entry);
    return true;
  }

  /** Removes every expired entry; returns how many. */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.remove(id, entry);
        removed++;
      }
    }
    return removed;
  }

  /** Every stored value (for inspection in tests: proving what the store holds). */
  *values(): IterableIterator<V> {
    for (const entry of this.entries.values()) yield entry.value;
  }

  /** Removes every entry. */
  clear(): void {
    for (const [id, entry] of this.entries) this.remove(id, entry);
  }

  /** Removes every entry and stops the sweep timer. */
  close(): void {
    clearInterval(this.timer);
    this.clear();
  }

  private remove(id: string, entry: Entry<V>): void {
    this.entries.delete(id);
    this.options.onRemove?.(entry.value);
  }
}
