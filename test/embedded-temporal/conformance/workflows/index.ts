/**
 * Workflows used by the embedded Temporal conformance suite. Deterministic code only: they import nothing but
 * `@temporalio/workflow` and `@temporalio/common`, so the same bundle runs against the embedded and the official
 * servers and replays their histories.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';

export const addSignal = defineSignal<[string]>('add');
export const finishSignal = defineSignal('finish');
export const receivedQuery = defineQuery<string[]>('received');
export const failingQuery = defineQuery<string>('failing');

/** Custom keyword search attribute the visibility tests filter on. */
export const paymentStatusKey = defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD);

/** Returns its argument at once. */
export function echo(value: string): Promise<string> {
  return Promise.resolve(value);
}

/** Collects `add` signals until it has `expected` of them, then returns them in arrival order. */
export async function collectSignals(expected: number): Promise<string[]> {
  const received: string[] = [];
  setHandler(addSignal, (value: string) => {
    received.push(value);
  });
  setHandler(receivedQuery, () => [...received]);
  setHandler(failingQuery, () => {
    throw new Error('query handler rejects on purpose');
  });
  await condition(() => received.length >= expected);
  return received;
}

/** Waits for `finish`, answering `received` queries meanwhile. */
export async function waitForFinish(): Promise<string> {
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  setHandler(receivedQuery, () => (finished ? ['finished'] : []));
  await condition(() => finished);
  return 'finished';
}

/** Sleeps for `ms` (workflow time) and returns the workflow clock before and after. */
export async function sleeper(ms: number | string): Promise<{ before: number; after: number }> {
  const before = Date.now();
  await sleep(ms);
  return { before, after: Date.now() };
}

/**
 * Starts a one-day timer, cancels it in a later workflow task and reports that the cancellation reached the timer.
 * (A timer started and cancelled in the same activation never reaches the server: core drops both commands.)
 */
export async function cancelTimer(): Promise<string> {
  const scope = new CancellationScope();
  const timer = scope.run(() => sleep('1 day'));
  await sleep(10);
  scope.cancel();
  try {
    await timer;
    return 'fired';
  } catch (err) {
    if (isCancellation(err)) return 'cancelled';
    throw err;
  }
}

/** Continues as new until `iteration` reaches `last`; returns the final iteration. */
export async function countByContinueAsNew(iteration: number, last: number): Promise<number> {
  if (iteration < last) {
    await continueAsNew<typeof countByContinueAsNew>(iteration + 1, last);
  }
  return iteration;
}

/** Continues as new every `periodMs` forever: only an execution timeout (or a terminate) stops it. */
export async function continueAsNewForever(periodMs: number): Promise<never> {
  await sleep(periodMs);
  return continueAsNew<typeof continueAsNewForever>(periodMs);
}

/** Upserts the PaymentStatus search attribute and a memo, then waits for `finish`. */
export async function upsertPaymentStatus(status: string): Promise<string> {
  upsertSearchAttributes([{ key: paymentStatusKey, value: status }]);
  upsertMemo({ note: `status is ${status}` });
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  await condition(() => finished);
  return status;
}

/**
 * Throws a plain (non-Temporal) error on its first workflow task, which fails the task instead of the workflow.
 * The retried task sees a longer history (the failed task's events), so it succeeds — deterministically on replay.
 */
export function failFirstWorkflowTask(): Promise<string> {
  if (workflowInfo().historyLength <= 3) {
    throw new TypeError('first workflow task fails on purpose');
  }
  return Promise.resolve('recovered');
}

/**
 * Fails every workflow task that starts less than `healthyAfterMs` (workflow time) after the workflow started.
 * With a short workflow task timeout this yields several retried ("transient") attempts before one succeeds.
 */
export function failWorkflowTasksFor(healthyAfterMs: number): Promise<number> {
  const startedAt = workflowInfo().startTime.getTime();
  if (Date.now() - startedAt < healthyAfterMs) {
    throw new TypeError('workflow task fails on purpose until the deadline passes');
  }
  return Promise.resolve(workflowInfo().historyLength);
}

/** Runs one activity with the given options and returns its result; activity failures fail the workflow. */
export async function runActivity(
  name: keyof ReturnType<typeof activities.createConformanceActivities>,
  input: activities.ActivityInput,
  options: ActivityOptions,
): Promise<unknown> {
  const acts = proxyActivities<ReturnType<typeof activities.createConformanceActivities>>(options);
  return acts[name](input);
}

/** Starts a heartbeating activity, cancels it when `finish` arrives and waits for the cancellation to complete. */
export async function cancelActivity(input: activities.ActivityInput): Promise<string> {
  const { heartbeatUntilCancelled } = proxyActivities<ReturnType<typeof activities.createConformanceActivities>>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '2 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 1 },
  });
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  const scope = new CancellationScope();
  const running = scope.run(() => heartbeatUntilCancelled(input));
  await condition(() => finished);
  scope.cancel();
  try {
    await running;
    return 'activity completed';
  } catch (err) {
    if (isCancellation(err)) return 'activity cancelled';
    throw err;
  }
}

/** Schedules an activity on a task queue nobody polls, cancels it on `finish`, and reports how it ended. */
export async function cancelScheduledActivity(input: activities.ActivityInput, taskQueue: string): Promise<string> {
  const { runFor } = proxyActivities<ReturnType<typeof activities.createConformanceActivities>>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  });
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  const scope = new CancellationScope();
  const pending = scope.run(() => runFor(input));
  await condition(() => finished);
  scope.cancel();
  try {
    await pending;
    return 'activity completed';
  } catch (err) {
    if (isCancellation(err)) return 'activity cancelled';
    throw err;
  }
}

/** Fails the workflow (not just its task) with a non-retryable ApplicationFailure. */
export function failWorkflow(reason: string): Promise<never> {
  throw ApplicationFailure.create({ message: reason, type: 'PaymentRejected', nonRetryable: true });
}

/** Races a workflow timer of `timerMs` against an activity that sleeps `activityMs` of server time. */
export async function raceActivityAndTimer(key: string, timerMs: number, activityMs: number): Promise<string> {
  const { sleepServerTime } = proxyActivities<ReturnType<typeof activities.createConformanceActivities>>({
    startToCloseTimeout: '1 day',
  });
  return Promise.race([
    sleep(timerMs).then(() => 'timer'),
    sleepServerTime({ key, runMs: activityMs }).then(() => 'activity'),
  ]);
}

/** Runs a local activity for `runMs`; with a short workflow task timeout, core must heartbeat the workflow task. */
export async function slowLocalActivity(key: string, runMs: number): Promise<string> {
  const { runFor } = proxyLocalActivities<ReturnType<typeof activities.createConformanceActivities>>({
    startToCloseTimeout: '1 minute',
  });
  return runFor({ key, runMs });
}

/** Runs `count` activities at once; their completions land while other workflow tasks are in flight. */
export async function fanOutActivities(key: string, count: number): Promise<number[]> {
  const { failTimes } = proxyActivities<ReturnType<typeof activities.createConformanceActivities>>({
    startToCloseTimeout: '30 seconds',
  });
  return Promise.all(Array.from({ length: count }, (_, index) => failTimes({ key: `${key}-${index}` })));
}

/** "Signal or timeout": waits up to `timeout` for `finish`; returns whether the signal came first. */
export async function signalOrTimeout(timeout: string): Promise<boolean> {
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  return condition(() => finished, timeout);
}

/** The benchmark's payment shape: activity → timer → signal → complete. */
export async function paymentShaped(amountMinor: number): Promise<string> {
  const { authorize } = proxyActivities<ReturnType<typeof activities.createConformanceActivities>>({
    startToCloseTimeout: '10 seconds',
  });
  let captured = false;
  setHandler(finishSignal, () => {
    captured = true;
  });
  const authorization = await authorize({ key: workflowInfo().workflowId, amountMinor });
  await sleep(10);
  await condition(() => captured);
  return authorization;
}

/**
 * Collects `add` signals until `expected` arrived, then keeps its last workflow task in flight with a local activity
 * of `runMs` before upserting PaymentStatus and completing (the payment workflow's last task), so a test can land a
 * query and a signal while that task runs; the signal makes the server reject the completion (UNHANDLED_COMMAND).
 */
export async function busyLastTask(key: string, expected: number, runMs: number): Promise<string[]> {
  const { runFor } = proxyLocalActivities<ReturnType<typeof activities.createConformanceActivities>>({
    startToCloseTimeout: '1 minute',
  });
  const received: string[] = [];
  setHandler(addSignal, (value: string) => {
    received.push(value);
  });
  setHandler(receivedQuery, () => [...received]);
  await condition(() => received.length >= expected);
  await runFor({ key, runMs });
  upsertSearchAttributes([{ key: paymentStatusKey, value: 'PROCESSED' }]);
  return received;
}
