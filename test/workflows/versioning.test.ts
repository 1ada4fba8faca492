/**
 * The worked example of workflows/README.md, "Replay safety": how a change to a workflow's commands stays
 * replay-safe with `patched()`. A small example workflow (`versioning/`, one name in every version) runs v1 on the
 * run's shared dev server; its history then replays on v2 (the new step behind `patched()`), and fails on a v2 that
 * adds the step unguarded. A run v2 started records the patch marker and replays on v3, which deprecates the patch.
 */
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSharedServer } from '../support/temporal';
import * as activities from './versioning/activities';
import { EXAMPLE_PATCH } from './versioning/patches';

type History = temporal.api.history.v1.IHistory;
type Version = 'v1' | 'v2' | 'v2-unpatched' | 'v3';

const WORKFLOW_TYPE = 'exampleWorkflow';
const bundles = new Map<Version, WorkflowBundle>();
let env: TestWorkflowEnvironment;

/** Each version bundled once for the file (recording and replays share it). */
async function bundleOf(version: Version): Promise<WorkflowBundle> {
  let bundle = bundles.get(version);
  if (!bundle) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'versioning', `${version}.ts`),
      logger: new DefaultLogger('ERROR'),
    });
    bundle = { code };
    bundles.set(version, bundle);
  }
  return bundle;
}

/** Runs the example on `version` to completion, as a worker of that build would; returns its result and history. */
async function record(version: Version): Promise<{ result: string[]; history: History }> {
  const taskQueue = `versioning-${version}-${process.pid}-${Date.now()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await bundleOf(version),
    activities,
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue,
      workflowId: `versioning-example-${version}-${process.pid}-${Date.now()}`,
      args: ['order-42'],
    });
    const result = (await handle.result()) as string[];
    return { result, history: await handle.fetchHistory() };
  });
}

/** Replays `history` on `version`; the error replay raised, if any. */
async function replayOn(version: Version, history: History): Promise<Error | undefined> {
  try {
    await Worker.runReplayHistory({ workflowBundle: await bundleOf(version), replayName: version }, history);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** The activity types a history scheduled, in order. */
function scheduledActivities(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

/** Whether the history holds the `patched()` marker of `patchId`. */
function hasPatchMarker(history: History, patchId: string): boolean {
  return (history.events ?? []).some((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data !== undefined && data !== null && Buffer.from(data).toString('utf8').includes(`"${patchId}"`);
  });
}

beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(async () => {
  await env?.teardown();
});

describe('a change behind patched() (worked example)', () => {
  let v1: { result: string[]; history: History };
  beforeAll(async () => {
    v1 = await record('v1');
  }, 60_000);

  it('v1 charges and sends the receipt, with no patch marker', () => {
    expect(v1.result).toEqual(['charged order-42', 'receipt for order-42']);
    expect(scheduledActivities(v1.history)).toEqual(['charge', 'sendReceipt']);
    expect(hasPatchMarker(v1.history, EXAMPLE_PATCH.EXTRA_STEP)).toBe(false);
  });

  it('v2, its new step behind patched(), replays the history v1 recorded', async () => {
    expect(await replayOn('v2', v1.history)).toBeUndefined();
  });

  it('v2 without the patched() guard fails to replay it with DeterminismViolationError', async () => {
    const error = await replayOn('v2-unpatched', v1.history);
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect(error?.message).toMatch(/Nondeterminism.*scheduled event 'sendReceipt'.*activity command 'checkFraud'/);
  });

  it('v3 (patch deprecated, old branch gone) cannot replay v1 either: deploy it only once no v1 run is left', async () => {
    expect(await replayOn('v3', v1.history)).toBeInstanceOf(DeterminismViolationError);
  });

  describe('a run started on v2', () => {
    let v2: { result: string[]; history: History };
    beforeAll(async () => {
      v2 = await record('v2');
    }, 60_000);

    it('takes the new step and records the patch marker', () => {
      expect(v2.result).toEqual(['charged order-42', 'checked order-42', 'receipt for order-42']);
      expect(scheduledActivities(v2.history)).toEqual(['charge', 'checkFraud', 'sendReceipt']);
      expect(hasPatchMarker(v2.history, EXAMPLE_PATCH.EXTRA_STEP)).toBe(true);
    });

    it('replays on v2 and on v3, which deprecates the patch', async () => {
      expect(await replayOn('v2', v2.history)).toBeUndefined();
      expect(await replayOn('v3', v2.history)).toBeUndefined();
    });
  });
});
