/**
 * The payment's Updates on the real dev server (the run's shared one), with the worker's own bundle and activities
 * against the Plural sandbox: a request a validator refuses reaches the client as a `WorkflowUpdateFailedError` whose
 * cause carries the `UPDATE_REJECTION` type, and leaves the history exactly as it was (the server drops the
 * speculative workflow task that ran the validator); a request the validator lets through is written as
 * `WorkflowExecutionUpdateAccepted` and `…Completed`. The time-skipping test server records the validator's workflow
 * task, so only the dev server can show the "nothing written" half.
 */
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryCardVault } from '../../card-vault';
import { createLogger } from '../../observability';
import type { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { bundleWorkflows, createPaymentWorker } from '../../worker';
import {
  captureUpdate,
  getPaymentQuery,
  openPaymentUpdate,
  PAYMENT_WORKFLOW_TYPE,
  paymentWorkflowId,
  resendOtpUpdate,
  submitOtpUpdate,
  UPDATE_REJECTION,
} from '../../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput, UpdateRejection } from '../../workflows/definitions';
import type { paymentWorkflow } from '../../workflows/payment';
import { waitForPaymentStatus } from '../support/payment-state';
import { connectSharedServer } from '../support/temporal';
import { waitFor } from '../support/wait';
import { CARDS } from '../support/cards';
import { cardInput, CORRECT_OTP, newReference, OTP_TTL_MS, putCard } from '../workflows/harness';
import { pluralClientFor } from '../support/plural';

type PaymentHandle = WorkflowHandle<typeof paymentWorkflow>;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

/** The sandbox's resend window: far longer than the test, so a resend is always too early. */
const RESEND_AFTER_S = 600;

let env: TestWorkflowEnvironment;
let sandbox: RunningSandbox;
let plural: PluralClient;
let vault: InMemoryCardVault;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `updates-${randomUUID()}`;
const started: PaymentHandle[] = [];

beforeAll(async () => {
  env = await connectSharedServer();
  sandbox = await startSandbox({ seed: 17, otp: { correctOtp: CORRECT_OTP, resendAfterSeconds: RESEND_AFTER_S } });
  plural = pluralClientFor(sandbox, 5_000);
  vault = new InMemoryCardVault();
  worker = await createPaymentWorker({
    connection: env.nativeConnection,
    taskQueue,
    plural,
    vault,
    logger: createLogger({ level: 'silent' }),
    // The worker's own bundle (with the engine's failure converter), as production runs it.
    workflowBundle: { code: await bundleWorkflows() },
    shutdownGraceMs: 1_000,
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  await Promise.all(
    started.map(async (handle) => {
      if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('test over');
    }),
  );
  if (worker) {
    worker.shutdown();
    await running;
  }
  vault?.close();
  await plural?.close();
  await sandbox?.stop();
  await env?.teardown();
});

/** A pre-auth card payment on the worker's queue, with durations that keep the workflow idle while a test acts. */
function otpInput(ref: string, cardHandle: string, extra: Partial<PaymentWorkflowInput> = {}): PaymentWorkflowInput {
  // No reconciliation timer fires during the test: the history changes only through the Updates sent.
  return cardInput(ref, cardHandle, { durations: { reconcileInitialDelayMs: 30 * 60_000 }, ...extra });
}

async function startOtpPayment(): Promise<{ handle: PaymentHandle; state: PaymentState }> {
  const ref = newReference('upd');
  const handle = await env.client.workflow.start<typeof paymentWorkflow>(PAYMENT_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: paymentWorkflowId(ref),
    args: [otpInput(ref, await putCard(vault, CARDS.nativeOtp))],
  });
  started.push(handle);
  const state = await waitForPaymentStatus(handle, 'AWAITING_OTP', { timeoutMs: 20_000 });
  return { handle, state };
}

/** An OTP payment authorized through an accepted `submitOtp` Update. */
async function authorizedPayment(): Promise<{ handle: PaymentHandle; state: PaymentState }> {
  const { handle } = await startOtpPayment();
  const otpHandle = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
  const answer = await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle }], updateId: 'otp-1' });
  expect(answer).toMatchObject({ outcome: 'ACCEPTED', state: { status: 'AUTHORIZED' } });
  return { handle, state: answer.state };
}

/**
 * The history once the workflow waits: no workflow task or activity pending, and the history unchanged over two
 * reads (the query that saw the state can answer before that task's commands are written).
 */
function idleHistory(handle: PaymentHandle): Promise<HistoryEvent[]> {
  let previous = -1;
  return waitFor(
    `workflow ${handle.workflowId} to settle`,
    async () => {
      const { raw } = await handle.describe();
      const busy = Boolean(raw.pendingWorkflowTask) || (raw.pendingActivities?.length ?? 0) > 0;
      const events = (await handle.fetchHistory()).events ?? [];
      if (!busy && events.length === previous) return events;
      previous = busy ? -1 : events.length;
      return undefined;
    },
    {
      timeoutMs: 10_000,
      intervalMs: 200,
      describeLast: () => (previous < 0 ? 'last seen busy' : `last seen idle with ${previous} events`),
    },
  );
}

/** The failure of an Update the client saw: must be `WorkflowUpdateFailedError` over an `ApplicationFailure`. */
async function refusal(update: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await update.then(
    () => {
      throw new Error('expected the Update to be refused, but it was accepted');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/**
 * Sends the Update `updateId` through `send`, expects the validator's refusal of `type`, and checks the history
 * gained nothing: the same events up to the same last event id, none of them about this Update.
 */
async function expectRefusedWithoutHistory(
  handle: PaymentHandle,
  type: UpdateRejection,
  updateId: string,
  send: (updateId: string) => Promise<unknown>,
): Promise<ApplicationFailure> {
  const before = await idleHistory(handle);
  const failure = await refusal(send(updateId));
  expect(failure.type).toBe(type);
  const after = (await handle.fetchHistory()).events ?? [];
  expect(after).toHaveLength(before.length);
  expect(String(after.at(-1)?.eventId)).toBe(String(before.at(-1)?.eventId));
  expect(updateEventsOf(after, updateId)).toEqual([]);
  expect(after.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED)).toEqual([]);
  return failure;
}

/** The Update events a history holds for `updateId`, by type. */
function updateEventsOf(events: readonly HistoryEvent[], updateId: string): temporal.api.enums.v1.EventType[] {
  return events
    .filter(
      (e) =>
        e.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId === updateId ||
        e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId === updateId ||
        e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === updateId ||
        e.workflowExecutionUpdateRejectedEventAttributes?.rejectedRequest?.meta?.updateId === updateId,
    )
    .map((e) => e.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED);
}

describe('Updates the validators refuse write nothing to history (real dev server)', () => {
  it('refuses a capture while AWAITING_OTP with InvalidState', async () => {
    const { handle } = await startOtpPayment();
    const failure = await expectRefusedWithoutHistory(
      handle,
      UPDATE_REJECTION.INVALID_STATE,
      'early-capture',
      (updateId) => handle.executeUpdate(captureUpdate, { args: [{}], updateId }),
    );
    expect(failure.message).toMatch(/is AWAITING_OTP, not AUTHORIZED; it cannot be captured/);
  });

  it('refuses an OTP resend inside the resend window with TooEarly, naming availableAt in its details', async () => {
    const { handle, state } = await startOtpPayment();
    const availableAt = state.otp?.resendAvailableAt;
    expect(availableAt).toBeDefined();
    const failure = await expectRefusedWithoutHistory(handle, UPDATE_REJECTION.TOO_EARLY, 'early-resend', (updateId) =>
      handle.executeUpdate(resendOtpUpdate, { args: [], updateId }),
    );
    expect(failure.details).toEqual([{ code: 'otp_resend_too_early', availableAt }]);
    expect((await handle.query(getPaymentQuery)).otp?.resendsLeft).toBe(2);
  });

  it('refuses a capture above the authorized amount with InvalidRequest, and Plural never hears of it', async () => {
    const { handle, state } = await authorizedPayment();
    const failure = await expectRefusedWithoutHistory(handle, UPDATE_REJECTION.INVALID_REQUEST, 'big', (updateId) =>
      handle.executeUpdate(captureUpdate, { args: [{ amount: { value: 5001, currency: 'INR' } }], updateId }),
    );
    expect(failure.message).toBe(
      `capture amount 5001 exceeds authorized 5000 for order ${state.merchantOrderReference}`,
    );
    expect(sandbox.order(state.pluralOrderId!)?.captureAttempts).toBe(0);
  });

  it('refuses a second openPayment (update-with-start) with another fingerprint with RequestConflict', async () => {
    const ref = newReference('uws');
    const workflowId = paymentWorkflowId(ref);
    const cardHandle = await putCard(vault, CARDS.nativeOtp);
    // As the API opens a payment: the Update's id is the request's, the start a no-op when the payment runs.
    const open = (requestId: string, requestFingerprint: string) =>
      env.client.workflow.executeUpdateWithStart(openPaymentUpdate, {
        args: [{ requestId, requestFingerprint }],
        updateId: requestId,
        startWorkflowOperation: new WithStartWorkflowOperation<typeof paymentWorkflow>(PAYMENT_WORKFLOW_TYPE, {
          taskQueue,
          workflowId,
          args: [otpInput(ref, cardHandle, { requestId, requestFingerprint })],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    const first = await open('req-1', 'fingerprint-a');
    expect(first).toMatchObject({ created: true, state: { status: 'AWAITING_OTP' } });
    const handle = env.client.workflow.getHandle<typeof paymentWorkflow>(workflowId);
    started.push(handle);
    const { runId } = await handle.describe();
    const failure = await expectRefusedWithoutHistory(handle, UPDATE_REJECTION.REQUEST_CONFLICT, 'req-2', (updateId) =>
      open(updateId, 'fingerprint-b'),
    );
    expect(failure.message).toContain(`merchant_order_reference ${ref} already exists with a different request`);
    // Still the first request's payment: no new run, nothing moved.
    expect((await handle.describe()).runId).toBe(runId);
    expect((await handle.query(getPaymentQuery)).status).toBe('AWAITING_OTP');
  });
});

describe('Updates the validators accept (real dev server)', () => {
  it('writes WorkflowExecutionUpdateAccepted and Completed for an accepted submitOtp', async () => {
    const { handle } = await startOtpPayment();
    const before = await idleHistory(handle);
    const otpHandle = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
    const answer = await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle }], updateId: 'otp-accepted' });
    expect(answer.outcome).toBe('ACCEPTED');
    const after = (await handle.fetchHistory()).events ?? [];
    expect(after.length).toBeGreaterThan(before.length);
    expect(updateEventsOf(after, 'otp-accepted')).toEqual([
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    ]);
  });
});
