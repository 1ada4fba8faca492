/**
 * Temporal for tests, on the official servers only: the run's shared dev server (started once by
 * `global-setup.ts`), a dev server of a test file's own, and the official time-skipping test server. The last two
 * live in `temporal-servers.ts` (no vitest import, so scripts can use them) and are re-exported here.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import { installQuietRuntime } from './temporal-servers';

export { createTimeSkippingEnv, installQuietRuntime, startOwnDevServer } from './temporal-servers';

/** `host:port` of the run's shared dev server (see global-setup.ts). */
export function sharedTemporalAddress(): string {
  return inject('temporalAddress');
}

/** A test environment on the run's shared dev server (wall-clock time; `env.sleep` really sleeps). */
export async function connectSharedServer(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return TestWorkflowEnvironment.createFromExistingServer({ address: sharedTemporalAddress() });
}
