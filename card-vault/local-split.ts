/**
 * The API-side half of the cross-process vault: puts (and gets/destroys) split-knowledge handles directly in the
 * router's ciphertext store, without a loopback HTTP call. Handles are the same `cv1.<id>.<key>` that
 * {@link HttpCardVault} reads in the worker; the key goes into the handle and never into the store.
 */
import { CARD_VAULT_ERROR_CODE, CardVaultError } from './errors';
import { parseSplitHandle } from './http-client';
import { newId, newKey, open, seal } from './sealed';
import type { TtlStore } from './ttl-store';
import type { CardSecret, CardVault } from './types';
import { DEFAULT_MAX_TTL_MS, validatePut } from './validate';

export class LocalSplitCardVault implements CardVault {
  constructor(
    private readonly store: TtlStore<Buffer>,
    private readonly maxTtlMs: number = DEFAULT_MAX_TTL_MS,
  ) {}

  /** @throws {CardVaultError} `INVALID_SECRET`, `INVALID_TTL` or `VAULT_FULL`. */
  put(secret: CardSecret, ttlMs: number): Promise<string> {
    try {
      const clean = validatePut(secret, ttlMs, this.maxTtlMs);
      const id = newId();
      const key = newKey();
      try {
        const result = this.store.set(id, seal(clean, key, id), ttlMs);
        if (result !== 'stored') {
          throw new CardVaultError(
            CARD_VAULT_ERROR_CODE.VAULT_FULL,
            result === 'full'
              ? 'card vault is full (capacity reached); retry shortly'
              : 'card vault id collision; retry',
          );
        }
        return Promise.resolve(`cv1.${id}.${key.toString('base64url')}`);
      } finally {
        key.fill(0);
      }
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error('card vault put failed'));
    }
  }

  get(handle: string): Promise<CardSecret | undefined> {
    const parsed = parseSplitHandle(handle);
    if (!parsed) return Promise.resolve(undefined);
    const sealed = this.store.get(parsed.id);
    const secret = sealed ? open(sealed, parsed.key, parsed.id) : undefined;
    parsed.key.fill(0);
    return Promise.resolve(secret);
  }

  destroy(handle: string): Promise<void> {
    const parsed = parseSplitHandle(handle);
    if (parsed) {
      parsed.key.fill(0);
      this.store.delete(parsed.id);
    }
    return Promise.resolve();
  }
}
