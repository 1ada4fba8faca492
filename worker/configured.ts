/**
 * The payment worker's options that come straight from its configuration (`loadWorkerConfig`), built once here for
 * both processes that run the worker — `npm run worker` (worker/main.ts) and the dev stack (dev/stack/worker.ts) —
 * so a setting one of them reads cannot be forgotten by the other.
 */
import type { WorkerConfig } from '../config';
import { createDataConverter } from '../payload-codec';
import type { PaymentWorkerDeps } from './worker';

/** What {@link configuredWorkerOptions} fills in. */
export type ConfiguredWorkerOptions = Required<Pick<PaymentWorkerDeps, 'dataConverter'>> &
  Pick<
    PaymentWorkerDeps,
    | 'namespace'
    | 'taskQueue'
    | 'maxConcurrentActivityTaskExecutions'
    | 'shutdownGraceMs'
    | 'maxCachedWorkflows'
    | 'workflowBundle'
  >;

/** The options `config` sets: payload encryption, where to poll, concurrency, cache, drain time, a prebuilt bundle. */
export function configuredWorkerOptions(config: WorkerConfig): ConfiguredWorkerOptions {
  return {
    dataConverter: createDataConverter(config.payloadEncryption),
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    shutdownGraceMs: config.worker.shutdownGraceMs,
    ...(config.worker.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: config.worker.maxCachedWorkflows } : {}),
    ...(config.worker.workflowBundlePath !== undefined
      ? { workflowBundle: { codePath: config.worker.workflowBundlePath } }
      : {}),
  };
}
