/**
 * Conformance: the time-skipping TestService — `result()` skips to the next timer, `env.sleep()` moves server time,
 * long retry backoffs and run timeouts are skipped, and timer cancellation. Runs once per worker cache mode.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from './activities';
import type { ConformanceEnv, RunningWorker } from './harness';
import {
  bundleConformanceWorkflows,
  CACHE_MODES,
  createTimeSkippingEnv,
  eventTypes,
  eventually,
  rejectionOf,
  ReplayCollector,
  startWorker,
  uniqueId,
} from './harness';
import { cancelTimer, finishSignal, raceActivityAndTimer, runActivity, signalOrTimeout, sleeper } from './workflows';

const DAY_MS = 24 * 60 * 60 * 1000;

let server: ConformanceEnv;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  // Sequential on purpose: the SDK gives a spawned test server 5 s to listen, and bundling competes for the CPU.
  server = await createTimeSkippingEnv();
  workflowBundle = await bundleConformanceWorkflows();
}, 120_000);

afterAll(async () => {
  await server?.teardown();
});

describe.each(CACHE_MODES)('time skipping with cache=$cache', (mode) => {
  let worker: RunningWorker;
  const journal: Journal = new Map();
  const replay = new ReplayCollector();
  const taskQueue = uniqueId(`time-skipping-${mode.cache}`);
  const client = () => server.env.client;
  const wfId = (name: string) => uniqueId(`${name}-${mode.cache}`);

  beforeAll(async () => {
    worker = await startWorker(server, { taskQueue, workflowBundle, cache: mode, journal });
  });

  afterAll(async () => {
    await worker?.stop();
  });

  async function settle<T>(handle: WorkflowHandle, result: Promise<T>): Promise<T> {
    try {
      return await result;
    } finally {
      await replay.add(handle);
    }
  }

  it('the environment reports that it supports time skipping', () => {
    expect(server.env.supportsTimeSkipping).toBe(true);
  });

  it('result() of a workflow sleeping three days returns once the skipped timer fires', async () => {
    const before = await server.env.currentTimeMs();
    const handle = await client().workflow.start(sleeper, { taskQueue, workflowId: wfId('days'), args: ['3 days'] });
    const { before: wfBefore, after: wfAfter } = await settle(handle, handle.result());
    expect(wfAfter - wfBefore).toBeGreaterThanOrEqual(3 * DAY_MS);
    expect(await server.env.currentTimeMs()).toBeGreaterThanOrEqual(before + 3 * DAY_MS);
  });

  it('env.sleep moves server time forward by the requested duration', async () => {
    const before = await server.env.currentTimeMs();
    await server.env.sleep('1 day');
    expect(await server.env.currentTimeMs()).toBeGreaterThanOrEqual(before + DAY_MS);
  });

  it('env.sleep past a workflow timer fires it without anyone awaiting result()', async () => {
    const handle = await client().workflow.start(sleeper, {
      taskQueue,
      workflowId: wfId('env-sleep'),
      args: ['1 hour'],
    });
    await eventually('the timer to start', async () =>
      eventTypes(await handle.fetchHistory()).includes('TIMER_STARTED') ? true : undefined,
    );
    await server.env.sleep('2 hours');
    await eventually('the workflow to complete after the skipped timer', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    const { before, after } = await settle(handle, handle.result());
    expect(after - before).toBeGreaterThanOrEqual(60 * 60 * 1000);
  });

  it('a cancelled timer is recorded as TIMER_CANCELED and never fires', async () => {
    const handle = await client().workflow.start(cancelTimer, { taskQueue, workflowId: wfId('timer-cancel') });
    expect(await settle(handle, handle.result())).toBe('cancelled');
    const events = (await handle.fetchHistory()).events ?? [];
    const dayTimer = events.find(
      (event) => Number(event.timerStartedEventAttributes?.startToFireTimeout?.seconds ?? 0) === DAY_MS / 1000,
    );
    const timerId = dayTimer?.timerStartedEventAttributes?.timerId;
    expect(timerId).toBeDefined();
    expect(events.filter((event) => event.timerCanceledEventAttributes?.timerId === timerId)).toHaveLength(1);
    expect(events.filter((event) => event.timerFiredEventAttributes?.timerId === timerId)).toHaveLength(0);
  });

  it('an activity retry backoff of one hour is skipped while result() is awaited', async () => {
    const key = wfId('long-backoff');
    const handle = await client().workflow.start(runActivity, {
      taskQueue,
      workflowId: key,
      args: [
        'failTimes',
        { key, failures: 1 },
        { startToCloseTimeout: '10s', retry: { initialInterval: '1 hour', maximumAttempts: 2 } },
      ],
    });
    expect(await settle(handle, handle.result())).toBe(2);
    expect(journal.get(key)?.map((entry) => entry.attempt)).toEqual([1, 2]);
  });

  it('a workflow run timeout of one day fires under time skipping', async () => {
    const handle = await client().workflow.start(sleeper, {
      taskQueue,
      workflowId: wfId('day-run-timeout'),
      args: ['30 days'],
      workflowRunTimeout: '1 day',
    });
    const err = await rejectionOf(settle(handle, handle.result()));
    expect(err.name).toBe('WorkflowFailedError');
    expect((await handle.describe()).status.name).toBe('TIMED_OUT');
  });

  it('a workflow timer fires while an activity moves server time past it with env.sleep', async () => {
    const key = wfId('race');
    const handle = await client().workflow.start(raceActivityAndTimer, {
      taskQueue,
      workflowId: key,
      args: [key, 500_000, 1_000_000],
    });
    expect(await settle(handle, handle.result())).toBe('timer');
    expect(journal.get(key)?.map((entry) => entry.error)).toEqual([undefined]);
  });

  it('signal-or-timeout returns true when the signal beats a one-hour timeout, cancelling the timer', async () => {
    const handle = await client().workflow.start(signalOrTimeout, {
      taskQueue,
      workflowId: wfId('signal-first'),
      args: ['1 hour'],
    });
    await eventually('the timer to start', async () =>
      eventTypes(await handle.fetchHistory()).includes('TIMER_STARTED') ? true : undefined,
    );
    await handle.signal(finishSignal);
    expect(await settle(handle, handle.result())).toBe(true);
    const types = eventTypes(await handle.fetchHistory());
    expect(types).toContain('TIMER_CANCELED');
    expect(types).not.toContain('TIMER_FIRED');
  });

  it('signal-or-timeout returns false once a skipped one-hour timeout passes without a signal', async () => {
    const handle = await client().workflow.start(signalOrTimeout, {
      taskQueue,
      workflowId: wfId('timeout-first'),
      args: ['1 hour'],
    });
    expect(await settle(handle, handle.result())).toBe(false);
    expect(eventTypes(await handle.fetchHistory())).toContain('TIMER_FIRED');
  });

  it('every history recorded above replays without nondeterminism', async () => {
    expect(replay.size).toBeGreaterThan(4);
    expect(await replay.replayFailures(workflowBundle)).toEqual([]);
  });
});
