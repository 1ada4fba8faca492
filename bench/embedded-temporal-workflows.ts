/** Workflows for the embedded Temporal benchmark (bundled by bench/embedded-temporal.ts). Deterministic only. */
import type { Sinks } from '@temporalio/workflow';
import { condition, defineSignal, proxyActivities, proxySinks, setHandler, sleep } from '@temporalio/workflow';

export const finishSignal = defineSignal('finish');

export interface BenchActivities {
  authorize(amountMinor: number): Promise<string>;
}

export interface BenchSinks extends Sinks {
  bench: { opened(): void };
}

const { authorize } = proxyActivities<BenchActivities>({ startToCloseTimeout: '30 seconds' });
const { bench } = proxySinks<BenchSinks>();

/** Payment shape: start → activity → timer → signal → complete. */
export async function paymentShaped(amountMinor: number, timerMs: number): Promise<string> {
  let captured = false;
  setHandler(finishSignal, () => {
    captured = true;
  });
  const authorization = await authorize(amountMinor);
  await sleep(timerMs);
  await condition(() => captured);
  return authorization;
}

/** Stays open until `finish`; tells the benchmark (through a sink) once its first workflow task has run. */
export async function openUntilSignalled(): Promise<void> {
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  bench.opened();
  await condition(() => finished);
}
