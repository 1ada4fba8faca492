/** Builds the payment worker from explicit dependencies, so tests and the dev stack can run one in-process. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { NativeConnection, WorkerOptions, WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { MerchantPluralClients, MerchantWebhookDeps } from '../activities';
import type { CardVault } from '../card-vault';
import type { AppLogger } from '../observability';
import { createPaymentMetricsSinks } from '../observability/payment-metrics';
import type { PluralClient } from '../plural-client';
import { PAYMENT_TASK_QUEUE } from '../workflows/definitions';

/** Dependencies of {@link createPaymentWorker}. */
export interface PaymentWorkerDeps {
  connection: NativeConnection;
  /** The Plural client of every payment, or each merchant's (see `createMerchantPluralClients`). */
  plural: PluralClient | MerchantPluralClients;
  vault: CardVault;
  logger: AppLogger;
  /** The merchants' webhook endpoints and the sender; unset: a payment naming an endpoint notes it undelivered. */
  merchantWebhooks?: MerchantWebhookDeps;
  /** @default 'default' */
  namespace?: string;
  /** @default PAYMENT_TASK_QUEUE from workflows/definitions/identifiers.ts */
  taskQueue?: string;
  /** A prebuilt bundle (`bundleWorkflowCode`, or `{ codePath }` of a file written by `worker/build-bundle.ts`). */
  workflowBundle?: WorkflowBundleOption;
  /** Workflow module to bundle at start-up when no `workflowBundle` is given. @default the `workflows/` folder */
  workflowsPath?: string;
  /** @default 100 */
  maxConcurrentActivityTaskExecutions?: number;
  /** @default the SDK's (sized from available memory) */
  maxCachedWorkflows?: number;
  /** How long running activities get to finish on shutdown before they are cancelled. @default 10000 */
  shutdownGraceMs?: number;
  /** Worker identity shown in the Temporal UI. @default the SDK's (`pid@hostname`) */
  identity?: string;
  /**
   * Payload codec and failure converter (`createDataConverter` from payload-codec/); the API's client must use the
   * same keys. A `workflowBundle` must have been built with the same `failureConverterPath`. @default Temporal's
   * (payloads in clear)
   */
  dataConverter?: DataConverter;
}

/** A module of `workflows/`: its `.ts` source, or its `.js` when compiled. */
function workflowsModule(name: string): string {
  for (const ext of ['.ts', '.js']) {
    const candidate = path.join(__dirname, '..', 'workflows', `${name}${ext}`);
    if (existsSync(candidate)) return candidate;
  }
  return require.resolve(path.join('..', 'workflows', name));
}

/** The `workflows/` entry module (`index.ts` from source, `index.js` when compiled). */
export function defaultWorkflowsPath(): string {
  return workflowsModule('index');
}

/**
 * The workflow interceptor modules every payment worker and bundle registers: `workflows/task-boundary.ts`, which
 * keeps a cached payment from writing a history its replay would refuse (see there).
 */
export function workflowInterceptorModules(): string[] {
  return [workflowsModule('task-boundary')];
}

/** Creates (does not run) the payment worker: workflow bundle, activities over the Plural client and card vault. */
export async function createPaymentWorker(deps: PaymentWorkerDeps): Promise<Worker> {
  const options: WorkerOptions = {
    connection: deps.connection,
    namespace: deps.namespace ?? 'default',
    taskQueue: deps.taskQueue ?? PAYMENT_TASK_QUEUE,
    activities: createActivities({
      plural: deps.plural,
      vault: deps.vault,
      logger: deps.logger.child({ component: 'activities' }),
      ...(deps.merchantWebhooks ? { merchantWebhooks: deps.merchantWebhooks } : {}),
    }),
    // Business counters (payments by final status, OTP submissions, reconciliations…) on the runtime's endpoint.
    sinks: createPaymentMetricsSinks(),
    maxConcurrentActivityTaskExecutions: deps.maxConcurrentActivityTaskExecutions ?? 100,
    shutdownGraceTime: deps.shutdownGraceMs ?? 10_000,
    // A payment cached by a worker that died waits this long on that worker's sticky queue before the server hands
    // its next task (or query) to another worker. The SDK's 10 s equals the API's deadline per Temporal call, so every
    // first read of such a payment answered 503 (measured by test/resilience/parked-payments.test.ts); 3 s does not.
    stickyQueueScheduleToStartTimeout: '3 seconds',
    ...(deps.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: deps.maxCachedWorkflows } : {}),
    ...(deps.identity !== undefined ? { identity: deps.identity } : {}),
    ...(deps.dataConverter !== undefined ? { dataConverter: deps.dataConverter } : {}),
    ...(deps.workflowBundle !== undefined
      ? { workflowBundle: deps.workflowBundle }
      : {
          workflowsPath: deps.workflowsPath ?? defaultWorkflowsPath(),
          interceptors: { workflowModules: workflowInterceptorModules() },
        }),
  };
  return Worker.create(options);
}
