/**
 * Temporal for tests, on the official servers only: the run's shared dev server (started once by
 * `global-setup.ts`), a dev server of a test file's own, and the official time-skipping test server.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { indexedValueType } from '../../worker/search-attributes';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { sdkExecutable, startDevServer } from '../../temporal-server';
import type { DevServerOptions, RunningDevServer } from '../../temporal-server';
import { TEST_SEARCH_ATTRIBUTES } from './search-attributes';

let runtimeInstalled = false;
/**
 * Keeps the SDK's and Core's logs to errors (tests provoke failures on purpose). Call before the first connection or
 * worker of the process; later calls do nothing.
 */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // Installed earlier in this process (by another helper or the test itself): keep that one.
  }
}

/** `host:port` of the run's shared dev server (see global-setup.ts). */
export function sharedTemporalAddress(): string {
  return inject('temporalAddress');
}

/** A test environment on the run's shared dev server (wall-clock time; `env.sleep` really sleeps). */
export async function connectSharedServer(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return TestWorkflowEnvironment.createFromExistingServer({ address: sharedTemporalAddress() });
}

/** A dev server of the caller's own (to kill, restart or inspect), with the payment search attributes registered. */
export function startOwnDevServer(options: DevServerOptions = {}): Promise<RunningDevServer> {
  return startDevServer({ searchAttributes: TEST_SEARCH_ATTRIBUTES, ...options });
}

/**
 * The official time-skipping test server, one per test file: time skipping is global to a server, so files must not
 * share one. Started by the SDK (the binary starts in well under its 5 s limit). The payment search attributes are
 * registered as on the dev server: the test server, too, fails a workflow task that upserts an unknown one.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: sdkExecutable('testServer') } });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(TEST_SEARCH_ATTRIBUTES.map((sa) => [sa.name, indexedValueType(sa.type)])),
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}
