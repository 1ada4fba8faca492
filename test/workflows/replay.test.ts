/**
 * The committed histories (`test/fixtures/histories/`, standard history JSON recorded on the dev server by
 * `npm run record:histories`) replay against today's workflow code, so a change that would break running payments
 * fails here first.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { ReplayResult, WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentMetricsSinks } from '../../observability/payment-metrics';
import { findTemporalBinary, installHint } from '../../temporal-server';
import { bundleWorkflows } from '../../worker';
import { PAYMENT_WORKFLOW_TYPE } from '../../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput } from '../../workflows/definitions';
import { PATCH } from '../../workflows/payment';
import { connectSharedServer, installQuietRuntime, sharedTemporalAddress } from '../support/temporal';
import { historyText, REPO_ROOT, secretsFound } from './harness';
import { RENAMED_ACTIVITY } from './renamed-activity-interceptor';
import { SCENARIOS } from './scenarios';

type History = temporal.api.history.v1.IHistory;

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'histories');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function loadFixture(file: string): History {
  return historyFromJSON(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
}

/** The workflow id the history was recorded under (the workflow reads it, so replay must use the same). */
function workflowIdOf(history: History, file: string): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || file;
}

/** Replays `fixtures` with `workflowBundle`; one result per fixture, in order. */
async function replay(workflowBundle: WorkflowBundle, fixtures: readonly string[]): Promise<ReplayResult[]> {
  const histories = fixtures.map((file) => {
    const history = loadFixture(file);
    return { workflowId: workflowIdOf(history, file), history };
  });
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'fixtures' }, histories)) {
    results.push(result);
  }
  return results;
}

/** The `patched()` ids whose markers a history holds. */
function patchIds(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}

let workflowBundle: WorkflowBundle;
beforeAll(async () => {
  installQuietRuntime();
  // The worker's own bundle (with the engine's failure converter), as the fixtures were recorded with.
  workflowBundle = { code: await bundleWorkflows() };
});

describe('committed histories', () => {
  it('include one for every scenario of scenarios.ts (older recordings kept beside them replay too)', () => {
    const missing = Object.keys(SCENARIOS).filter((name) => !files.includes(`${name}.json`));
    expect(missing).toEqual([]);
  });

  it('all replay without non-determinism against the current workflow code', async () => {
    const results = await replay(workflowBundle, files);
    expect(results).toHaveLength(files.length);
    const failures = results.flatMap((r, i) => (r.error ? [`${files[i]}: ${r.error.message}`] : []));
    expect(failures).toEqual([]);
  });

  it('take every patched() branch of the payment workflow', () => {
    const covered = new Set(files.flatMap((file) => patchIds(loadFixture(file))));
    expect([...covered].sort()).toEqual(Object.values(PATCH).sort());
  });

  it.each(files)('%s is standard history JSON, exactly as historyToJSON writes it', (file) => {
    expect(`${historyToJSON(loadFixture(file))}\n`).toBe(readFileSync(path.join(DIR, file), 'utf8'));
  });

  it.each(files)('%s holds no PAN, CVV or OTP', (file) => {
    const text = historyText(loadFixture(file));
    // Decoded payloads: a payment's input, or an idempotency key's request fingerprints.
    expect(text).toContain(file.startsWith('idempotency-key') ? 'fingerprint' : 'merchantOrderReference');
    expect(secretsFound(text)).toEqual([]);
  });
});

describe('a deliberately changed workflow', () => {
  it(`fails to replay a committed history (${RENAMED_ACTIVITY.from} renamed)`, async () => {
    const changed = {
      code: await bundleWorkflows({
        workflowInterceptorModules: [path.join(__dirname, 'renamed-activity-interceptor.ts')],
      }),
    };
    const [result] = await replay(changed, ['otp-preauth-capture.json']);
    expect(result?.error).toBeInstanceOf(DeterminismViolationError);
    expect(result?.error?.message).toMatch(
      new RegExp(`[Nn]ondeterminism.*'${RENAMED_ACTIVITY.from}'.*'${RENAMED_ACTIVITY.to}'`),
    );
  });
});

describe('the format of the fixtures (historyToJSON)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectSharedServer();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('is what `temporal workflow show --output json` prints', async () => {
    const cli = findTemporalBinary('cli');
    if (cli === undefined) throw new Error(`no Temporal CLI to compare with; ${installHint('cli')}`);
    // A payment refused at input validation: a short history, with payloads, search attributes and timestamps.
    const taskQueue = `replay-format-${process.pid}`;
    const workflowId = `replay-format-${process.pid}-${Date.now()}`;
    const input: PaymentWorkflowInput = {
      merchantOrderReference: workflowId,
      amount: { value: 0, currency: 'INR' },
      preAuth: true,
      method: { kind: 'hosted_checkout' },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle,
      sinks: createPaymentMetricsSinks(),
    });
    const handle = await worker.runUntil(async () => {
      const h = await env.client.workflow.start(PAYMENT_WORKFLOW_TYPE, { taskQueue, workflowId, args: [input] });
      expect(((await h.result()) as PaymentState).failure?.code).toBe('INVALID_AMOUNT');
      return h;
    });
    const sdk = historyToJSON(await handle.fetchHistory());
    const { stdout } = await promisify(execFile)(cli.path, [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      sharedTemporalAddress(),
      '--output',
      'json',
    ]);
    // Equal as JSON: the CLI orders map entries (search attributes, payload metadata) its own way.
    expect(JSON.parse(sdk)).toEqual(JSON.parse(stdout));
  });
});
