/**
 * Conformance: queries issued around a run's last workflow task must always get their answer — when that task is
 * rejected with UNHANDLED_COMMAND (a signal arrived while it was in flight) and replayed, and when the run completes
 * in the task the query waited for (the answer then comes from a query task against the closed run). Every query runs
 * under a call deadline far below the API's 10 s, so a query left pending fails the test instead of hanging it.
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
  ReplayCollector,
  startWorker,
  uniqueId,
} from './harness';
import { addSignal, busyLastTask, collectSignals, receivedQuery } from './workflows';

let server: ConformanceEnv;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  [server, workflowBundle] = await Promise.all([createServerEnv(), bundleConformanceWorkflows()]);
}, 120_000);

afterAll(async () => {
  await server?.teardown();
});

const { CommandType, TaskQueueKind } = temporal.api.enums.v1;

/** Deadline of every query in this file: well below the API's 10 s call deadline. */
const QUERY_DEADLINE_MS = 6_000;

async function pollWorkflowTask(taskQueue: string) {
  const task = await server.env.client.workflowService.pollWorkflowTaskQueue({
    namespace: server.namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    identity: 'conformance-manual-poller',
  });
  expect(task.taskToken?.length ?? 0).toBeGreaterThan(0);
  return task;
}

function completeWorkflowTask(taskToken: Uint8Array, commands: temporal.api.command.v1.ICommand[] = []): Promise<void> {
  return server.env.client.workflowService
    .respondWorkflowTaskCompleted({
      namespace: server.namespace,
      taskToken,
      identity: 'conformance-manual-poller',
      commands,
    })
    .then(() => undefined);
}

function completeCommand(result: string[]): temporal.api.command.v1.ICommand {
  return {
    commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    completeWorkflowExecutionCommandAttributes: {
      result: { payloads: [defaultPayloadConverter.toPayload(result)] },
    },
  };
}

/** Queries `received` under the file's call deadline. */
function queryWithDeadline(handle: WorkflowHandle): Promise<string[]> {
  return server.env.client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(receivedQuery));
}

/** Settles to the answer, or to the error's name and message, so a test can assert on either. */
function outcomeOf<T>(promise: Promise<T>): Promise<{ answer: T } | { error: string }> {
  return promise.then(
    (answer) => ({ answer }),
    (err: Error) => ({ error: `${err.name}: ${err.message}` }),
  );
}

describe.each(CACHE_MODES)('queries around completion with cache=$cache', (mode: CacheMode) => {
  const replay = new ReplayCollector();
  const workers: RunningWorker[] = [];
  const client = () => server.env.client;
  const wfId = (name: string) => uniqueId(`${name}-${mode.cache}`);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });

  async function workerFor(queue: string): Promise<RunningWorker> {
    const worker = await startWorker(server, { taskQueue: queue, workflowBundle, cache: mode });
    workers.push(worker);
    return worker;
  }

  async function settle<T>(handle: WorkflowHandle, result: Promise<T>): Promise<T> {
    try {
      return await result;
    } finally {
      await replay.add(handle);
    }
  }

  /** Starts collectSignals(1) on a private queue and completes its first task by hand (the run then waits). */
  async function startWaiting(name: string): Promise<{ queue: string; handle: WorkflowHandle<typeof collectSignals> }> {
    const queue = uniqueId(`${name}-${mode.cache}`);
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId(name),
      args: [1],
    });
    await completeWorkflowTask((await pollWorkflowTask(queue)).taskToken);
    return { queue, handle };
  }

  it('a query held for a last task rejected with UNHANDLED_COMMAND is answered by the replayed task', async () => {
    const { queue, handle } = await startWaiting('unhandled-query');
    await handle.signal(addSignal, 'a');
    const task = await pollWorkflowTask(queue);
    const answer = outcomeOf(queryWithDeadline(handle));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await handle.signal(addSignal, 'b');
    const completion = await completeWorkflowTask(task.taskToken, [completeCommand(['a'])]).then(
      () => 'accepted',
      () => 'rejected',
    );
    expect(completion).toBe('rejected');
    await workerFor(queue);
    expect(await answer).toEqual({ answer: ['a', 'b'] });
    expect(await settle(handle, handle.result())).toEqual(['a', 'b']);
  });

  it('a query held for a last task that completes the run is answered by a query task against the closed run', async () => {
    const { queue, handle } = await startWaiting('closing-query');
    await handle.signal(addSignal, 'a');
    const task = await pollWorkflowTask(queue);
    const answer = outcomeOf(queryWithDeadline(handle));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await completeWorkflowTask(task.taskToken, [completeCommand(['a'])]);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    await workerFor(queue);
    expect(await answer).toEqual({ answer: ['a'] });
    expect(await settle(handle, handle.result())).toEqual(['a']);
  });

  it('a query issued right after a rejected last task is answered once the run completes', async () => {
    const { queue, handle } = await startWaiting('after-unhandled-query');
    await handle.signal(addSignal, 'a');
    const task = await pollWorkflowTask(queue);
    await handle.signal(addSignal, 'b');
    await expect(completeWorkflowTask(task.taskToken, [completeCommand(['a'])])).rejects.toThrow(/UnhandledCommand/);
    const answer = outcomeOf(queryWithDeadline(handle));
    await workerFor(queue);
    expect(await answer).toEqual({ answer: ['a', 'b'] });
    expect(await settle(handle, handle.result())).toEqual(['a', 'b']);
  });

  it('a query answer given in a completion rejected with UNHANDLED_COMMAND reaches the caller', async () => {
    const { queue, handle } = await startWaiting('answer-in-rejected');
    await handle.signal(addSignal, 'a');
    const answer = outcomeOf(queryWithDeadline(handle));
    // Let the query reach the server while the task is still only scheduled, so it rides on that task.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const task = await pollWorkflowTask(queue);
    const queryIds = Object.keys(task.queries ?? {});
    expect(queryIds).toHaveLength(1);
    await handle.signal(addSignal, 'b');
    const rejected = server.env.client.workflowService.respondWorkflowTaskCompleted({
      namespace: server.namespace,
      taskToken: task.taskToken,
      identity: 'conformance-manual-poller',
      commands: [completeCommand(['a'])],
      queryResults: {
        [queryIds[0] ?? '']: {
          resultType: temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
          answer: { payloads: [defaultPayloadConverter.toPayload(['answered-by-hand'])] },
        },
      },
    });
    await expect(rejected).rejects.toThrow(/UnhandledCommand/);
    expect(await answer).toEqual({ answer: ['answered-by-hand'] });
    await workerFor(queue);
    expect(await settle(handle, handle.result())).toEqual(['a', 'b']);
  });

  it('a legacy query taken by a sticky worker whose last task is then rejected is answered from the normal queue', async () => {
    const queue = uniqueId(`sticky-dropped-${mode.cache}`);
    const sticky = { name: uniqueId('manual-sticky'), kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: queue };
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('sticky-dropped'),
      args: [1],
    });
    const first = await pollWorkflowTask(queue);
    await server.env.client.workflowService.respondWorkflowTaskCompleted({
      namespace: server.namespace,
      taskToken: first.taskToken,
      identity: 'conformance-manual-poller',
      commands: [],
      // Long enough that only the rejected task, not the sticky fallback, can bring the query back in time.
      stickyAttributes: { workerTaskQueue: sticky, scheduleToStartTimeout: msToTs(30_000) },
    });
    const answer = outcomeOf(queryWithDeadline(handle));
    const pollSticky = () =>
      server.env.client.workflowService.pollWorkflowTaskQueue({
        namespace: server.namespace,
        taskQueue: sticky,
        identity: 'conformance-manual-sticky-worker',
      });
    // The sticky worker takes the query task and never answers it (core drops query tasks of a run it evicts).
    const queryTask = await pollSticky();
    expect(queryTask.query?.queryType).toBe('received');
    await handle.signal(addSignal, 'a');
    const last = await pollSticky();
    expect(last.query).toBeFalsy();
    await handle.signal(addSignal, 'b');
    await expect(completeWorkflowTask(last.taskToken, [completeCommand(['a'])])).rejects.toThrow(/UnhandledCommand/);
    await workerFor(queue);
    const outcome = await answer;
    expect(outcome).not.toHaveProperty('error');
    expect(await settle(handle, handle.result())).toEqual(['a', 'b']);
  });

  it('a legacy query a sticky worker took and never answered goes to the normal queue after the sticky timeout', async () => {
    const queue = uniqueId(`sticky-unanswered-${mode.cache}`);
    const sticky = { name: uniqueId('manual-sticky'), kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: queue };
    const handle = await client().workflow.start(collectSignals, {
      taskQueue: queue,
      workflowId: wfId('sticky-unanswered'),
      args: [1],
    });
    const first = await pollWorkflowTask(queue);
    await server.env.client.workflowService.respondWorkflowTaskCompleted({
      namespace: server.namespace,
      taskToken: first.taskToken,
      identity: 'conformance-manual-poller',
      commands: [],
      stickyAttributes: { workerTaskQueue: sticky, scheduleToStartTimeout: msToTs(1_000) },
    });
    const answer = outcomeOf(queryWithDeadline(handle));
    const queryTask = await server.env.client.workflowService.pollWorkflowTaskQueue({
      namespace: server.namespace,
      taskQueue: sticky,
      identity: 'conformance-manual-sticky-worker',
    });
    expect(queryTask.query?.queryType).toBe('received');
    await workerFor(queue);
    expect(await answer).toEqual({ answer: [] });
    await handle.signal(addSignal, 'done');
    expect(await settle(handle, handle.result())).toEqual(['done']);
  });

  it('a legacy query task a worker took and never answered is offered again, against the closed run', async () => {
    const { queue, handle } = await startWaiting('legacy-unanswered');
    await handle.signal(addSignal, 'a');
    await completeWorkflowTask((await pollWorkflowTask(queue)).taskToken, [completeCommand(['a'])]);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const answer = outcomeOf(queryWithDeadline(handle));
    // This "worker" takes the query task and drops it, as core does with query tasks of a run it evicts.
    const dropped = await pollWorkflowTask(queue);
    expect(dropped.query?.queryType).toBe('received');
    await workerFor(queue);
    expect(await answer).toEqual({ answer: ['a'] });
    await settle(handle, handle.result());
  });

  it('a query held while a real worker runs the last task, which a signal then gets rejected, is answered', async () => {
    const queue = uniqueId(`busy-last-${mode.cache}`);
    await workerFor(queue);
    const handle = await client().workflow.start(busyLastTask, {
      taskQueue: queue,
      workflowId: wfId('busy-last'),
      args: [wfId('busy-last-la'), 1, 1_500],
    });
    await eventually('the first workflow task to complete', async () =>
      eventTypes(await handle.fetchHistory()).at(-1) === 'WORKFLOW_TASK_COMPLETED' ? true : undefined,
    );
    await handle.signal(addSignal, 'a');
    await eventually('the last workflow task to be in flight', async () =>
      eventTypes(await handle.fetchHistory()).at(-1) === 'WORKFLOW_TASK_STARTED' ? true : undefined,
    );
    const held = outcomeOf(queryWithDeadline(handle));
    await handle.signal(addSignal, 'b');
    const later = outcomeOf(queryWithDeadline(handle));
    expect(await held).toEqual({ answer: ['a', 'b'] });
    expect(await later).toEqual({ answer: ['a', 'b'] });
    expect(await settle(handle, handle.result())).toEqual(['a', 'b']);
    expect(eventTypes(await handle.fetchHistory())).toContain('WORKFLOW_TASK_FAILED');
  });

  it('queries racing signals that complete the run with a real worker are all answered', async () => {
    const queue = uniqueId(`race-query-${mode.cache}`);
    await workerFor(queue);
    for (let round = 0; round < 8; round += 1) {
      const handle = await client().workflow.start(collectSignals, {
        taskQueue: queue,
        workflowId: wfId(`race-query-${round}`),
        args: [1],
      });
      await eventually('the first workflow task to complete', async () =>
        eventTypes(await handle.fetchHistory()).at(-1) === 'WORKFLOW_TASK_COMPLETED' ? true : undefined,
      );
      const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const [first, query, second] = await Promise.all([
        outcomeOf(handle.signal(addSignal, 'first')),
        delay(round % 4).then(() => outcomeOf(queryWithDeadline(handle))),
        delay(round * 2).then(() => outcomeOf(handle.signal(addSignal, 'second'))),
      ]);
      expect(first).toEqual({ answer: undefined });
      const result = await settle(handle, handle.result());
      expect(result[0]).toBe('first');
      if ('error' in second) expect(second.error).toMatch(/^WorkflowNotFoundError/);
      // The query is answered (with the state before or after the signals), never left to its deadline.
      expect(query).not.toHaveProperty('error');
      if ('answer' in query) expect(result.slice(0, query.answer.length)).toEqual(query.answer);
    }
  });

  it('every history recorded above replays without nondeterminism', async () => {
    expect(replay.size).toBeGreaterThanOrEqual(16);
    expect(await replay.replayFailures(workflowBundle)).toEqual([]);
  });
});
