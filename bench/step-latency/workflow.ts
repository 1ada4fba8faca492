/** The step-latency benchmark's workflow: `steps` no-op activities one after another (deterministic code only). */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '30 seconds' });

export async function sequentialSteps(steps: number): Promise<void> {
  for (let i = 0; i < steps; i += 1) await noop();
}
