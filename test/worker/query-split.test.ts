/**
 * A query that reaches a worker holding the payment in its cache, through the normal task queue, while events wait
 * for their workflow task (workflows/task-boundary.ts explains the SDK behaviour). The worker applies the waiting
 * `createPayment` result (the payment created and its OTP generated) to answer the query (AWAITING_OTP); an OTP Update then joins the waiting task. Without the
 * guard the Update is accepted in an activation of its own and the history fails to replay ("Update machine does not
 * handle this event: UpsertWorkflowSearchAttributes", the resilience suite's stuck payment). With it the query is
 * refused and the cached payment dropped, the task replays with the Update refused as any replay sees it (CREATED),
 * a resend is accepted, and the whole history replays.
 *
 * Setting the race up: a workflow-slot supplier gates the worker's polls. With none outstanding, the query (sent just
 * before createPayment completes, when no task is pending, so the server dispatches it directly) waits on the sticky
 * queue for its 1 s timeout and then goes to the normal queue, where one poll is let through; the workflow task,
 * scheduled a little later, waits out its own 1 s on the sticky queue, and the gate holds it until the Update is in.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import type { CustomSlotSupplier, SlotPermit, SlotReserveContext, WorkflowSlotInfo } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { InMemoryCardVault } from '../../card-vault';
import { createLogger } from '../../observability';
import { createPaymentMetricsSinks } from '../../observability/payment-metrics';
import type { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { bundleWorkflows } from '../../worker';
import type { SubmitOtpAnswer } from '../../workflows/definitions';
import {
  getPaymentQuery,
  PAYMENT_WORKFLOW_TYPE,
  paymentWorkflowId,
  submitOtpUpdate,
} from '../../workflows/definitions';
import type { paymentWorkflow } from '../../workflows/payment';
import { connectSharedServer } from '../support/temporal';
import { waitFor } from '../support/wait';
import { CARDS } from '../support/cards';
import { cardInput, CORRECT_OTP, newReference, OTP_TTL_MS, putCard } from '../workflows/harness';
import { pluralClientFor } from '../support/plural';

const EventType = temporal.api.enums.v1.EventType;
const SCHEDULED = temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED;
/** Every Plural call takes this long, so createPayment's completion can be timed. */
const PLURAL_LATENCY_MS = 3_000;
/** The activity whose result the race holds back: the last before AWAITING_OTP, and its Plural calls. */
const LAST_STEP = { activity: 'createPayment', pluralCalls: 2, completedBefore: 2 } as const;
/** The query is sent this long before createPayment is due to complete. */
const QUERY_LEAD_MS = 400;

let env: TestWorkflowEnvironment;
let sandbox: RunningSandbox;
let plural: PluralClient;
let vault: InMemoryCardVault;
let code: string;

beforeAll(async () => {
  env = await connectSharedServer();
  sandbox = await startSandbox({ seed: 5, otp: { correctOtp: CORRECT_OTP, resendAfterSeconds: 600 } });
  plural = pluralClientFor(sandbox, 10_000);
  vault = new InMemoryCardVault();
  code = await bundleWorkflows({
    workflowsPath: path.resolve(__dirname, 'fixtures/idle-workflows.ts'),
    // Failure messages in the clear (no payload codec here), so the refused query says why.
    failureConverterPath: undefined,
  });
}, 120_000);

afterAll(async () => {
  vault?.close();
  await plural?.close();
  await sandbox?.stop();
  await env?.teardown();
});

/** Workflow slots on demand: polls of each kind (sticky, normal) wait until the test allows them. */
class PollGate implements CustomSlotSupplier<WorkflowSlotInfo> {
  readonly type = 'custom' as const;
  private readonly allowed = { sticky: Infinity, normal: Infinity };
  private readonly reserved = { sticky: 0, normal: 0 };
  private readonly used = { sticky: 0, normal: 0 };
  private waiting: (() => void)[] = [];

  async reserveSlot(ctx: SlotReserveContext): Promise<SlotPermit> {
    const kind = ctx.isSticky ? 'sticky' : 'normal';
    while (this.allowed[kind] <= 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.allowed[kind] -= 1;
    this.reserved[kind] += 1;
    return {};
  }
  tryReserveSlot(): SlotPermit | null {
    return null;
  }
  markSlotUsed(ctx: { slotInfo: WorkflowSlotInfo }): void {
    this.used[ctx.slotInfo.isSticky ? 'sticky' : 'normal'] += 1;
  }
  releaseSlot(): void {}

  /** Polls reserved and still waiting for a task. */
  outstanding(kind: 'sticky' | 'normal'): number {
    return this.reserved[kind] - this.used[kind];
  }
  allow(sticky: number, normal: number): void {
    this.allowed.sticky = sticky;
    this.allowed.normal = normal;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The SDK's bundler reports at INFO; the test's output needs none of it. */
const silentBundleLogger = new DefaultLogger('WARN');

/** The race of the module comment, set up on a worker running `bundle`; ends with the query's outcome. */
interface Race {
  handle: WorkflowHandle<typeof paymentWorkflow>;
  /** What the query got: `answered <status>`, or the message it was refused with. */
  queryOutcome: string;
  gate: PollGate;
  events: () => Promise<temporal.api.history.v1.IHistoryEvent[]>;
  sendOtp: (updateId: string) => Promise<SubmitOtpAnswer>;
  /** Terminates the workflows and stops both workers. */
  end: () => Promise<void>;
}

async function raceQueryBeforeTask(bundle: string): Promise<Race> {
  const taskQueue = `query-split-${randomUUID()}`;
  const activityWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities: createActivities({ plural, vault, logger: createLogger({ level: 'silent' }) }),
  });
  const activitiesRunning = activityWorker.run();
  const gate = new PollGate();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { code: bundle },
    maxCachedWorkflows: 100,
    maxConcurrentWorkflowTaskPolls: 2,
    stickyQueueScheduleToStartTimeout: '1s',
    sinks: createPaymentMetricsSinks(),
    tuner: {
      workflowTaskSlotSupplier: gate,
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    },
  });
  const workerRunning = worker.run();
  const handles: WorkflowHandle[] = [];
  const end = async (): Promise<void> => {
    sandbox.setFaults({ latencyMs: 0 });
    gate.allow(Infinity, Infinity);
    for (const h of handles) await h.terminate('test over').catch(() => undefined);
    worker.shutdown();
    await workerRunning;
    activityWorker.shutdown();
    await activitiesRunning;
  };
  try {
    const idle = await env.client.workflow.start('idleWorkflow', { taskQueue, workflowId: `idle-${randomUUID()}` });
    handles.push(idle);
    sandbox.setFaults({ latencyMs: PLURAL_LATENCY_MS });
    const ref = newReference('order');
    const handle = await env.client.workflow.start<typeof paymentWorkflow>(PAYMENT_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: paymentWorkflowId(ref),
      args: [
        cardInput(ref, await putCard(vault, CARDS.nativeOtp), { durations: { reconcileInitialDelayMs: 1_800_000 } }),
      ],
    });
    handles.push(handle);
    const events = async () => (await handle.fetchHistory()).events ?? [];
    const lastStep = await waitFor(
      `${LAST_STEP.activity} scheduled`,
      async () =>
        (await events()).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === LAST_STEP.activity),
      { timeoutMs: 60_000 },
    );
    // No more polls; use up the outstanding ones: a poke (sticky queue), a new workflow (normal queue).
    gate.allow(0, 0);
    for (let i = 0; i < 40 && gate.outstanding('sticky') > 0; i++) {
      await idle.signal('poke');
      await sleep(150);
    }
    for (let i = 0; i < 40 && gate.outstanding('normal') > 0; i++) {
      handles.push(await env.client.workflow.start('idleWorkflow', { taskQueue, workflowId: `idle-${randomUUID()}` }));
      await sleep(150);
    }
    expect([gate.outstanding('sticky'), gate.outstanding('normal')]).toEqual([0, 0]);
    gate.allow(0, 1);
    const scheduledAt =
      Number(lastStep.eventTime?.seconds ?? 0) * 1_000 + Math.floor((lastStep.eventTime?.nanos ?? 0) / 1e6);
    await sleep(Math.max(0, scheduledAt + LAST_STEP.pluralCalls * PLURAL_LATENCY_MS - QUERY_LEAD_MS - Date.now()));
    const query = handle.query(getPaymentQuery);
    await waitFor(
      `${LAST_STEP.activity} completed`,
      async () =>
        (await events()).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).length >=
          LAST_STEP.completedBefore || undefined,
      { timeoutMs: 30_000 },
    );
    sandbox.setFaults({ latencyMs: 0 });
    const queryOutcome = await query.then(
      (state) => `answered ${state.status}`,
      (err: Error) => err.message,
    );
    const sendOtp = async (updateId: string) =>
      handle.executeUpdate(submitOtpUpdate, {
        args: [{ otpHandle: await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS) }],
        updateId,
      });
    return { handle, queryOutcome, gate, events, sendOtp, end };
  } catch (err) {
    await end();
    throw err;
  }
}

describe('a query that applies waiting events outside a workflow task, then an Update in that task', () => {
  it('refuses the query instead, so the task replays and the history written replays', async () => {
    const race = await raceQueryBeforeTask(code);
    try {
      const { handle, gate, events, sendOtp } = race;
      // The race is set up: the worker, asked before createPayment's task ran, refuses to apply its result to answer.
      expect(race.queryOutcome).toMatch(/outside a workflow task/);
      expect((await handle.describe()).raw.pendingWorkflowTask?.state).toBe(SCHEDULED);

      const first = sendOtp('otp-joins-the-waiting-task');
      first.catch(() => undefined);
      await sleep(500);
      gate.allow(Infinity, Infinity);
      // The task replays: createPayment's result and the Update arrive together, the Update first, as on any replay.
      await expect(first).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/is CREATED, not AWAITING_OTP/) },
      });
      // Sent again, the OTP is accepted in a task of its own; the history has no failed task and replays.
      await expect(sendOtp('otp-sent-again')).resolves.toMatchObject({ outcome: 'ACCEPTED' });
      expect((await events()).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)).toEqual([]);
      await Worker.runReplayHistory({ workflowBundle: { code } }, await handle.fetchHistory(), handle.workflowId);
    } finally {
      await race.end();
    }
  }, 120_000);

  // The SDK's behaviour the guard exists for, shown on a bundle without it. When this test fails, the SDK no longer
  // applies events outside a workflow task (or writes them in replay's order): read its changelog, then retire
  // workflows/task-boundary.ts and this test together. The report for the SDK: docs/upstream/sdk-core-query-outside-task.md.
  it('without the guard: the query moves the cached payment, the Update is accepted, and the history does not replay', async () => {
    const unguarded = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, 'fixtures/idle-workflows.ts'),
      logger: silentBundleLogger,
    });
    const race = await raceQueryBeforeTask(unguarded.code);
    try {
      const { handle, gate, sendOtp } = race;
      // The worker applied createPayment's result, waiting for its workflow task, to answer the query.
      expect(race.queryOutcome).toBe('answered AWAITING_OTP');
      expect((await handle.describe()).raw.pendingWorkflowTask?.state).toBe(SCHEDULED);

      const first = sendOtp('otp-joins-the-waiting-task');
      first.catch(() => undefined);
      await sleep(500);
      gate.allow(Infinity, Infinity);
      await expect(first).resolves.toMatchObject({ outcome: 'ACCEPTED' });
      // The history records the Update after createPayment's effects; a replay delivers both in one activation, the
      // Update first, and refuses it.
      await expect(
        Worker.runReplayHistory({ workflowBundle: unguarded }, await handle.fetchHistory(), handle.workflowId),
      ).rejects.toThrow(/Update machine does not handle this event/);
    } finally {
      await race.end();
    }
  }, 120_000);
});
