/**
 * The worker options both worker processes (`npm run worker` and the dev stack) take from configuration: each setting
 * is passed on when set and left out when not, so the SDK's and createPaymentWorker's defaults apply.
 */
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../config';
import { configuredWorkerOptions } from '../../worker';
import { MINIMAL_WORKER_ENV } from '../support/config-env';

describe('configuredWorkerOptions', () => {
  it('passes on every worker setting that is set', () => {
    const options = configuredWorkerOptions(
      loadWorkerConfig({
        ...MINIMAL_WORKER_ENV,
        TEMPORAL_NAMESPACE: 'payments-prod',
        TEMPORAL_TASK_QUEUE: 'payments-v2',
        MAX_CONCURRENT_ACTIVITIES: '40',
        MAX_CACHED_WORKFLOWS: '50',
        WORKER_SHUTDOWN_GRACE_MS: '20000',
        WORKFLOW_BUNDLE_PATH: '/app/dist/workflow-bundle.js',
      }),
    );
    expect(options).toMatchObject({
      namespace: 'payments-prod',
      taskQueue: 'payments-v2',
      maxConcurrentActivityTaskExecutions: 40,
      maxCachedWorkflows: 50,
      shutdownGraceMs: 20_000,
      workflowBundle: { codePath: '/app/dist/workflow-bundle.js' },
    });
    // Payload encryption on (PAYLOAD_KEYS): the codec and the failure converter that encrypts failure messages.
    expect(options.dataConverter.payloadCodecs).toHaveLength(1);
    expect(options.dataConverter.failureConverterPath).toEqual(expect.any(String));
  });

  it('leaves out what is not set, and converts nothing with PAYLOAD_ENCRYPTION=off', () => {
    const options = configuredWorkerOptions(
      loadWorkerConfig({ ...MINIMAL_WORKER_ENV, PAYLOAD_KEYS: undefined, PAYLOAD_ENCRYPTION: 'off' }),
    );
    expect(options).not.toHaveProperty('maxCachedWorkflows');
    expect(options).not.toHaveProperty('workflowBundle');
    expect(options.dataConverter).toEqual({});
  });
});
