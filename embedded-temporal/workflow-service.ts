import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import {
  activityById,
  activityForToken,
  cancelActivity,
  completeActivity,
  failActivity,
  heartbeatActivity,
  startActivity,
} from './activities';
import type { ActivityTask } from './activities';
import { completeWorkflowTask } from './commands';
import { EncodedResponse, Engine, isRunning } from './engine';
import { parseToken } from './task-tokens';
import type { WorkflowQueueTask } from './engine';
import type { QueuedTask, TaskQueues } from './task-queues';
import { invalidArgument, notFound } from './errors';
import { SYSTEM_SEARCH_ATTRIBUTES } from './operator-service';
import { appendHistoryField } from './history';
import { WorkflowExecutionStatus, api, duration, encodeMessage, timestamp } from './proto';
import type { Loose } from './proto';
import { STATUS_NAMES, executionInfo, parseQuery, sortRuns } from './visibility';
import type { WorkflowRun } from './workflow-run';

type WSv1 = typeof temporal.api.workflowservice.v1;
type Req<K extends keyof WSv1> = WSv1[K] extends { prototype: infer R } ? R : never;
type Res = Loose<Record<string, unknown>> | EncodedResponse;

/** Per-call context: cancellation of the gRPC call and its deadline (epoch ms, Infinity when none). */
export interface CallContext {
  signal: AbortSignal;
  deadline: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (req: any, ctx: CallContext) => Promise<Res> | Res;

const E = api.enums.v1;
const SERVER_VERSION = '1.27.0';
/** The real server answers an idle long poll after about a minute; the SDK's own deadline is longer. */
const MAX_TASK_POLL_MS = 60_000;
/** Long polls of history (result()) are answered within this, so callers re-poll. */
const MAX_HISTORY_POLL_MS = 20_000;

function pollWindow(ctx: CallContext, max: number): number {
  const untilDeadline = ctx.deadline - Date.now() - 1_000;
  return Math.max(0, Math.min(max, untilDeadline));
}

const ns = (namespace: string | null | undefined): string => namespace || 'default';

/** A history page token: where the next page starts, for which run. */
function historyToken(runId: string, nextEventId: number): Buffer {
  return Buffer.from(JSON.stringify({ runId, nextEventId }));
}

function parseHistoryToken(token: Uint8Array | null | undefined): { runId: string; nextEventId: number } | undefined {
  if (!token || token.length === 0) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token).toString('utf8')) as { runId?: unknown; nextEventId?: unknown };
    if (typeof parsed.runId === 'string' && typeof parsed.nextEventId === 'number') {
      return { runId: parsed.runId, nextEventId: parsed.nextEventId };
    }
  } catch {
    // fall through
  }
  throw invalidArgument('invalid history page token');
}

function historyResponse(events: readonly Uint8Array[], nextPageToken: Buffer | undefined): EncodedResponse {
  const head = encodeMessage(api.workflowservice.v1.GetWorkflowExecutionHistoryResponse, { nextPageToken });
  return new EncodedResponse(appendHistoryField(head, 1, events));
}

/** Waits until `ready()` holds (checked after each event appended to the run) or the window passes. */
function waitForEvents(run: WorkflowRun, ctx: CallContext, windowMs: number, ready: () => boolean): Promise<void> {
  if (ready()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      unsubscribe();
      ctx.signal.removeEventListener('abort', finish);
      resolve();
    };
    // Checked after the current state change settles (a close event is appended before the run is marked closed).
    const unsubscribe = run.history.subscribe(() => {
      queueMicrotask(() => {
        if (ready()) finish();
      });
    });
    // Unref'd: a pending long poll must not keep a stopped server's process alive.
    const timer = setTimeout(finish, windowMs).unref();
    ctx.signal.addEventListener('abort', finish);
  });
}

/** Implementations of `temporal.api.workflowservice.v1.WorkflowService` methods, by method name. */
export function workflowServiceHandlers(engine: Engine, defaultNamespace = 'default'): Record<string, Handler> {
  const describeNamespace = (name: string): Res => ({
    namespaceInfo: {
      name,
      state: E.NamespaceState.NAMESPACE_STATE_REGISTERED,
      description: 'embedded Temporal service namespace',
      id: `embedded-${name}`,
      capabilities: { eagerWorkflowStart: false, syncUpdate: false, asyncUpdate: false },
    },
    config: {
      workflowExecutionRetentionTtl: duration(24 * 3600 * 1000),
      historyArchivalState: E.ArchivalState.ARCHIVAL_STATE_DISABLED,
      visibilityArchivalState: E.ArchivalState.ARCHIVAL_STATE_DISABLED,
    },
    isGlobalNamespace: false,
  });

  /**
   * One long poll on a task queue: hands the first valid task to `start` as soon as one is queued, or answers empty
   * when the poll window closes or the caller goes away (a task is never handed to a cancelled call).
   */
  /** The activity named by a `*ById` request (namespace, workflow id, optional run id, activity id). */
  const activityByIdRequest = (req: {
    namespace?: string | null;
    workflowId?: string | null;
    runId?: string | null;
    activityId?: string | null;
  }) => activityById(engine, ns(req.namespace), req.workflowId ?? '', req.runId, req.activityId ?? '');

  const longPoll = <T extends QueuedTask>(
    queues: TaskQueues<T>,
    namespace: string,
    queue: string,
    ctx: CallContext,
    start: (task: T) => Res,
  ): Promise<Res> =>
    new Promise<Res>((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      let unpark: (now: number) => void = () => undefined;
      const finishEmpty = (): void => {
        if (poller.done) return;
        poller.done = true;
        if (timer) clearTimeout(timer);
        unpark(engine.now());
        resolve({});
      };
      const poller = {
        done: false,
        deliver(task: T): boolean {
          if (poller.done || ctx.signal.aborted || !task.isValid()) return false;
          poller.done = true;
          if (timer) clearTimeout(timer);
          ctx.signal.removeEventListener('abort', finishEmpty);
          resolve(start(task));
          return true;
        },
      };
      unpark = queues.poll(namespace, queue, poller, engine.now());
      if (poller.done) return;
      timer = setTimeout(finishEmpty, pollWindow(ctx, MAX_TASK_POLL_MS)).unref();
      ctx.signal.addEventListener('abort', finishEmpty);
    });

  const pollWorkflowTaskQueue = (req: Req<'PollWorkflowTaskQueueRequest'>, ctx: CallContext): Promise<Res> => {
    const namespace = ns(req.namespace);
    const queue = req.taskQueue?.name ?? '';
    if (!queue) throw invalidArgument('TaskQueue is not set on request.');
    const identity = req.identity ?? '';
    return longPoll(engine.workflowQueues, namespace, queue, ctx, (task: WorkflowQueueTask) => {
      if (task.query) {
        engine.handOutLegacyQuery(task.run, task.query);
        return engine.startQueryTask(task.run, task.query, queue !== task.run.config.taskQueue);
      }
      return engine.startWorkflowTask(task.run, task.wft!, identity, randomUUID());
    });
  };

  const pollActivityTaskQueue = (req: Req<'PollActivityTaskQueueRequest'>, ctx: CallContext): Promise<Res> => {
    const namespace = ns(req.namespace);
    const queue = req.taskQueue?.name ?? '';
    if (!queue) throw invalidArgument('TaskQueue is not set on request.');
    const identity = req.identity ?? '';
    return longPoll(engine.activityQueues, namespace, queue, ctx, (task: ActivityTask) =>
      startActivity(engine, task, identity, randomUUID()),
    );
  };

  const getHistory = async (req: Req<'GetWorkflowExecutionHistoryRequest'>, ctx: CallContext): Promise<Res> => {
    const namespace = ns(req.namespace);
    const token = parseHistoryToken(req.nextPageToken);
    const run = engine.getRun(namespace, req.execution?.workflowId ?? '', token?.runId || req.execution?.runId);
    const closeOnly = req.historyEventFilterType === E.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
    if (closeOnly) {
      if (isRunning(run) && req.waitNewEvent) {
        await waitForEvents(run, ctx, pollWindow(ctx, MAX_HISTORY_POLL_MS), () => !isRunning(run));
      }
      if (isRunning(run)) return historyResponse([], req.waitNewEvent ? historyToken(run.runId, 0) : undefined);
      return historyResponse(run.history.slice(run.history.length), undefined);
    }
    const from = Math.max(1, token?.nextEventId ?? 1);
    if (req.waitNewEvent && isRunning(run) && from > run.history.length) {
      await waitForEvents(run, ctx, pollWindow(ctx, MAX_HISTORY_POLL_MS), () => run.history.length >= from);
    }
    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
    const events = run.history.slice(from, from + pageSize - 1);
    const nextFrom = from + events.length;
    const more = nextFrom <= run.history.length;
    if (!more && !req.waitNewEvent && isRunning(run) && run.wft?.state === 'started' && run.wft.transient) {
      // As the real server does for a worker re-fetching history: include the transient task's events.
      return historyResponse([...events, ...run.wft.transientEvents], undefined);
    }
    const nextPageToken = more || (req.waitNewEvent && isRunning(run)) ? historyToken(run.runId, nextFrom) : undefined;
    return historyResponse(events, nextPageToken);
  };

  const listRuns = (namespace: string, query: string | null | undefined): WorkflowRun[] => {
    const parsed = parseQuery(query);
    const matches: WorkflowRun[] = [];
    for (const run of engine.runs.values()) if (run.namespace === namespace && parsed.filter(run)) matches.push(run);
    return sortRuns(matches, parsed.orderBy);
  };

  const list = (req: Req<'ListWorkflowExecutionsRequest'>): Res => {
    const runs = listRuns(ns(req.namespace), req.query);
    const offset = req.nextPageToken?.length ? Number(Buffer.from(req.nextPageToken).toString('utf8')) : 0;
    const pageSize = req.pageSize && req.pageSize > 0 ? req.pageSize : 1000;
    const page = runs.slice(offset, offset + pageSize);
    const nextOffset = offset + page.length;
    return {
      executions: page.map(executionInfo),
      nextPageToken: nextOffset < runs.length ? Buffer.from(String(nextOffset)) : undefined,
    };
  };

  const listByStatus = (
    req: Req<'ListOpenWorkflowExecutionsRequest'> | Req<'ListClosedWorkflowExecutionsRequest'>,
    open: boolean,
  ): Res => {
    const clauses = [open ? "ExecutionStatus = 'Running'" : "ExecutionStatus != 'Running'"];
    if (req.executionFilter?.workflowId) clauses.push(`WorkflowId = '${req.executionFilter.workflowId}'`);
    if (req.typeFilter?.name) clauses.push(`WorkflowType = '${req.typeFilter.name}'`);
    return list({
      namespace: req.namespace,
      pageSize: req.maximumPageSize,
      nextPageToken: req.nextPageToken,
      query: clauses.join(' AND '),
    } as Req<'ListWorkflowExecutionsRequest'>);
  };

  const signalWithStart = (req: Req<'SignalWithStartWorkflowExecutionRequest'>): Res => {
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    const namespace = ns(req.namespace);
    const signal = {
      name: req.signalName,
      input: req.signalInput,
      header: req.header,
      identity: req.identity ?? '',
    };
    const existing = engine.current.get(Engine.key(namespace, req.workflowId ?? ''));
    const conflict =
      req.workflowIdConflictPolicy || E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING;
    if (existing && isRunning(existing) && conflict !== E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL) {
      if (conflict === E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) {
        engine.signalRun(existing, signal.name, signal.input, signal.header, signal.identity);
        return { runId: existing.runId, started: false };
      }
    }
    const result = engine.start(
      {
        namespace,
        workflowId: req.workflowId,
        workflowType: req.workflowType,
        taskQueue: req.taskQueue,
        input: req.input,
        workflowExecutionTimeout: req.workflowExecutionTimeout,
        workflowRunTimeout: req.workflowRunTimeout,
        workflowTaskTimeout: req.workflowTaskTimeout,
        identity: req.identity,
        requestId: req.requestId,
        workflowIdReusePolicy: req.workflowIdReusePolicy,
        workflowIdConflictPolicy: conflict,
        retryPolicy: req.retryPolicy,
        cronSchedule: req.cronSchedule,
        memo: req.memo,
        searchAttributes: req.searchAttributes,
        header: req.header,
        workflowStartDelay: req.workflowStartDelay,
      },
      signal,
    );
    return result;
  };

  const describe = (req: Req<'DescribeWorkflowExecutionRequest'>): Res => {
    const run = engine.getRun(ns(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
    const wft = run.wft;
    return {
      executionConfig: {
        taskQueue: { name: run.config.taskQueue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        workflowExecutionTimeout:
          run.config.executionTimeoutMs > 0 ? duration(run.config.executionTimeoutMs) : undefined,
        workflowRunTimeout: run.config.runTimeoutMs > 0 ? duration(run.config.runTimeoutMs) : undefined,
        defaultWorkflowTaskTimeout: duration(run.config.workflowTaskTimeoutMs),
      },
      workflowExecutionInfo: executionInfo(run),
      pendingActivities: [...run.activities.values()].map((a) => ({
        activityId: a.activityId,
        activityType: { name: a.activityType },
        state: a.cancelRequested
          ? E.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
          : a.state === 'started'
            ? E.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            : E.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
        heartbeatDetails: a.heartbeatDetails,
        lastHeartbeatTime: a.lastHeartbeatTime > 0 ? timestamp(a.lastHeartbeatTime) : undefined,
        lastStartedTime: a.startedTime > 0 ? timestamp(a.startedTime) : undefined,
        attempt: a.attempt,
        maximumAttempts: a.retryPolicy.maximumAttempts,
        scheduledTime: timestamp(a.currentAttemptScheduledTime),
        expirationTime: a.scheduleToCloseMs > 0 ? timestamp(a.scheduledTime + a.scheduleToCloseMs) : undefined,
        lastFailure: a.lastFailure,
        lastWorkerIdentity: a.lastIdentity,
      })),
      pendingWorkflowTask: wft
        ? {
            state:
              wft.state === 'started'
                ? E.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
                : E.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
            scheduledTime: timestamp(wft.scheduledTime),
            originalScheduledTime: timestamp(wft.originalScheduledTime),
            startedTime: wft.startedTime > 0 ? timestamp(wft.startedTime) : undefined,
            attempt: wft.attempt,
          }
        : undefined,
    };
  };

  const query = async (req: Req<'QueryWorkflowRequest'>, ctx: CallContext): Promise<Res> => {
    const run = engine.getRun(ns(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
    if (!req.query?.queryType) throw invalidArgument('QueryType is not set on request.');
    const reject = req.queryRejectCondition ?? 0;
    const running = isRunning(run);
    if (
      (reject === E.QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN && !running) ||
      (reject === E.QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY &&
        !running &&
        run.status !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED)
    ) {
      return { queryRejected: { status: run.status } };
    }
    const outcome = await engine.query(run, req.query, ctx.signal);
    if (outcome.kind === 'failed') throw invalidArgument(outcome.message);
    return { queryResult: outcome.answer };
  };

  const respondQueryTaskCompleted = (req: Req<'RespondQueryTaskCompletedRequest'>): Res => {
    const token = parseToken(req.taskToken);
    if (token?.kind !== 'q') throw invalidArgument('invalid query task token');
    const pending = engine.legacyQueries.get(token.queryId);
    if (!pending) throw notFound('query task not found, or already expired');
    engine.legacyQueries.delete(token.queryId);
    if (req.completedType === E.QueryResultType.QUERY_RESULT_TYPE_ANSWERED) {
      pending.settle({ kind: 'answered', answer: req.queryResult });
    } else {
      pending.settle({ kind: 'failed', message: req.errorMessage || 'query failed', failure: req.failure });
    }
    return {};
  };

  return {
    GetSystemInfo: () => ({
      serverVersion: SERVER_VERSION,
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        supportsSchedules: false,
        encodedFailureAttributes: true,
        buildIdBasedVersioning: false,
        upsertMemo: true,
        eagerWorkflowStart: false,
        sdkMetadata: true,
        countGroupByExecutionStatus: true,
      },
    }),
    DescribeNamespace: (req: Req<'DescribeNamespaceRequest'>) => describeNamespace(ns(req.namespace)),
    ListNamespaces: () => ({ namespaces: [describeNamespace(defaultNamespace)] }),
    RegisterNamespace: () => ({}),
    GetClusterInfo: () => ({
      supportedClients: {},
      serverVersion: SERVER_VERSION,
      clusterId: 'embedded',
      clusterName: 'embedded',
      historyShardCount: 1,
      persistenceStore: 'memory',
      visibilityStore: 'memory',
    }),
    GetSearchAttributes: () => ({
      keys: { ...SYSTEM_SEARCH_ATTRIBUTES, ...Object.fromEntries(engine.searchAttributeTypes) },
    }),
    StartWorkflowExecution: (req: Req<'StartWorkflowExecutionRequest'>) => {
      const { runId, started } = engine.start(req);
      return { runId, started };
    },
    SignalWithStartWorkflowExecution: signalWithStart,
    SignalWorkflowExecution: (req: Req<'SignalWorkflowExecutionRequest'>) => {
      if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
      const run = engine.getRunningRun(
        ns(req.namespace),
        req.workflowExecution?.workflowId ?? '',
        req.workflowExecution?.runId,
      );
      if (req.requestId) {
        run.signalRequestIds ??= new Set();
        if (run.signalRequestIds.has(req.requestId)) return {};
        run.signalRequestIds.add(req.requestId);
      }
      engine.signalRun(run, req.signalName, req.input, req.header, req.identity ?? '');
      return {};
    },
    QueryWorkflow: query,
    DescribeWorkflowExecution: describe,
    GetWorkflowExecutionHistory: getHistory,
    ListWorkflowExecutions: list,
    ScanWorkflowExecutions: list,
    ListOpenWorkflowExecutions: (req: Req<'ListOpenWorkflowExecutionsRequest'>) => listByStatus(req, true),
    ListClosedWorkflowExecutions: (req: Req<'ListClosedWorkflowExecutionsRequest'>) => listByStatus(req, false),
    CountWorkflowExecutions: (req: Req<'CountWorkflowExecutionsRequest'>) => {
      const parsed = parseQuery(req.query);
      const runs = listRuns(ns(req.namespace), req.query);
      if (!parsed.groupBy) return { count: runs.length };
      const counts = new Map<string, number>();
      for (const r of runs) {
        const status = STATUS_NAMES[r.status] ?? 'Unspecified';
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
      return {
        count: runs.length,
        groups: [...counts].map(([status, count]) => ({
          groupValues: [
            { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(status)) },
          ],
          count,
        })),
      };
    },
    TerminateWorkflowExecution: (req: Req<'TerminateWorkflowExecutionRequest'>) => {
      const run = engine.getRunningRun(
        ns(req.namespace),
        req.workflowExecution?.workflowId ?? '',
        req.workflowExecution?.runId,
      );
      if (req.firstExecutionRunId && run.config.firstRunId !== req.firstExecutionRunId) {
        throw notFound(`workflow not found for ID: ${run.workflowId}`);
      }
      engine.terminateRun(run, req.reason ?? '', req.details, req.identity ?? '');
      return {};
    },
    RequestCancelWorkflowExecution: (req: Req<'RequestCancelWorkflowExecutionRequest'>) => {
      const run = engine.getRunningRun(
        ns(req.namespace),
        req.workflowExecution?.workflowId ?? '',
        req.workflowExecution?.runId,
      );
      if (req.firstExecutionRunId && run.config.firstRunId !== req.firstExecutionRunId) {
        throw notFound(`workflow not found for ID: ${run.workflowId}`);
      }
      engine.requestCancel(run, req.reason ?? '', req.identity ?? '');
      return {};
    },
    PollWorkflowTaskQueue: pollWorkflowTaskQueue,
    RespondWorkflowTaskCompleted: (req: Req<'RespondWorkflowTaskCompletedRequest'>) => {
      const { run, wft } = engine.startedTaskFor(req.taskToken);
      const { newTask, activityTasks } = completeWorkflowTask(engine, run, wft, req);
      if (!newTask) return { activityTasks };
      // The inline task's encoded bytes become field 1 (workflow_task) of the response.
      const taskField = lengthDelimitedField(1, newTask.bytes);
      if (activityTasks.length === 0) return new EncodedResponse(taskField);
      const head = encodeMessage(api.workflowservice.v1.RespondWorkflowTaskCompletedResponse, { activityTasks });
      return new EncodedResponse(Buffer.concat([head, taskField]));
    },
    RespondWorkflowTaskFailed: (req: Req<'RespondWorkflowTaskFailedRequest'>) => {
      const { run, wft } = engine.startedTaskFor(req.taskToken);
      engine.failWorkflowTask(run, wft, req.cause ?? 0, req.failure, req.identity ?? '');
      return {};
    },
    RespondQueryTaskCompleted: respondQueryTaskCompleted,
    PollActivityTaskQueue: pollActivityTaskQueue,
    RecordActivityTaskHeartbeat: (req: Req<'RecordActivityTaskHeartbeatRequest'>) => {
      const { activity } = activityForToken(engine, req.taskToken);
      return { cancelRequested: heartbeatActivity(engine, activity, req.details) };
    },
    RecordActivityTaskHeartbeatById: (req: Req<'RecordActivityTaskHeartbeatByIdRequest'>) => {
      const { activity } = activityByIdRequest(req);
      return { cancelRequested: heartbeatActivity(engine, activity, req.details) };
    },
    RespondActivityTaskCompleted: (req: Req<'RespondActivityTaskCompletedRequest'>) => {
      const { run, activity } = activityForToken(engine, req.taskToken);
      completeActivity(engine, run, activity, req.result, req.identity ?? '');
      return {};
    },
    RespondActivityTaskCompletedById: (req: Req<'RespondActivityTaskCompletedByIdRequest'>) => {
      const { run, activity } = activityByIdRequest(req);
      completeActivity(engine, run, activity, req.result, req.identity ?? '');
      return {};
    },
    RespondActivityTaskFailed: (req: Req<'RespondActivityTaskFailedRequest'>) => {
      const { run, activity } = activityForToken(engine, req.taskToken);
      failActivity(engine, run, activity, req.failure, req.lastHeartbeatDetails, req.identity ?? '');
      return {};
    },
    RespondActivityTaskFailedById: (req: Req<'RespondActivityTaskFailedByIdRequest'>) => {
      const { run, activity } = activityByIdRequest(req);
      failActivity(engine, run, activity, req.failure, req.lastHeartbeatDetails, req.identity ?? '');
      return {};
    },
    RespondActivityTaskCanceled: (req: Req<'RespondActivityTaskCanceledRequest'>) => {
      const { run, activity } = activityForToken(engine, req.taskToken);
      cancelActivity(engine, run, activity, req.details, req.identity ?? '');
      return {};
    },
    RespondActivityTaskCanceledById: (req: Req<'RespondActivityTaskCanceledByIdRequest'>) => {
      const { run, activity } = activityByIdRequest(req);
      cancelActivity(engine, run, activity, req.details, req.identity ?? '');
      return {};
    },
    ShutdownWorker: (req: Req<'ShutdownWorkerRequest'>) => {
      engine.shutdownStickyQueue(ns(req.namespace), req.stickyTaskQueue ?? '');
      return {};
    },
    ResetStickyTaskQueue: (req: Req<'ResetStickyTaskQueueRequest'>) => {
      const run = engine.getRun(ns(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
      run.sticky = undefined;
      return {};
    },
    DescribeTaskQueue: () => ({ pollers: [] }),
  };
}

/** Wraps already-encoded message bytes as length-delimited field `fieldNo` of an enclosing message. */
function lengthDelimitedField(fieldNo: number, bytes: Buffer): Buffer {
  const header: number[] = [];
  let tag = (fieldNo << 3) | 2;
  while (tag >= 0x80) {
    header.push((tag & 0x7f) | 0x80);
    tag >>>= 7;
  }
  header.push(tag);
  let len = bytes.length;
  while (len >= 0x80) {
    header.push((len & 0x7f) | 0x80);
    len = Math.floor(len / 128);
  }
  header.push(len);
  return Buffer.concat([Buffer.from(header), bytes]);
}
