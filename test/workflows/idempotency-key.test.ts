/**
 * The idempotency-key workflow through Temporal (the official time-skipping test server), driven by the API's own
 * Temporal store: a claim starts it, a completed answer is replayed, a lease that ran out is taken over, and the key
 * is forgotten 24 h after its first use (its workflow completes; the key then starts a new record).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdempotencyStore } from '../../api/idempotency';
import { createTemporalIdempotencyStore } from '../../api/temporal-idempotency-store';
import {
  getIdempotencyKeyQuery,
  IDEMPOTENCY_RETENTION_MS,
  idempotencyWorkflowId,
} from '../../workflows/idempotency-definitions';
import { bundle, createEnv } from './harness';

const TASK_QUEUE = 'idempotency-keys';
const LEASE_MS = 60_000;
let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;
let store: IdempotencyStore;
let worker: Worker;
let running: Promise<void>;
let n = 0;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([createEnv(), bundle()]);
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle });
  running = worker.run();
  store = createTemporalIdempotencyStore({ client: env.client, taskQueue: TASK_QUEUE });
}, 120_000);

afterAll(async () => {
  if (worker) {
    worker.shutdown();
    await running;
  }
  await env?.teardown();
});

/** A fresh key's workflow id. */
const newKey = () => idempotencyWorkflowId('default', `${'0'.repeat(56)}${String(++n).padStart(8, '0')}`);
const claim = (id: string, claimId: string, fingerprint = 'ik1:aa') =>
  store.claim(id, 'default', { claimId, fingerprint, leaseMs: LEASE_MS });

describe('idempotencyKeyWorkflow', () => {
  it('is started by the first claim and replays the answer stored for the same request', async () => {
    const id = newKey();
    expect(await claim(id, 'c1')).toEqual({ outcome: 'CLAIMED' });
    const response = { status: 201, body: { object: 'payment', status: 'AWAITING_OTP' }, location: '/v1/payments/x' };
    expect(await store.complete(id, { claimId: 'c1', fingerprint: 'ik1:aa', response })).toBe(true);
    expect(await claim(id, 'c2')).toEqual({ outcome: 'COMPLETED', response });
    expect(await claim(id, 'c3', 'ik1:bb')).toEqual({ outcome: 'MISMATCH' });
  });

  it('answers in progress until the lease runs out, then lets a retry take the key', async () => {
    const id = newKey();
    expect(await claim(id, 'c1')).toEqual({ outcome: 'CLAIMED' });
    expect(await claim(id, 'c2')).toMatchObject({ outcome: 'IN_PROGRESS' });
    await env.sleep(LEASE_MS + 1_000);
    expect(await claim(id, 'c3')).toEqual({ outcome: 'CLAIMED' });
    const record = await env.client.workflow.getHandle(id).query(getIdempotencyKeyQuery);
    expect(record.claim?.id).toBe('c3');
  });

  it('forgets the key 24 h after its first use: its workflow completes, and the key starts a new record', async () => {
    const id = newKey();
    await claim(id, 'c1');
    await store.complete(id, { claimId: 'c1', fingerprint: 'ik1:aa', response: { status: 200, body: {} } });
    const first = env.client.workflow.getHandle(id);
    const { runId } = await first.describe();
    await env.sleep(IDEMPOTENCY_RETENTION_MS - 60_000);
    expect((await first.describe()).status.name).toBe('RUNNING');
    await env.sleep(120_000);
    await first.result();
    expect((await first.describe()).status.name).toBe('COMPLETED');
    // Another request under the old key is now a new request, in a new run.
    expect(await claim(id, 'c2', 'ik1:bb')).toEqual({ outcome: 'CLAIMED' });
    expect((await env.client.workflow.getHandle(id).describe()).runId).not.toBe(runId);
  });
});
