/**
 * One idempotency key of one merchant: started by the API's first `claim` (update-with-start), it answers claims,
 * stores the answer of the request that holds the key, and completes {@link IDEMPOTENCY_RETENTION_MS} after its first
 * use. The API starts it with the `ALLOW_DUPLICATE` reuse policy, so a key used again after that is new (Stripe's
 * 24 h). It calls no activity: its history is its Updates and one timer.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { nowMs } from './clock';
import {
  claimIdempotencyKeyUpdate,
  completeIdempotencyKeyUpdate,
  getIdempotencyKeyQuery,
  IDEMPOTENCY_RETENTION_MS,
  releaseIdempotencyKeyUpdate,
} from './idempotency-definitions';
import type { ClaimRequest, IdempotencyKeyInput } from './idempotency-definitions';
import { IdempotencyRecord } from './idempotency-record';

/** Remembers one key until it expires; the record's rules are in `idempotency-record.ts`. */
export async function idempotencyKeyWorkflow(input: IdempotencyKeyInput): Promise<void> {
  const record = new IdempotencyRecord(input.continued?.record);
  const expiresAt = input.continued?.expiresAt ?? nowMs() + (input.retentionMs ?? IDEMPOTENCY_RETENTION_MS);

  setHandler(claimIdempotencyKeyUpdate, (request) => record.claim(request, nowMs()), {
    validator: (request: ClaimRequest) => {
      if (!(Number.isSafeInteger(request.leaseMs) && request.leaseMs > 0)) throw new Error('leaseMs must be positive');
      if (request.fingerprint.length === 0 || request.claimId.length === 0) {
        throw new Error('claimId and fingerprint are required');
      }
    },
  });
  setHandler(completeIdempotencyKeyUpdate, (request) => record.complete(request));
  setHandler(releaseIdempotencyKeyUpdate, (request) => record.release(request));
  setHandler(getIdempotencyKeyQuery, () => record.snapshot());

  // Until the key expires; a key hammered long enough to fill its history goes on in a fresh run.
  const suggested = await condition(() => workflowInfo().continueAsNewSuggested, Math.max(0, expiresAt - nowMs()));
  await condition(allHandlersFinished);
  if (suggested) {
    await continueAsNew<typeof idempotencyKeyWorkflow>({
      merchantId: input.merchantId,
      continued: { record: record.snapshot(), expiresAt },
    });
  }
}
