/**
 * Conformance: workflow-task mechanics — query delivery in its three cases, workflow-task failure and transient
 * retries, signal buffering while a task is in flight, the UNHANDLED_COMMAND path, and sticky queues across a worker
 * restart. Where a case needs a task held "in flight" deterministically, the test polls that one task itself through
 * the client's WorkflowService (public API) instead of racing a worker.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheMode, ConformanceEnv, RunningWorker } from './harness';
import {
  bundleConformanceWorkflows,
  CACHE_MODES,
  createServerEnv,
  eventTypes,
  eventually,
  rejectionOf,
  ReplayCollector,
  startWorker,
  uniqueId,
} from './harness';
import {
  addSignal,
  collectSignals,
  failFirstWorkflowTask,
  failingQuery,
  failWorkflowTasksFor,
  receivedQuery,
  slowLocalActivity,
} from './workflows';

let server: ConformanceEnv;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  [server, workflowBundle] = await Promise.all([createServerEnv(), bundleConformanceWorkflows()]);
}, 120_000);

afterAll(async () => {
  await server?.teardown();
});

const { CommandType, TaskQueueKind } = temporal.api.enums.v1;

/** Plays the worker's part for one workflow task, by hand, so the test decides when the task completes. */
async function pollWorkflowTask(taskQueue: string) {
  const task = await server.env.client.workflowService.pollWorkflowTaskQueue({
    namespace: server.namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    identity: 'conformance-manual-poller',
  });
  expect(task.taskToken?.length ?? 0).toBeGreaterThan(0);
  return task;
}

async function completeWorkflowTask(
  taskToken: Uint8Array,
  commands: temporal.api.command.v1.ICommand[] = [],
  stickyAttributes?: temporal.api.taskqueue.v1.IStickyExecutionAttributes,
): Promise<void> {
  await server.env.client.workflowService.respondWorkflowTaskCompleted({
    namespace: server.namespace,
    taskToken,
    identity: 'conformance-manual-poller',
    commands,
    stickyAttributes,
  });
}

/**
 * Sticky attributes for a sticky queue whose worker polled it a moment ago and then vanished without ShutdownWorker
 * (a crash). The recent poll matters: with no recent poller the real server sends the task to the normal queue at
 * once ("sticky worker unavailable"); with one, the task waits on the sticky queue until its schedule-to-start timeout.
 */
async function vanishedStickyWorker(normalName: string): Promise<temporal.api.taskqueue.v1.IStickyExecutionAttributes> {
  const workerTaskQueue = { name: uniqueId('vanished-sticky'), kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName };
  const connection = server.env.client.connection;
  await connection
    .withDeadline(Date.now() + 300, () =>
      server.env.client.workflowService.pollWorkflowTaskQueue({
        namespace: server.namespace,
        taskQueue: workerTaskQueue,
        identity: 'conformance-vanished-sticky-worker',
      }),
    )
    .catch(() => undefined); // the poll is expected to end at its deadline with nothing to do
  return { workerTaskQueue, scheduleToStartTimeout: msToTs(1_000) };
}

async function lastEventType(handle: WorkflowHandle): Promise<string | undefined> {
  return eventTypes(await handle.fetchHistory()).at(-1);
}

describe.each(CACHE_MODES)('workflow tasks with cache=$cache', (mode: CacheMode) => {
  let worker: RunningWorker;
  const replay = new ReplayCollector();
  const taskQueue = uniqueId(`workflow-tasks-${mode.cache}`);
  const extraWorkers: RunningWorker[] = [];
  const client = () => server.env.client;
  const wfId = (name: string) => uniqueId(`${name}-${mode.cache}`);

  beforeAll(async () => {
    worker = await startWorker(server, { taskQueue, workflowBundle, cache: mode });
  });

  afterAll(async () => {
    await Promise.all([worker?.stop(), ...extraWorkers.map((extra) => extra.stop())]);
  });

  /** A worker for a test's private task queue, stopped with the file. */
  async function workerFor(queue: string): Promise<RunningWorker> {
    const extra = await startWorker(server, { taskQueue: queue, workflowBundle, cache: mode });
    extraWorkers.push(extra);
    return extra;
  }

  async function settle<T>(handle: WorkflowHandle, result: Promise<T>): Promise<T> {
    try {
      return await result;
    } finally {
      await replay.add(handle);
    }
  }

  it('a query with no workflow task outstanding is answered from the worker', async () => {
    const handle = await client().workflow.start(collectSignals, {
      taskQueue,
      workflowId: wfId('query-idle'),
      args: [2],
    });
    await handle.signal(addSignal, 'a');
    await eventually('the signal to be processed', async () => {
      const types = eventTypes(await handle.fetchHistory());
      return types.includes('WORKFLOW_EXECUTION_SIGNALED') && types.at(-1) === 'WORKFLOW_TASK_COMPLETED'
        ? true
        : undefined;
    });
    expect(await handle.query(receivedQuery)).toEqual(['a']);
    const before = (await handle.fetchHistory()).events?.length;
    expect(await handle.query(receivedQuery)).toEqual(['a']);
    expect((await handle.fetchHistory()).events?.length).toBe(before);
    await handle.signal(addSignal, 'b');
    await settle(handle, handle.result());
  });

  it('a query whose handler throws fails with QueryNotRegisteredError carrying the message', async () => {
    const handle = await client().workflow.start(collectSignals, {
      taskQueue,
      workflowId: wfId('query-fails'),
      args: [1],
    });
    await eventually('the first workflow task to complete', async () =>
      (await lastEventType(handle)) === 'WORKFLOW_TASK_COMPLETED' ? true : undefined,
    );
    const err = await rejectionOf(handle.query(failingQuery));
    expect(err.name).toBe('QueryNotRegisteredError');
    expect(err.message).toContain('query handler rejects on purpose');
    await handle.signal(addSignal, 'done');
    await settle(handle, handle.result());
  });

  it('a query while a workflow task is scheduled but not started is answered once a worker takes the task', async () => {
    const queue = uniqueId(`query-scheduled-${mode.cache}`);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('query-sched'),
      args: [2],
    });
    await handle.signal(addSignal, 'before-query');
    const answer = handle.query(receivedQuery);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await workerFor(queue);
    expect(await answer).toEqual(['before-query']);
    await handle.signal(addSignal, 'after-query');
    expect(await settle(handle, handle.result())).toEqual(['before-query', 'after-query']);
  });

  it('a query while a later workflow task is scheduled but not started is answered with that task, events first', async () => {
    const queue = uniqueId(`query-scheduled-later-${mode.cache}`);
    const first = await startWorker(server, { taskQueue: queue, workflowBundle, cache: mode });
    extraWorkers.push(first);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('query-sched-later'),
      args: [2],
    });
    await eventually('the first workflow task to complete', async () =>
      (await lastEventType(handle)) === 'WORKFLOW_TASK_COMPLETED' ? true : undefined,
    );
    await first.stop();
    await handle.signal(addSignal, 'while-no-worker');
    const answer = handle.query(receivedQuery);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await workerFor(queue);
    expect(await answer).toEqual(['while-no-worker']);
    await handle.signal(addSignal, 'last');
    expect(await settle(handle, handle.result())).toEqual(['while-no-worker', 'last']);
  });

  it('a query while a workflow task is in flight is held until that task completes, then answered', async () => {
    const queue = uniqueId(`query-in-flight-${mode.cache}`);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('query-in-flight'),
      args: [1],
    });
    const task = await pollWorkflowTask(queue);
    let answered = false;
    const answer = handle.query(receivedQuery).finally(() => {
      answered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);
    await completeWorkflowTask(task.taskToken);
    await workerFor(queue);
    expect(await answer).toEqual([]);
    await handle.signal(addSignal, 'done');
    expect(await settle(handle, handle.result())).toEqual(['done']);
  });

  it('a signal that arrives while a workflow task is in flight is buffered and written after the task completes', async () => {
    const queue = uniqueId(`buffer-${mode.cache}`);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('buffered-signal'),
      args: [1],
    });
    const task = await pollWorkflowTask(queue);
    await handle.signal(addSignal, 'buffered');
    expect(eventTypes(await handle.fetchHistory())).toEqual([
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    await completeWorkflowTask(task.taskToken);
    expect(eventTypes(await handle.fetchHistory())).toEqual([
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
    ]);
    await workerFor(queue);
    expect(await settle(handle, handle.result())).toEqual(['buffered']);
  });

  it('completing while a signal is buffered is rejected as UNHANDLED_COMMAND and the signal is not lost', async () => {
    const queue = uniqueId(`unhandled-${mode.cache}`);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('unhandled-command'),
      args: [1],
    });
    await completeWorkflowTask((await pollWorkflowTask(queue)).taskToken);
    await handle.signal(addSignal, 'a');
    const task = await pollWorkflowTask(queue);
    await handle.signal(addSignal, 'b');
    const completion = completeWorkflowTask(task.taskToken, [
      {
        commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        completeWorkflowExecutionCommandAttributes: {
          result: { payloads: [defaultPayloadConverter.toPayload(['a'])] },
        },
      },
    ]).then(
      () => 'accepted',
      () => 'rejected',
    );
    expect(await completion).toBe('rejected');
    const history = await handle.fetchHistory();
    const types = eventTypes(history);
    expect(types).not.toContain('WORKFLOW_EXECUTION_COMPLETED');
    expect(types.slice(-3)).toEqual(['WORKFLOW_TASK_FAILED', 'WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED']);
    const failed = history.events?.find((event) => event.workflowTaskFailedEventAttributes);
    expect(failed?.workflowTaskFailedEventAttributes?.cause).toBe(
      temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await workerFor(queue);
    expect(await settle(handle, handle.result())).toEqual(['a', 'b']);
  });

  it('a signal accepted right after the completing signal is never lost by a real worker', async () => {
    for (let round = 0; round < 5; round += 1) {
      const handle = await client().workflow.start(collectSignals, {
        taskQueue,
        workflowId: wfId(`race-${round}`),
        args: [1],
      });
      await eventually('the first workflow task to complete', async () =>
        (await lastEventType(handle)) === 'WORKFLOW_TASK_COMPLETED' ? true : undefined,
      );
      const [first, second] = await Promise.allSettled([
        handle.signal(addSignal, 'first'),
        new Promise((resolve) => setTimeout(resolve, round * 5)).then(() => handle.signal(addSignal, 'second')),
      ]);
      expect(first.status).toBe('fulfilled');
      const result = await settle(handle, handle.result());
      expect(result).toContain('first');
      if (second.status === 'fulfilled') {
        expect(result).toContain('second');
      } else {
        expect((second.reason as Error).name).toBe('WorkflowNotFoundError');
      }
    }
  });

  it('a workflow task on the sticky queue of a vanished worker times out (SCHEDULE_TO_START) and moves to the normal queue', async () => {
    const queue = uniqueId(`sticky-timeout-${mode.cache}`);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('sticky-timeout'),
      args: [1],
    });
    const task = await pollWorkflowTask(queue);
    const sticky = await vanishedStickyWorker(queue);
    await completeWorkflowTask(task.taskToken, [], sticky);
    await handle.signal(addSignal, 'after-crash');
    await workerFor(queue);
    expect(await settle(handle, handle.result())).toEqual(['after-crash']);
    const events = (await handle.fetchHistory()).events ?? [];
    const timedOut = events.findIndex((event) => event.workflowTaskTimedOutEventAttributes);
    expect(timedOut).toBeGreaterThan(0);
    expect(events[timedOut]?.workflowTaskTimedOutEventAttributes?.timeoutType).toBe(
      temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    );
    expect(events[timedOut - 1]?.workflowTaskScheduledEventAttributes?.taskQueue?.name).toBe(
      sticky.workerTaskQueue?.name,
    );
    const rescheduled = events.slice(timedOut).find((event) => event.workflowTaskScheduledEventAttributes);
    expect(rescheduled?.workflowTaskScheduledEventAttributes?.taskQueue?.name).toBe(queue);
    expect(rescheduled?.workflowTaskScheduledEventAttributes?.attempt).toBe(1);
  });

  it('a query for a workflow bound to the sticky queue of a vanished worker falls back to the normal queue', async () => {
    const queue = uniqueId(`sticky-query-${mode.cache}`);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('sticky-query'),
      args: [1],
    });
    const task = await pollWorkflowTask(queue);
    await completeWorkflowTask(task.taskToken, [], await vanishedStickyWorker(queue));
    await workerFor(queue);
    expect(await handle.query(receivedQuery)).toEqual([]);
    await handle.signal(addSignal, 'done');
    expect(await settle(handle, handle.result())).toEqual(['done']);
  });

  it('a workflow task that throws a non-Temporal error is retried and the workflow then completes', async () => {
    const handle = await client().workflow.start(failFirstWorkflowTask, {
      taskQueue,
      workflowId: wfId('wft-failure'),
    });
    expect(await settle(handle, handle.result())).toBe('recovered');
    const history = await handle.fetchHistory();
    const types = eventTypes(history);
    expect(types.filter((type) => type === 'WORKFLOW_TASK_FAILED')).toHaveLength(1);
    const failed = history.events?.find((event) => event.workflowTaskFailedEventAttributes);
    expect(failed?.workflowTaskFailedEventAttributes?.failure?.message).toContain(
      'first workflow task fails on purpose',
    );
    expect(types.at(-1)).toBe('WORKFLOW_EXECUTION_COMPLETED');
  });

  it('retried (transient) workflow task attempts are kept out of history', async () => {
    const handle = await client().workflow.start(failWorkflowTasksFor, {
      taskQueue,
      workflowId: wfId('transient-wft'),
      args: [1_500],
      workflowTaskTimeout: '1 second',
    });
    await settle(handle, handle.result());
    const history = await handle.fetchHistory();
    const types = eventTypes(history);
    expect(types.filter((type) => type === 'WORKFLOW_TASK_FAILED')).toHaveLength(1);
    expect(types).not.toContain('WORKFLOW_TASK_TIMED_OUT');
    const scheduled = (history.events ?? []).filter((event) => event.workflowTaskScheduledEventAttributes);
    expect(scheduled).toHaveLength(2);
    expect(scheduled[1]?.workflowTaskScheduledEventAttributes?.attempt).toBeGreaterThanOrEqual(3);
    expect(Number(history.events?.length)).toBe(8);
  });

  it('a local activity longer than the workflow task timeout completes through workflow task heartbeats', async () => {
    const handle = await client().workflow.start(slowLocalActivity, {
      taskQueue,
      workflowId: wfId('wft-heartbeat'),
      args: [wfId('local-activity'), 2_500],
      workflowTaskTimeout: '1 second',
    });
    expect(await settle(handle, handle.result())).toBe('done');
    const types = eventTypes(await handle.fetchHistory());
    expect(types).not.toContain('WORKFLOW_TASK_TIMED_OUT');
    expect(types).not.toContain('WORKFLOW_TASK_FAILED');
    expect(types.filter((type) => type === 'WORKFLOW_TASK_COMPLETED').length).toBeGreaterThanOrEqual(3);
    expect(types).toContain('MARKER_RECORDED');
  });

  it('after the worker running a workflow shuts down mid-workflow, a new worker picks it up', async () => {
    const queue = uniqueId(`restart-${mode.cache}`);
    const first = await startWorker(server, { taskQueue: queue, workflowBundle, cache: mode });
    extraWorkers.push(first);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('restart'),
      args: [2],
    });
    await handle.signal(addSignal, 'before-restart');
    await eventually('the first worker to process the signal', async () => {
      const types = eventTypes(await handle.fetchHistory());
      return types.includes('WORKFLOW_EXECUTION_SIGNALED') && types.at(-1) === 'WORKFLOW_TASK_COMPLETED'
        ? true
        : undefined;
    });
    await first.stop();
    await handle.signal(addSignal, 'after-restart');
    await workerFor(queue);
    expect(await settle(handle, handle.result())).toEqual(['before-restart', 'after-restart']);
  });

  it('every history recorded above replays without nondeterminism', async () => {
    expect(replay.size).toBeGreaterThan(10);
    expect(await replay.replayFailures(workflowBundle)).toEqual([]);
  });
});
