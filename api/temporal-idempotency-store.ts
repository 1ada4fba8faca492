/**
 * {@link IdempotencyStore} over `@temporalio/client`: each key is one `idempotencyKeyWorkflow`
 * (`workflows/idempotency-key.ts`) on the payment task queue. A claim is one update-with-start (the key's first use
 * starts its workflow); completing and releasing are Updates on it. The workflow completes 24 h after the key's first
 * use and is started with the `ALLOW_DUPLICATE` reuse policy, so a key used after that starts a new record.
 */
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { PAYMENT_TASK_QUEUE } from '../workflows/definitions';
import {
  claimIdempotencyKeyUpdate,
  completeIdempotencyKeyUpdate,
  IDEMPOTENCY_WORKFLOW_TYPE,
  releaseIdempotencyKeyUpdate,
} from '../workflows/idempotency-definitions';
import type { ClaimAnswer, IdempotencyKeyInput } from '../workflows/idempotency-definitions';
import { EngineUnavailableError } from './engine';
import type { IdempotencyStore } from './idempotency';

/** Options of {@link createTemporalIdempotencyStore}. */
export interface TemporalIdempotencyStoreOptions {
  client: Client;
  /** @default PAYMENT_TASK_QUEUE (the payment worker runs the key workflows too) */
  taskQueue?: string;
  /** Deadline of each call (a claim waits for a worker to answer it), ms. @default 10000 */
  callTimeoutMs?: number;
  /** How long a key is remembered; only tests shorten it. @default IDEMPOTENCY_RETENTION_MS (24 h) */
  retentionMs?: number;
}

export function createTemporalIdempotencyStore(options: TemporalIdempotencyStoreOptions): IdempotencyStore {
  const { client } = options;
  const taskQueue = options.taskQueue ?? PAYMENT_TASK_QUEUE;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;

  /** Settling a key: a failure leaves its claim to its lease (the middleware logs it and answers regardless). */
  async function settle(what: string, fn: () => Promise<boolean>): Promise<boolean> {
    try {
      return await client.withDeadline(Date.now() + callTimeoutMs, fn);
    } catch (err) {
      throw new EngineUnavailableError(`Temporal call failed: ${what} an idempotency key`, err);
    }
  }

  return {
    async claim(workflowId, merchantId, request): Promise<ClaimAnswer> {
      const input: IdempotencyKeyInput = {
        merchantId,
        ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
      };
      const deadline = Date.now() + callTimeoutMs;
      // Tried twice within the deadline: a key's workflow completing (24 h) just as the claim arrives fails the claim,
      // and the second starts the new record. Claiming again is safe: a claim already taken answers CLAIMED.
      for (let attempt = 1; ; attempt += 1) {
        const startWorkflowOperation = new WithStartWorkflowOperation(IDEMPOTENCY_WORKFLOW_TYPE, {
          taskQueue,
          workflowId,
          args: [input],
          // A running key takes the claim; an expired (completed) one starts afresh: a key is new after 24 h.
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
        try {
          return await client.withDeadline(deadline, () =>
            client.workflow.executeUpdateWithStart(claimIdempotencyKeyUpdate, {
              args: [request],
              startWorkflowOperation,
            }),
          );
        } catch (err) {
          if (attempt >= 2 || Date.now() >= deadline) {
            throw new EngineUnavailableError('Temporal call failed: claim an idempotency key', err);
          }
        }
      }
    },
    complete: (workflowId, request) =>
      settle('complete', () =>
        client.workflow.getHandle(workflowId).executeUpdate(completeIdempotencyKeyUpdate, { args: [request] }),
      ),
    release: (workflowId, request) =>
      settle('release', () =>
        client.workflow.getHandle(workflowId).executeUpdate(releaseIdempotencyKeyUpdate, { args: [request] }),
      ),
  };
}
