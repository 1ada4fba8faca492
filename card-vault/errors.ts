/** Failures of the card vault. Messages never contain card data, keys or tokens. */

/** `CardVaultError.code` values. */
export const CARD_VAULT_ERROR_CODE = {
  /** `put` was given something that is not a card secret. */
  INVALID_SECRET: 'INVALID_SECRET',
  /** `put` was given a TTL outside `(0, maxTtlMs]`. */
  INVALID_TTL: 'INVALID_TTL',
  /** The vault holds `capacity` live entries; retry later or raise the capacity. */
  VAULT_FULL: 'VAULT_FULL',
  /** The vault server could not be reached or failed (5xx, timeout, connection error): retryable. */
  VAULT_UNAVAILABLE: 'VAULT_UNAVAILABLE',
  /** The vault server refused the bearer token: fix `CARD_VAULT_TOKEN`. */
  VAULT_UNAUTHORIZED: 'VAULT_UNAUTHORIZED',
  /** The vault server answered something unexpected. */
  VAULT_PROTOCOL_ERROR: 'VAULT_PROTOCOL_ERROR',
  /** The vault was closed. */
  VAULT_CLOSED: 'VAULT_CLOSED',
} as const;
export type CardVaultErrorCode = (typeof CARD_VAULT_ERROR_CODE)[keyof typeof CARD_VAULT_ERROR_CODE];

const RETRYABLE: ReadonlySet<CardVaultErrorCode> = new Set([
  CARD_VAULT_ERROR_CODE.VAULT_FULL,
  CARD_VAULT_ERROR_CODE.VAULT_UNAVAILABLE,
]);

/** A card-vault failure; match on `code` (or `type === 'CardVaultError'` across process boundaries). */
export class CardVaultError extends Error {
  readonly type = 'CardVaultError';
  /** Whether retrying the same call later can succeed. */
  readonly retryable: boolean;

  constructor(
    readonly code: CardVaultErrorCode,
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'CardVaultError';
    this.retryable = RETRYABLE.has(code);
  }
}

/** Type guard that works across module copies (matches on `type`, not `instanceof`). */
export function isCardVaultError(err: unknown): err is CardVaultError {
  return typeof err === 'object' && err !== null && (err as { type?: unknown }).type === 'CardVaultError';
}
