/**
 * Conformance: the client-facing WorkflowService surface — start and its ID reuse / conflict policies, describe,
 * signal, signal-with-start, terminate, cancel, continue-as-new, run / execution timeouts, history paging and
 * long-poll, visibility list queries, search-attribute and memo upserts. Runs once per worker cache mode.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceEnv, RunningWorker } from './harness';
import {
  bundleConformanceWorkflows,
  CACHE_MODES,
  createServerEnv,
  eventTypes,
  eventually,
  registerPaymentStatusSearchAttribute,
  rejectionOf,
  ReplayCollector,
  startWorker,
  uniqueId,
} from './harness';
import {
  addSignal,
  collectSignals,
  continueAsNewForever,
  countByContinueAsNew,
  echo,
  failWorkflow,
  finishSignal,
  paymentShaped,
  paymentStatusKey,
  receivedQuery,
  sleeper,
  upsertPaymentStatus,
  waitForFinish,
} from './workflows';

let server: ConformanceEnv;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  [server, workflowBundle] = await Promise.all([createServerEnv(), bundleConformanceWorkflows()]);
}, 120_000);

afterAll(async () => {
  await server?.teardown();
});

describe.each(CACHE_MODES)('client API with cache=$cache', (mode) => {
  let worker: RunningWorker;
  const replay = new ReplayCollector();
  const taskQueue = uniqueId(`client-api-${mode.cache}`);
  const client = () => server.env.client;
  const wfId = (name: string) => uniqueId(`${name}-${mode.cache}`);

  beforeAll(async () => {
    worker = await startWorker(server, { taskQueue, workflowBundle, cache: mode });
  });

  afterAll(async () => {
    await worker?.stop();
  });

  /** Awaits the result (or failure) and keeps the history for the replay check. */
  async function settle<T>(handle: WorkflowHandle, result: Promise<T>): Promise<T> {
    try {
      return await result;
    } finally {
      await replay.add(handle);
    }
  }

  it('start returns a run id and describe reports the running execution', async () => {
    const handle = await client().workflow.start(waitForFinish, { taskQueue, workflowId: wfId('describe') });
    expect(handle.firstExecutionRunId).toMatch(/\S+/);
    const description = await handle.describe();
    expect(description).toMatchObject({
      workflowId: handle.workflowId,
      runId: handle.firstExecutionRunId,
      type: 'waitForFinish',
      taskQueue,
      status: { name: 'RUNNING' },
    });
    await handle.signal(finishSignal);
    expect(await settle(handle, handle.result())).toBe('finished');
    const closed = await handle.describe();
    expect(closed.status.name).toBe('COMPLETED');
    expect(closed.closeTime).toBeInstanceOf(Date);
    expect(closed.historyLength).toBe((await handle.fetchHistory()).events?.length);
  });

  it('a workflow that throws an ApplicationFailure closes as FAILED and result() carries the failure', async () => {
    const handle = await client().workflow.start(failWorkflow, {
      taskQueue,
      workflowId: wfId('workflow-failure'),
      args: ['card issuer said no'],
    });
    const err = await rejectionOf(settle(handle, handle.result()));
    expect(err.name).toBe('WorkflowFailedError');
    expect(err.cause).toMatchObject({
      name: 'ApplicationFailure',
      type: 'PaymentRejected',
      message: 'card issuer said no',
    });
    expect((await handle.describe()).status.name).toBe('FAILED');
    expect(eventTypes(await handle.fetchHistory()).at(-1)).toBe('WORKFLOW_EXECUTION_FAILED');
  });

  it('starting an id that is running fails with WorkflowExecutionAlreadyStartedError', async () => {
    const workflowId = wfId('duplicate');
    const handle = await client().workflow.start(waitForFinish, { taskQueue, workflowId });
    const err = await rejectionOf(client().workflow.start(waitForFinish, { taskQueue, workflowId }));
    expect(err.name).toBe('WorkflowExecutionAlreadyStartedError');
    await handle.signal(finishSignal);
    await settle(handle, handle.result());
  });

  it('REJECT_DUPLICATE refuses a new run after the previous run completed', async () => {
    const workflowId = wfId('reject-duplicate');
    const first = await client().workflow.start(echo, { taskQueue, workflowId, args: ['one'] });
    await settle(first, first.result());
    const err = await rejectionOf(
      client().workflow.start(echo, {
        taskQueue,
        workflowId,
        args: ['two'],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    );
    expect(err.name).toBe('WorkflowExecutionAlreadyStartedError');
  });

  it('ALLOW_DUPLICATE_FAILED_ONLY refuses a new run after the previous run completed successfully', async () => {
    const workflowId = wfId('failed-only-completed');
    const first = await client().workflow.start(echo, { taskQueue, workflowId, args: ['one'] });
    await settle(first, first.result());
    const err = await rejectionOf(
      client().workflow.start(echo, {
        taskQueue,
        workflowId,
        args: ['two'],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      }),
    );
    expect(err.name).toBe('WorkflowExecutionAlreadyStartedError');
  });

  it('ALLOW_DUPLICATE_FAILED_ONLY allows a new run after the previous run was terminated', async () => {
    const workflowId = wfId('failed-only-terminated');
    const first = await client().workflow.start(waitForFinish, { taskQueue, workflowId });
    await first.terminate('make room');
    const second = await client().workflow.start(echo, {
      taskQueue,
      workflowId,
      args: ['two'],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    expect(second.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    expect(await settle(second, second.result())).toBe('two');
  });

  it('ALLOW_DUPLICATE starts a new run with a new run id after the previous run completed', async () => {
    const workflowId = wfId('allow-duplicate');
    const first = await client().workflow.start(echo, { taskQueue, workflowId, args: ['one'] });
    await settle(first, first.result());
    const second = await client().workflow.start(echo, {
      taskQueue,
      workflowId,
      args: ['two'],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    expect(second.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    expect(await settle(second, second.result())).toBe('two');
  });

  it('conflict policy USE_EXISTING returns the running execution instead of failing', async () => {
    const workflowId = wfId('use-existing');
    const first = await client().workflow.start(waitForFinish, { taskQueue, workflowId });
    const second = await client().workflow.start(waitForFinish, {
      taskQueue,
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    expect(second.firstExecutionRunId).toBe(first.firstExecutionRunId);
    await first.signal(finishSignal);
    await settle(first, first.result());
  });

  it('conflict policy TERMINATE_EXISTING terminates the running execution and starts a new run', async () => {
    const workflowId = wfId('terminate-existing');
    const first = await client().workflow.start(waitForFinish, { taskQueue, workflowId });
    const second = await client().workflow.start(echo, {
      taskQueue,
      workflowId,
      args: ['replacement'],
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
    });
    expect(second.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    const old = client().workflow.getHandle(workflowId, first.firstExecutionRunId);
    expect((await old.describe()).status.name).toBe('TERMINATED');
    expect(await settle(second, second.result())).toBe('replacement');
  });

  it('signal delivers its argument to the running workflow, in order', async () => {
    const handle = await client().workflow.start(collectSignals, { taskQueue, workflowId: wfId('signal'), args: [2] });
    await handle.signal(addSignal, 'a');
    await handle.signal(addSignal, 'b');
    expect(await settle(handle, handle.result())).toEqual(['a', 'b']);
  });

  it('signalling an unknown workflow id fails with WorkflowNotFoundError', async () => {
    const err = await rejectionOf(client().workflow.getHandle(wfId('nobody')).signal(addSignal, 'x'));
    expect(err.name).toBe('WorkflowNotFoundError');
  });

  it('describing an unknown workflow id fails with WorkflowNotFoundError', async () => {
    const err = await rejectionOf(client().workflow.getHandle(wfId('missing')).describe());
    expect(err.name).toBe('WorkflowNotFoundError');
  });

  it('signalling, terminating or cancelling a closed workflow fails with WorkflowNotFoundError', async () => {
    const handle = await client().workflow.start(echo, { taskQueue, workflowId: wfId('closed'), args: ['done'] });
    await settle(handle, handle.result());
    expect((await rejectionOf(handle.signal(addSignal, 'late'))).name).toBe('WorkflowNotFoundError');
    expect((await rejectionOf(handle.terminate('late'))).name).toBe('WorkflowNotFoundError');
    expect((await rejectionOf(handle.cancel())).name).toBe('WorkflowNotFoundError');
  });

  it('a query to a completed workflow is answered from its final state', async () => {
    const handle = await client().workflow.start(collectSignals, {
      taskQueue,
      workflowId: wfId('query-closed'),
      args: [1],
    });
    await handle.signal(addSignal, 'only');
    await settle(handle, handle.result());
    expect(await handle.query(receivedQuery)).toEqual(['only']);
  });

  it('signalWithStart on a closed workflow id starts a new run that receives the signal', async () => {
    const workflowId = wfId('signal-with-start-closed');
    const first = await client().workflow.start(echo, { taskQueue, workflowId, args: ['first run'] });
    await settle(first, first.result());
    const second = await client().workflow.signalWithStart(collectSignals, {
      taskQueue,
      workflowId,
      args: [1],
      signal: addSignal,
      signalArgs: ['second run'],
    });
    expect(second.signaledRunId).not.toBe(first.firstExecutionRunId);
    expect(await settle(second, second.result())).toEqual(['second run']);
  });

  it('signalWithStart starts the workflow and delivers the signal to it', async () => {
    const handle = await client().workflow.signalWithStart(collectSignals, {
      taskQueue,
      workflowId: wfId('signal-with-start'),
      args: [1],
      signal: addSignal,
      signalArgs: ['first'],
    });
    expect(await settle(handle, handle.result())).toEqual(['first']);
  });

  it('signalWithStart on a running workflow signals the existing run', async () => {
    const workflowId = wfId('signal-with-start-existing');
    const first = await client().workflow.start(collectSignals, { taskQueue, workflowId, args: [2] });
    await first.signal(addSignal, 'a');
    const second = await client().workflow.signalWithStart(collectSignals, {
      taskQueue,
      workflowId,
      args: [2],
      signal: addSignal,
      signalArgs: ['b'],
    });
    expect(second.signaledRunId).toBe(first.firstExecutionRunId);
    expect(await settle(first, first.result())).toEqual(['a', 'b']);
  });

  it('terminate closes the workflow as TERMINATED and result() fails with a TerminatedFailure', async () => {
    const handle = await client().workflow.start(waitForFinish, { taskQueue, workflowId: wfId('terminate') });
    await handle.terminate('operator said so');
    const err = await rejectionOf(settle(handle, handle.result()));
    expect(err.name).toBe('WorkflowFailedError');
    expect(err.cause).toMatchObject({ name: 'TerminatedFailure' });
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  });

  it('a cancel request closes a workflow that does not handle it as CANCELLED', async () => {
    const handle = await client().workflow.start(sleeper, {
      taskQueue,
      workflowId: wfId('cancel'),
      args: ['1 day'],
    });
    await eventually('the timer to start', async () =>
      eventTypes(await handle.fetchHistory()).includes('TIMER_STARTED') ? true : undefined,
    );
    await handle.cancel();
    const err = await rejectionOf(settle(handle, handle.result()));
    expect(err.name).toBe('WorkflowFailedError');
    expect(err.cause).toMatchObject({ name: 'CancelledFailure' });
    const description = await handle.describe();
    expect(description.status.name).toBe('CANCELLED');
    expect(eventTypes(await handle.fetchHistory())).toContain('WORKFLOW_EXECUTION_CANCEL_REQUESTED');
  });

  it('continue-as-new chains runs and result() follows the chain to the last run', async () => {
    const workflowId = wfId('continue-as-new');
    const handle = await client().workflow.start(countByContinueAsNew, { taskQueue, workflowId, args: [0, 3] });
    expect(await handle.result()).toBe(3);
    const firstRun = client().workflow.getHandle(workflowId, handle.firstExecutionRunId);
    expect((await firstRun.describe()).status.name).toBe('CONTINUED_AS_NEW');
    expect(eventTypes(await firstRun.fetchHistory()).at(-1)).toBe('WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    await replay.add(firstRun);
    await replay.add(client().workflow.getHandle(workflowId));
  });

  it('a workflow run timeout closes the run as TIMED_OUT', async () => {
    const handle = await client().workflow.start(sleeper, {
      taskQueue,
      workflowId: wfId('run-timeout'),
      args: ['1 hour'],
      workflowRunTimeout: '1 second',
    });
    const err = await rejectionOf(settle(handle, handle.result()));
    expect(err.name).toBe('WorkflowFailedError');
    expect(err.message).toMatch(/timed out/i);
    expect((await handle.describe()).status.name).toBe('TIMED_OUT');
  });

  it('a workflow execution timeout spans continue-as-new runs and times the chain out', async () => {
    const workflowId = wfId('execution-timeout');
    const handle = await client().workflow.start(continueAsNewForever, {
      taskQueue,
      workflowId,
      args: [200],
      workflowExecutionTimeout: '1500 milliseconds',
    });
    const err = await rejectionOf(handle.result());
    expect(err.name).toBe('WorkflowFailedError');
    expect(err.message).toMatch(/timed out/i);
    const latest = client().workflow.getHandle(workflowId);
    const description = await latest.describe();
    expect(description.status.name).toBe('TIMED_OUT');
    expect(description.runId).not.toBe(handle.firstExecutionRunId);
    await replay.add(latest);
  });

  it('history is served in pages whose concatenation equals the full history', async () => {
    const handle = await client().workflow.start(collectSignals, {
      taskQueue,
      workflowId: wfId('history-paging'),
      args: [6],
    });
    for (const value of ['1', '2', '3', '4', '5', '6']) await handle.signal(addSignal, value);
    expect(await settle(handle, handle.result())).toEqual(['1', '2', '3', '4', '5', '6']);
    const full = (await handle.fetchHistory()).events ?? [];
    const pagedIds: number[] = [];
    let nextPageToken: Uint8Array | undefined;
    let pages = 0;
    do {
      const page = await client().workflowService.getWorkflowExecutionHistory({
        namespace: server.namespace,
        execution: { workflowId: handle.workflowId },
        maximumPageSize: 5,
        nextPageToken,
      });
      pages += 1;
      for (const event of page.history?.events ?? []) pagedIds.push(Number(event.eventId));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
      expect(pages).toBeLessThan(100);
    } while (nextPageToken);
    expect(pages).toBeGreaterThan(1);
    expect(pagedIds).toEqual(full.map((event) => Number(event.eventId)));
    expect(pagedIds).toEqual(full.map((_, index) => index + 1));
  });

  it('a history long-poll with waitNewEvent returns once a new event is written', async () => {
    const handle = await client().workflow.start(collectSignals, {
      taskQueue,
      workflowId: wfId('history-long-poll'),
      args: [1],
    });
    await eventually('the first workflow task to complete', async () =>
      eventTypes(await handle.fetchHistory()).includes('WORKFLOW_TASK_COMPLETED') ? true : undefined,
    );
    const request = { namespace: server.namespace, execution: { workflowId: handle.workflowId }, waitNewEvent: true };
    const first = await client().workflowService.getWorkflowExecutionHistory(request);
    const seen = (first.history?.events ?? []).length;
    expect(seen).toBeGreaterThan(0);
    expect(first.nextPageToken?.length ?? 0).toBeGreaterThan(0);
    const poll = client().workflowService.getWorkflowExecutionHistory({
      ...request,
      nextPageToken: first.nextPageToken,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await handle.signal(addSignal, 'wake');
    const next = await poll;
    const events = next.history?.events ?? [];
    expect(events.length).toBeGreaterThan(0);
    expect(Number(events[0]!.eventId)).toBe(seen + 1);
    expect(eventTypes({ events })).toContain('WORKFLOW_EXECUTION_SIGNALED');
    await settle(handle, handle.result());
  });

  it('a start → activity → timer → signal → complete workflow completes with the activity result', async () => {
    const workflowId = wfId('payment-shaped');
    const handle = await client().workflow.start(paymentShaped, { taskQueue, workflowId, args: [5000] });
    await eventually('the timer to fire', async () =>
      eventTypes(await handle.fetchHistory()).includes('TIMER_FIRED') ? true : undefined,
    );
    await handle.signal(finishSignal);
    expect(await settle(handle, handle.result())).toBe(`authorized 5000 for ${workflowId}`);
    const types = eventTypes(await handle.fetchHistory());
    for (const expected of [
      'ACTIVITY_TASK_SCHEDULED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_COMPLETED',
      'TIMER_STARTED',
      'TIMER_FIRED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]) {
      expect(types).toContain(expected);
    }
  });

  describe('visibility', () => {
    beforeAll(async () => {
      await registerPaymentStatusSearchAttribute(server);
    });

    async function listIds(query: string): Promise<string[]> {
      const ids: string[] = [];
      for await (const execution of client().workflow.list({ query })) ids.push(execution.workflowId);
      return ids;
    }

    it("list with WorkflowType='x' AND ExecutionStatus='Running' returns running executions of that type only", async () => {
      const running = await client().workflow.start(waitForFinish, { taskQueue, workflowId: wfId('list-running') });
      const done = await client().workflow.start(waitForFinish, { taskQueue, workflowId: wfId('list-done') });
      await done.signal(finishSignal);
      await settle(done, done.result());
      const other = await client().workflow.start(collectSignals, {
        taskQueue,
        workflowId: wfId('list-other-type'),
        args: [1],
      });
      const query = "WorkflowType='waitForFinish' AND ExecutionStatus='Running'";
      const ids = await eventually('visibility to list the running execution', async () => {
        const found = await listIds(query);
        return found.includes(running.workflowId) && !found.includes(done.workflowId) ? found : undefined;
      });
      expect(ids).not.toContain(other.workflowId);
      await running.signal(finishSignal);
      await other.signal(addSignal, 'x');
      await settle(running, running.result());
      await settle(other, other.result());
    });

    it("list with a custom keyword search attribute (PaymentStatus='AUTHORIZED') finds workflows that upserted it", async () => {
      const authorized = await client().workflow.start(upsertPaymentStatus, {
        taskQueue,
        workflowId: wfId('list-authorized'),
        args: ['AUTHORIZED'],
      });
      const declined = await client().workflow.start(upsertPaymentStatus, {
        taskQueue,
        workflowId: wfId('list-declined'),
        args: ['DECLINED'],
      });
      const ids = await eventually('visibility to list the AUTHORIZED execution', async () => {
        const found = await listIds("PaymentStatus='AUTHORIZED'");
        return found.includes(authorized.workflowId) ? found : undefined;
      });
      expect(ids).not.toContain(declined.workflowId);
      for (const handle of [authorized, declined]) {
        await handle.signal(finishSignal);
        await settle(handle, handle.result());
      }
    });

    it('count with a visibility query counts the matching executions', async () => {
      const handle = await client().workflow.start(waitForFinish, { taskQueue, workflowId: wfId('count') });
      const query = `WorkflowId='${handle.workflowId}' AND ExecutionStatus='Running'`;
      await eventually('visibility to count the running execution', async () =>
        (await client().workflow.count(query)).count === 1 ? true : undefined,
      );
      await handle.signal(finishSignal);
      await settle(handle, handle.result());
      await eventually('visibility to stop counting it as running', async () =>
        (await client().workflow.count(query)).count === 0 ? true : undefined,
      );
    });

    it('search attributes given at start are listed and shown by describe', async () => {
      const handle = await client().workflow.start(waitForFinish, {
        taskQueue,
        workflowId: wfId('start-search-attributes'),
        typedSearchAttributes: [{ key: paymentStatusKey, value: 'CAPTURED' }],
      });
      expect((await handle.describe()).typedSearchAttributes.get(paymentStatusKey)).toBe('CAPTURED');
      await eventually('visibility to list the CAPTURED execution', async () =>
        (await listIds(`PaymentStatus='CAPTURED' AND WorkflowId='${handle.workflowId}'`)).includes(handle.workflowId)
          ? true
          : undefined,
      );
      await handle.signal(finishSignal);
      await settle(handle, handle.result());
    });

    it('describe shows the search attribute and memo the workflow upserted', async () => {
      const handle = await client().workflow.start(upsertPaymentStatus, {
        taskQueue,
        workflowId: wfId('describe-upserts'),
        args: ['AUTHORIZED'],
        memo: { origin: 'conformance' },
      });
      const description = await eventually('the upserts to be visible', async () => {
        const current = await handle.describe();
        return current.typedSearchAttributes.get(paymentStatusKey) === 'AUTHORIZED' ? current : undefined;
      });
      expect(description.memo).toEqual({ origin: 'conformance', note: 'status is AUTHORIZED' });
      expect(eventTypes(await handle.fetchHistory())).toEqual(
        expect.arrayContaining(['UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', 'WORKFLOW_PROPERTIES_MODIFIED']),
      );
      await handle.signal(finishSignal);
      await settle(handle, handle.result());
    });
  });

  it('the replay check reports a history that the workflow code no longer matches', async () => {
    const handle = await client().workflow.start(echo, { taskQueue, workflowId: wfId('replay-probe'), args: ['x'] });
    await handle.result();
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started).toBeDefined();
    // Same history, other code: collectSignals('x') waits for signals instead of completing at once.
    started!.workflowType = { name: 'collectSignals' };
    const probe = new ReplayCollector();
    probe.addHistory(handle.workflowId, history);
    const failures = await probe.replayFailures(workflowBundle);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/determinism/i);
  });

  it('every history recorded above replays without nondeterminism', async () => {
    expect(replay.size).toBeGreaterThan(10);
    expect(await replay.replayFailures(workflowBundle)).toEqual([]);
  });
});
