/**
 * Conformance: activities — server-side retries (retry policy, nonRetryable, nonRetryableErrorTypes,
 * nextRetryDelay), the four activity timeouts, heartbeats (details visible to the next attempt) and cancellation.
 * Runs once per worker cache mode.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityInput, AttemptRecord, Journal } from './activities';
import type { ConformanceEnv, RunningWorker } from './harness';
import {
  bundleConformanceWorkflows,
  CACHE_MODES,
  createServerEnv,
  eventTypes,
  eventually,
  ReplayCollector,
  startWorker,
  uniqueId,
} from './harness';
import { cancelActivity, cancelScheduledActivity, fanOutActivities, finishSignal, runActivity } from './workflows';

let server: ConformanceEnv;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  [server, workflowBundle] = await Promise.all([createServerEnv(), bundleConformanceWorkflows()]);
}, 120_000);

afterAll(async () => {
  await server?.teardown();
});

type ActivityName = Parameters<typeof runActivity>[0];

interface FailureChain {
  workflowError: Error;
  activityFailure: Error & { retryState?: string; activityType?: string };
  cause: Error & { type?: string; nonRetryable?: boolean; timeoutType?: string };
}

describe.each(CACHE_MODES)('activities with cache=$cache', (mode) => {
  let worker: RunningWorker;
  const journal: Journal = new Map();
  const replay = new ReplayCollector();
  const taskQueue = uniqueId(`activities-${mode.cache}`);

  beforeAll(async () => {
    worker = await startWorker(server, { taskQueue, workflowBundle, cache: mode, journal });
  });

  afterAll(async () => {
    await worker?.stop();
  });

  function attempts(key: string): AttemptRecord[] {
    return journal.get(key) ?? [];
  }

  async function run(name: ActivityName, input: Omit<ActivityInput, 'key'>, options: ActivityOptions) {
    const key = uniqueId(`${name}-${mode.cache}`);
    const handle = await server.env.client.workflow.start(runActivity, {
      taskQueue,
      workflowId: key,
      args: [name, { ...input, key }, options],
    });
    const outcome = await handle.result().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error: error as Error }),
    );
    await replay.add(handle);
    return { key, handle, outcome };
  }

  function failureChain(outcome: { ok: boolean; error?: Error }): FailureChain {
    expect(outcome.ok).toBe(false);
    const workflowError = outcome.error!;
    expect(workflowError.name).toBe('WorkflowFailedError');
    const activityFailure = workflowError.cause as FailureChain['activityFailure'];
    expect(activityFailure?.name).toBe('ActivityFailure');
    return { workflowError, activityFailure, cause: activityFailure.cause as FailureChain['cause'] };
  }

  it('a failing activity is retried by the server per the retry policy until it succeeds', async () => {
    const { key, handle, outcome } = await run(
      'failTimes',
      { failures: 2 },
      { startToCloseTimeout: '10s', retry: { initialInterval: '50ms', backoffCoefficient: 2, maximumAttempts: 5 } },
    );
    expect(outcome).toEqual({ ok: true, value: 3 });
    expect(attempts(key).map((entry) => entry.attempt)).toEqual([1, 2, 3]);
    const [, second, third] = attempts(key);
    expect(third!.startedAtMs - second!.startedAtMs).toBeGreaterThanOrEqual(90);
    const history = await handle.fetchHistory();
    const types = eventTypes(history);
    expect(types.filter((type) => type.startsWith('ACTIVITY_TASK_'))).toEqual([
      'ACTIVITY_TASK_SCHEDULED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_COMPLETED',
    ]);
    const started = history.events?.find((event) => event.activityTaskStartedEventAttributes);
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(3);
  });

  it('an activity that keeps failing stops at maximumAttempts with retryState MAXIMUM_ATTEMPTS_REACHED', async () => {
    const { key, outcome } = await run(
      'failTimes',
      { failures: 10 },
      { startToCloseTimeout: '10s', retry: { initialInterval: '20ms', maximumAttempts: 3 } },
    );
    const { activityFailure, cause } = failureChain(outcome);
    expect(activityFailure.retryState).toBe('MAXIMUM_ATTEMPTS_REACHED');
    expect(cause).toMatchObject({ name: 'ApplicationFailure', type: 'DeliberateFailure' });
    expect(attempts(key)).toHaveLength(3);
  });

  it('an ApplicationFailure marked nonRetryable is not retried', async () => {
    const { key, outcome } = await run(
      'failTimes',
      { failures: 10, nonRetryable: true, errorType: 'CardExpired' },
      { startToCloseTimeout: '10s', retry: { initialInterval: '20ms', maximumAttempts: 5 } },
    );
    const { activityFailure, cause } = failureChain(outcome);
    expect(activityFailure.retryState).toBe('NON_RETRYABLE_FAILURE');
    expect(cause).toMatchObject({ type: 'CardExpired', nonRetryable: true });
    expect(attempts(key)).toHaveLength(1);
  });

  it('a failure whose type is in nonRetryableErrorTypes is not retried', async () => {
    const { key, outcome } = await run(
      'failTimes',
      { failures: 10, errorType: 'CardDeclined' },
      {
        startToCloseTimeout: '10s',
        retry: { initialInterval: '20ms', maximumAttempts: 5, nonRetryableErrorTypes: ['CardDeclined'] },
      },
    );
    const { activityFailure, cause } = failureChain(outcome);
    expect(activityFailure.retryState).toBe('NON_RETRYABLE_FAILURE');
    expect(cause).toMatchObject({ type: 'CardDeclined' });
    expect(attempts(key)).toHaveLength(1);
  });

  it('nextRetryDelay on a failure overrides the retry policy interval for the next attempt', async () => {
    const { key, outcome } = await run(
      'failTimes',
      { failures: 1, nextRetryDelayMs: 1200 },
      { startToCloseTimeout: '10s', retry: { initialInterval: '10ms', maximumAttempts: 3 } },
    );
    expect(outcome).toEqual({ ok: true, value: 2 });
    const [first, second] = attempts(key);
    expect(second!.startedAtMs - first!.startedAtMs).toBeGreaterThanOrEqual(1100);
  });

  it('heartbeat details recorded by a failed attempt are visible to the next attempt', async () => {
    const { key, outcome } = await run(
      'heartbeatThenFail',
      {},
      { startToCloseTimeout: '10s', heartbeatTimeout: '5s', retry: { initialInterval: '20ms', maximumAttempts: 2 } },
    );
    expect(outcome).toEqual({ ok: true, value: 'progress-of-attempt-1' });
    expect(attempts(key).map((entry) => entry.heartbeatDetails)).toEqual([undefined, 'progress-of-attempt-1']);
  });

  it('heartbeat details survive a heartbeat timeout and reach the retried attempt', async () => {
    const { key, outcome } = await run(
      'heartbeatThenHang',
      { runMs: 3_000 },
      { startToCloseTimeout: '10s', heartbeatTimeout: '500ms', retry: { initialInterval: '20ms', maximumAttempts: 2 } },
    );
    expect(outcome).toEqual({ ok: true, value: 'progress-of-attempt-1' });
    expect(attempts(key).map((entry) => entry.attempt)).toEqual([1, 2]);
  });

  it('an activity nobody polls for times out with SCHEDULE_TO_START', async () => {
    const { key, outcome } = await run(
      'runFor',
      {},
      {
        taskQueue: uniqueId('nobody-polls'),
        scheduleToStartTimeout: '1s',
        startToCloseTimeout: '10s',
        retry: { maximumAttempts: 3 },
      },
    );
    const { cause } = failureChain(outcome);
    expect(cause).toMatchObject({ name: 'TimeoutFailure', timeoutType: 'SCHEDULE_TO_START' });
    expect(attempts(key)).toHaveLength(0);
  });

  it('an attempt running past startToCloseTimeout times out with START_TO_CLOSE', async () => {
    const { outcome } = await run(
      'runFor',
      { runMs: 5_000 },
      { startToCloseTimeout: '1s', retry: { maximumAttempts: 1 } },
    );
    const { activityFailure, cause } = failureChain(outcome);
    expect(activityFailure.retryState).toBe('MAXIMUM_ATTEMPTS_REACHED');
    expect(cause).toMatchObject({ name: 'TimeoutFailure', timeoutType: 'START_TO_CLOSE' });
  });

  it('an activity running past scheduleToCloseTimeout times out with SCHEDULE_TO_CLOSE', async () => {
    const { outcome } = await run(
      'runFor',
      { runMs: 5_000 },
      { scheduleToCloseTimeout: '1s', retry: { initialInterval: '10ms' } },
    );
    const { cause } = failureChain(outcome);
    expect(cause).toMatchObject({ name: 'TimeoutFailure', timeoutType: 'SCHEDULE_TO_CLOSE' });
  });

  it('an activity that stops heartbeating times out with HEARTBEAT', async () => {
    const { outcome } = await run(
      'runFor',
      { runMs: 5_000 },
      { startToCloseTimeout: '10s', heartbeatTimeout: '500ms', retry: { maximumAttempts: 1 } },
    );
    const { cause } = failureChain(outcome);
    expect(cause).toMatchObject({ name: 'TimeoutFailure', timeoutType: 'HEARTBEAT' });
  });

  it('an activity that keeps heartbeating runs past its heartbeat timeout and completes', async () => {
    const { key, outcome } = await run(
      'runFor',
      { runMs: 1_500, heartbeatEveryMs: 100 },
      { startToCloseTimeout: '10s', heartbeatTimeout: '500ms', retry: { maximumAttempts: 1 } },
    );
    expect(outcome).toEqual({ ok: true, value: 'done' });
    expect(attempts(key)).toHaveLength(1);
  });

  it('cancelling a running activity delivers the cancellation to it and the workflow sees it cancelled', async () => {
    const key = uniqueId(`cancel-activity-${mode.cache}`);
    const handle = await server.env.client.workflow.start(cancelActivity, {
      taskQueue,
      workflowId: key,
      args: [{ key }],
    });
    await eventually('the activity to start heartbeating', () =>
      Promise.resolve(attempts(key).length > 0 ? true : undefined),
    );
    await handle.signal(finishSignal);
    expect(await handle.result()).toBe('activity cancelled');
    await replay.add(handle);
    expect(attempts(key)[0]?.cancelled).toBeDefined();
    const types = eventTypes(await handle.fetchHistory());
    expect(types).toEqual(expect.arrayContaining(['ACTIVITY_TASK_CANCEL_REQUESTED', 'ACTIVITY_TASK_CANCELED']));
  });

  it('cancelling an activity that no worker has started closes it at once as cancelled', async () => {
    const key = uniqueId(`cancel-scheduled-${mode.cache}`);
    const handle = await server.env.client.workflow.start(cancelScheduledActivity, {
      taskQueue,
      workflowId: key,
      args: [{ key }, uniqueId('nobody-polls')],
    });
    await eventually('the activity to be scheduled', async () =>
      eventTypes(await handle.fetchHistory()).includes('ACTIVITY_TASK_SCHEDULED') ? true : undefined,
    );
    await handle.signal(finishSignal);
    expect(await handle.result()).toBe('activity cancelled');
    await replay.add(handle);
    const types = eventTypes(await handle.fetchHistory());
    expect(types).toEqual(expect.arrayContaining(['ACTIVITY_TASK_CANCEL_REQUESTED', 'ACTIVITY_TASK_CANCELED']));
    expect(types).not.toContain('ACTIVITY_TASK_STARTED');
    expect(attempts(key)).toHaveLength(0);
  });

  it('twenty concurrent activities all complete and each is recorded once in history', async () => {
    const key = uniqueId(`fan-out-${mode.cache}`);
    const handle = await server.env.client.workflow.start(fanOutActivities, {
      taskQueue,
      workflowId: key,
      args: [key, 20],
    });
    expect(await handle.result()).toEqual(Array.from({ length: 20 }, () => 1));
    await replay.add(handle);
    const types = eventTypes(await handle.fetchHistory());
    for (const type of ['ACTIVITY_TASK_SCHEDULED', 'ACTIVITY_TASK_STARTED', 'ACTIVITY_TASK_COMPLETED']) {
      expect(types.filter((t) => t === type)).toHaveLength(20);
    }
  });

  it('every history recorded above replays without nondeterminism', async () => {
    expect(replay.size).toBeGreaterThan(8);
    expect(await replay.replayFailures(workflowBundle)).toEqual([]);
  });
});
