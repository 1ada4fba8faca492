import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness';
import { startHarness } from './harness';
import { approveSignal, paymentStatusKey, statusQuery } from './definitions';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('smoke');
});

afterAll(async () => {
  await h?.stop();
});

describe('embedded Temporal with a real Worker and Client', () => {
  it('runs a payment-shaped workflow: activity, timer, signal, query, search attribute, completion', async () => {
    const handle = await h.client.workflow.start('payment', {
      taskQueue: h.taskQueue,
      workflowId: 'pay-1',
      args: [5000],
    });
    await expect.poll(() => handle.query(statusQuery), { timeout: 10_000 }).toBe('waiting');
    await handle.signal(approveSignal, 'ops');
    expect(await handle.result()).toBe('receipt-5000 approved by ops');
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(paymentStatusKey)).toBe('charged');
    const history = await handle.fetchHistory();
    const types = history.events!.map((e) => e.eventType);
    expect(types[0]).toBe(1);
    expect(types.at(-1)).toBe(2);
    expect(history.events!.map((e) => Number(e.eventId))).toEqual(history.events!.map((_, i) => i + 1));
  });

  it('rejects a second start of a running workflow id with WorkflowExecutionAlreadyStartedError', async () => {
    const handle = await h.client.workflow.start('waitForever', { taskQueue: h.taskQueue, workflowId: 'dup-1' });
    await expect(
      h.client.workflow.start('waitForever', { taskQueue: h.taskQueue, workflowId: 'dup-1' }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    await handle.terminate('done');
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  });

  it('answers NOT_FOUND (WorkflowNotFoundError) for an unknown workflow', async () => {
    await expect(h.client.workflow.getHandle('nope').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('retries a failing activity inside the server until it succeeds', async () => {
    const result = await h.client.workflow.execute('retries', { taskQueue: h.taskQueue, workflowId: 'retry-1' });
    expect(result).toBe(3);
    const history = await h.client.workflow.getHandle('retry-1').fetchHistory();
    const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started).toHaveLength(1);
    expect(started[0]!.activityTaskStartedEventAttributes!.attempt).toBe(3);
  });

  it('does not retry a non-retryable activity failure and fails the workflow', async () => {
    const err = await h.client.workflow
      .execute('failing', { taskQueue: h.taskQueue, workflowId: 'fail-1', args: ['Fatal'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
  });

  it('follows continue-as-new to the final result', async () => {
    expect(await h.client.workflow.execute('counter', { taskQueue: h.taskQueue, workflowId: 'can-1', args: [0] })).toBe(
      3,
    );
  });

  it('cancels a heartbeating activity when the workflow is cancelled', async () => {
    const handle = await h.client.workflow.start('cancellableActivity', {
      taskQueue: h.taskQueue,
      workflowId: 'cancel-1',
    });
    await new Promise((r) => setTimeout(r, 500));
    await handle.cancel();
    expect(await handle.result()).toBe('cancelled');
  });

  it('lists executions with a visibility query on type and status', async () => {
    const { executions } = await h.client.workflowService.listWorkflowExecutions({
      namespace: 'default',
      query: "WorkflowType = 'payment' AND ExecutionStatus = 'Completed'",
    });
    expect(executions.map((e) => e.execution!.workflowId)).toEqual(['pay-1']);
    const count = await h.client.workflow.count("PaymentStatus = 'charged'");
    expect(count.count).toBe(1);
  });
});
