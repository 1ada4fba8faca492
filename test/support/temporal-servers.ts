/**
 * The official Temporal servers for tests and test scripts: a dev server of the caller's own and the official
 * time-skipping test server. Free of vitest, so scripts run with tsx (`npm run record:histories`) can use it too;
 * the run's shared dev server, which needs vitest's `inject`, is in `temporal.ts`.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { sdkExecutable, startDevServer } from '../../temporal-server';
import type { DevServerOptions, RunningDevServer } from '../../temporal-server';
import { indexedValueType } from '../../worker/search-attributes';
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
