import {
  ApplicationFailure,
  CancellationScope,
  condition,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  continueAsNew,
  isCancellation,
} from '@temporalio/workflow';
import type * as activities from './activities';
import { approveSignal, paymentStatusKey, statusQuery } from './definitions';

const { charge, flaky, failsWith, slow, heartbeating } = proxyActivities<typeof activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '10ms', maximumAttempts: 3 },
});

/** Payment-shaped: activity, timer, wait for a signal, complete. */
export async function payment(amount: number): Promise<string> {
  let status = 'created';
  let approvedBy = '';
  setHandler(statusQuery, () => status);
  setHandler(approveSignal, (by) => {
    approvedBy = by;
  });
  const receipt = await charge(amount);
  status = 'charged';
  upsertSearchAttributes([{ key: paymentStatusKey, value: status }]);
  await sleep('1s');
  status = 'waiting';
  await condition(() => approvedBy !== '');
  status = 'done';
  return `${receipt} approved by ${approvedBy}`;
}

export async function retries(): Promise<number> {
  return flaky();
}

export async function failing(type: string): Promise<string> {
  return failsWith(type);
}

export async function longSleep(): Promise<string> {
  await sleep('7 days');
  return 'woke';
}

export async function failWorkflow(): Promise<void> {
  await Promise.resolve();
  throw ApplicationFailure.nonRetryable('boom', 'Boom');
}

export async function counter(n: number): Promise<number> {
  if (n < 3) await continueAsNew<typeof counter>(n + 1);
  return n;
}

export async function cancellableActivity(): Promise<string> {
  try {
    await heartbeating();
    return 'completed';
  } catch (err) {
    if (isCancellation(err)) return 'cancelled';
    throw err;
  }
}

export async function waitForever(): Promise<void> {
  await CancellationScope.current().cancelRequested;
}

export async function slowActivity(): Promise<string> {
  return slow();
}
