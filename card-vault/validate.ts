/** Checks shared by every `put`. */
import { CARD_VAULT_ERROR_CODE, CardVaultError } from './errors';
import { CardSecretSchema } from './types';
import type { CardSecret } from './types';

/** Longest hand-off a vault accepts by default: long enough for create-payment retries through an outage. */
export const DEFAULT_MAX_TTL_MS = 60 * 60_000;

/**
 * @returns the secret with only the known fields.
 * @throws {CardVaultError} `INVALID_SECRET` naming the bad fields (never their values), or `INVALID_TTL`.
 */
export function validatePut(secret: unknown, ttlMs: number, maxTtlMs: number): CardSecret {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > maxTtlMs) {
    throw new CardVaultError(
      CARD_VAULT_ERROR_CODE.INVALID_TTL,
      `card vault TTL must be an integer number of ms between 1 and ${maxTtlMs}`,
    );
  }
  const parsed = CardSecretSchema.safeParse(secret);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : i.message,
    );
    throw new CardVaultError(CARD_VAULT_ERROR_CODE.INVALID_SECRET, `invalid card secret: ${problems.join('; ')}`);
  }
  return parsed.data;
}
