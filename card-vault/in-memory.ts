/**
 * The in-process vault, for the dev stack where the API and the worker share a process. Each secret is sealed under
 * its own random key; the handle is opaque (`cvm1.<id>`) and the key stays in this process's memory until the entry
 * is destroyed or expires, when key and ciphertext are zeroed and dropped.
 */
import { CARD_VAULT_ERROR_CODE, CardVaultError } from './errors';
import { newId, newKey, open, seal } from './sealed';
import { TtlStore } from './ttl-store';
import type { CardSecret, CardVault } from './types';
import { DEFAULT_MAX_TTL_MS, validatePut } from './validate';

/** Options of {@link InMemoryCardVault}. */
export interface InMemoryCardVaultOptions {
  /** Maximum live secrets. @default 10000 */
  capacity?: number;
  /** Longest TTL `put` accepts. @default 3600000 (1 hour) */
  maxTtlMs?: number;
  /** Clock in epoch ms (tests inject one). @default Date.now */
  now?: () => number;
  /** Background sweep of expired entries. @default 5000 */
  sweepIntervalMs?: number;
}

/** One stored secret: its sealed bytes and its key. */
export interface InMemoryEntry {
  readonly sealed: Buffer;
  readonly key: Buffer;
}

const HANDLE = /^cvm1\.([A-Za-z0-9_-]{22})$/;

export class InMemoryCardVault implements CardVault {
  /** The entries (exposed so tests can prove no plaintext is held). */
  readonly store: TtlStore<InMemoryEntry>;
  private readonly maxTtlMs: number;
  private closed = false;

  constructor(options: InMemoryCardVaultOptions = {}) {
    this.maxTtlMs = options.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
    this.store = new TtlStore<InMemoryEntry>({
      capacity: options.capacity ?? 10_000,
      ...(options.now ? { now: options.now } : {}),
      ...(options.sweepIntervalMs !== undefined ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
      onRemove: (entry) => {
        entry.key.fill(0);
        entry.sealed.fill(0);
      },
    });
  }

  /** @throws {CardVaultError} `INVALID_SECRET`, `INVALID_TTL`, `VAULT_FULL` or `VAULT_CLOSED`. */
  put(secret: CardSecret, ttlMs: number): Promise<string> {
    try {
      if (this.closed) throw new CardVaultError(CARD_VAULT_ERROR_CODE.VAULT_CLOSED, 'card vault is closed');
      const clean = validatePut(secret, ttlMs, this.maxTtlMs);
      const id = newId();
      const key = newKey();
      const result = this.store.set(id, { sealed: seal(clean, key, id), key }, ttlMs);
      if (result !== 'stored') {
        key.fill(0);
        throw new CardVaultError(
          CARD_VAULT_ERROR_CODE.VAULT_FULL,
          result === 'full'
            ? 'card vault is full (capacity reached); retry shortly or raise the capacity'
            : 'card vault id collision; retry',
        );
      }
      return Promise.resolve(`cvm1.${id}`);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error('card vault put failed'));
    }
  }

  get(handle: string): Promise<CardSecret | undefined> {
    const id = HANDLE.exec(handle)?.[1];
    const entry = id === undefined ? undefined : this.store.get(id);
    return Promise.resolve(entry && id ? open(entry.sealed, entry.key, id) : undefined);
  }

  destroy(handle: string): Promise<void> {
    const id = HANDLE.exec(handle)?.[1];
    if (id !== undefined) this.store.delete(id);
    return Promise.resolve();
  }

  /** Destroys every secret and stops the sweep timer. */
  close(): void {
    this.closed = true;
    this.store.close();
  }
}
