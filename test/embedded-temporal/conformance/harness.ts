/**
 * Environment harness for the embedded Temporal conformance suite.
 *
 * The suite talks to the server only through the SDK's public API (Client, Worker, TestWorkflowEnvironment), so the
 * same tests run against any server. `TEMPORAL_TEST_SERVER` picks the server:
 * - unset or `embedded` (default): this repository's embedded service — the time-skipping environment is started
 *   through `embedded-temporal/bin/embedded-temporal` (executable type `existing-path`), the plain environment
 *   in-process with `startEmbeddedTemporal()`;
 * - `official`: `TestWorkflowEnvironment.createTimeSkipping()` (Java test server) and `createLocal()` (Temporal CLI dev
 *   server), both with their default downloads;
 * - `host:port`: an already running server for the plain environment; the time-skipping tests then use the official
 *   time-skipping test server, or the executable named by `TEMPORAL_TIME_SKIPPING_EXECUTABLE`.
 */
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { HistoryAndWorkflowId, WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Journal } from './activities';
import { createConformanceActivities } from './activities';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const EMBEDDED_EXECUTABLE = path.join(REPO_ROOT, 'embedded-temporal', 'bin', 'embedded-temporal');
const EMBEDDED_MODULE = path.join(REPO_ROOT, 'embedded-temporal', 'index');
const WORKFLOWS_PATH = path.join(__dirname, 'workflows', 'index.ts');
export const NAMESPACE = 'default';

export type ServerTarget = { kind: 'embedded' } | { kind: 'official' } | { kind: 'address'; address: string };

/** Reads `TEMPORAL_TEST_SERVER`; anything other than `embedded`, `official` or `host:port` is a configuration error. */
export function serverTarget(value = process.env.TEMPORAL_TEST_SERVER): ServerTarget {
  const raw = (value ?? '').trim();
  if (raw === '' || raw === 'embedded') return { kind: 'embedded' };
  if (raw === 'official') return { kind: 'official' };
  if (/^[^\s:]+:\d+$/.test(raw)) return { kind: 'address', address: raw };
  throw new Error(`TEMPORAL_TEST_SERVER must be "embedded", "official" or "host:port", got "${raw}"`);
}

/** The slice of `embedded-temporal/index.ts` the harness uses, loaded at run time. */
interface EmbeddedTemporalModule {
  startEmbeddedTemporal(options?: {
    port?: number;
    host?: string;
    namespace?: string;
    timeSkipping?: boolean;
  }): Promise<{ address: string; port: number; stop(): Promise<void> }>;
}

export async function loadEmbeddedTemporal(): Promise<EmbeddedTemporalModule> {
  return (await import(EMBEDDED_MODULE)) as EmbeddedTemporalModule;
}

let runtimeInstalled = false;
/** Keeps SDK and core logs to errors: the suite provokes workflow-task and activity failures on purpose. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // Already installed by an earlier import in this process: keep it.
  }
}

export interface ConformanceEnv {
  readonly target: ServerTarget;
  readonly env: TestWorkflowEnvironment;
  readonly namespace: string;
  teardown(): Promise<void>;
}

/** A full (not time-skipping) server: timers and timeouts run on the wall clock. */
export async function createServerEnv(target = serverTarget()): Promise<ConformanceEnv> {
  installQuietRuntime();
  if (target.kind === 'official') {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        namespace: NAMESPACE,
        searchAttributes: [defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD)],
      },
    });
    return { target, env, namespace: NAMESPACE, teardown: () => env.teardown() };
  }
  if (target.kind === 'address') {
    const env = await TestWorkflowEnvironment.createFromExistingServer({
      address: target.address,
      namespace: NAMESPACE,
    });
    return { target, env, namespace: NAMESPACE, teardown: () => env.teardown() };
  }
  const embedded = await loadEmbeddedTemporal();
  const server = await embedded.startEmbeddedTemporal({ host: '127.0.0.1', port: 0, namespace: NAMESPACE });
  try {
    const env = await TestWorkflowEnvironment.createFromExistingServer({
      address: server.address,
      namespace: NAMESPACE,
    });
    return {
      target,
      env,
      namespace: NAMESPACE,
      teardown: async () => {
        await env.teardown();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** A time-skipping environment (the Java test server's semantics). */
export async function createTimeSkippingEnv(target = serverTarget()): Promise<ConformanceEnv> {
  installQuietRuntime();
  const explicitExecutable = process.env.TEMPORAL_TIME_SKIPPING_EXECUTABLE;
  const executablePath = explicitExecutable ?? (target.kind === 'embedded' ? EMBEDDED_EXECUTABLE : undefined);
  const env = executablePath
    ? await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: executablePath } },
      })
    : await TestWorkflowEnvironment.createTimeSkipping();
  return { target, env, namespace: NAMESPACE, teardown: () => env.teardown() };
}

/** Registers the custom keyword attribute `PaymentStatus`, as an operator would; "already registered" is fine. */
export async function registerPaymentStatusSearchAttribute(server: ConformanceEnv): Promise<void> {
  try {
    await server.env.connection.operatorService.addSearchAttributes({
      namespace: server.namespace,
      searchAttributes: { PaymentStatus: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== grpcStatus.ALREADY_EXISTS) throw err;
  }
}

/** Bundles the suite's workflows; call once per test file (bundling is slow). */
export async function bundleConformanceWorkflows(): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
  return { code };
}

export interface CacheMode {
  readonly cache: 'sticky' | 'none';
  readonly maxCachedWorkflows: number;
}

/** Every test file runs its tests once with a sticky workflow cache and once without one. */
export const CACHE_MODES: readonly CacheMode[] = [
  { cache: 'sticky', maxCachedWorkflows: 100 },
  { cache: 'none', maxCachedWorkflows: 0 },
];

export interface RunningWorker {
  readonly worker: Worker;
  readonly taskQueue: string;
  /** Shuts the worker down and waits for `run()` to settle. Idempotent. */
  stop(): Promise<void>;
}

export interface StartWorkerOptions {
  taskQueue: string;
  workflowBundle: WorkflowBundle;
  cache: CacheMode;
  journal?: Journal;
}

export async function startWorker(server: ConformanceEnv, options: StartWorkerOptions): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: server.env.nativeConnection,
    namespace: server.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle,
    activities: createConformanceActivities(options.journal ?? (new Map() as Journal), {
      sleepServerTime: (ms) => server.env.sleep(ms),
    }),
    maxCachedWorkflows: options.cache.maxCachedWorkflows,
    shutdownGraceTime: '2 seconds',
  });
  const running = worker.run();
  let stopped: Promise<void> | undefined;
  return {
    worker,
    taskQueue: options.taskQueue,
    stop: () => {
      stopped ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      })();
      return stopped;
    },
  };
}

let sequence = 0;
/** A workflow id (or task queue) unique to this process and call. */
export function uniqueId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`;
}

/** Collects histories of finished workflows so a file can replay them all at its end. */
export class ReplayCollector {
  private readonly histories: HistoryAndWorkflowId[] = [];

  async add(handle: WorkflowHandle): Promise<void> {
    this.histories.push({ workflowId: handle.workflowId, history: await handle.fetchHistory() });
  }

  /** Adds a history as is (for example one a test altered on purpose). */
  addHistory(workflowId: string, history: temporal.api.history.v1.IHistory): void {
    this.histories.push({ workflowId, history });
  }

  get size(): number {
    return this.histories.length;
  }

  /** Replays every collected history; returns one line per history that failed to replay. */
  async replayFailures(workflowBundle: WorkflowBundle): Promise<string[]> {
    const failures: string[] = [];
    const results = Worker.runReplayHistories({ workflowBundle }, this.histories);
    for await (const result of results) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    return failures;
  }
}

/** Short event type names (`WORKFLOW_TASK_FAILED`) of a history, in order. */
export function eventTypes(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).map((event) =>
    String(temporal.api.enums.v1.EventType[event.eventType ?? 0]).replace(/^EVENT_TYPE_/, ''),
  );
}

/** Polls `check` until it returns a value other than undefined, or throws with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves with the rejection of `promise`, or fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to be rejected, but it resolved');
}
