import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { ActivityTask } from './activities';
import { alreadyExists, invalidArgument, notFound, unimplemented } from './errors';
import { History, appendHistoryField, encodeEvent } from './history';
import type { NewEvent } from './history';
import {
  EventType,
  TaskQueueKind,
  WorkflowExecutionStatus,
  WorkflowTaskFailedCause,
  api,
  duration,
  durationMs,
  encodeMessage,
  ownPayload,
  timestamp,
} from './proto';
import type { IFailure, IHeader, IMemo, IPayload, IPayloads, IRetryPolicy, ISearchAttributes } from './proto';
import { normalizeRetryPolicy, retryDecision } from './retry';
import { TaskQueues } from './task-queues';
import type { QueuedTask } from './task-queues';
import { parseToken, queryTaskToken, workflowTaskToken } from './task-tokens';
import { VirtualClock } from './time';
import { WorkflowRun } from './workflow-run';
import type { BufferedEvent, PendingQuery, QueryOutcome, RunConfig, WorkflowTaskState } from './workflow-run';

const E = api.enums.v1;

const DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000;
const MAX_WORKFLOW_TASK_TIMEOUT_MS = 120_000;
/**
 * A legacy query task handed to a worker and not answered in this window is offered again on the normal queue.
 * Core drops query tasks it had buffered for a run it then evicts, without answering; query handlers answer in
 * milliseconds, so a copy sent again only costs a replay, while a lost one would hang its caller until its deadline.
 */
const LEGACY_QUERY_ANSWER_WINDOW_MS = 3_000;
/** The real server treats a sticky queue without a poll in this window as unavailable and uses the normal queue. */
const STICKY_POLLER_WINDOW_MS = 10_000;

/** A workflow-queue task: a workflow task, or a legacy query task (query with no workflow task outstanding). */
export class WorkflowQueueTask implements QueuedTask {
  constructor(
    readonly run: WorkflowRun,
    readonly wft: WorkflowTaskState | undefined,
    readonly query: PendingQuery | undefined,
    /** For a query task: which offer of the query this is (only the latest may be handed out). */
    readonly offer = 0,
  ) {}

  isValid(): boolean {
    if (this.query) return !this.query.done && !this.query.dispatched && this.query.offers === this.offer;
    return this.run.wft === this.wft && this.wft?.state === 'scheduled';
  }
}

/** What a new run is started with (from a start request, continue-as-new or a workflow retry). */
export interface NewRunParams {
  namespace: string;
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  input: IPayloads | null | undefined;
  header: IHeader | null | undefined;
  memo: IMemo | null | undefined;
  searchAttributes: ISearchAttributes | null | undefined;
  workflowTaskTimeoutMs: number;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  executionExpirationTime?: number;
  retryPolicy: IRetryPolicy | null | undefined;
  attempt: number;
  identity: string;
  requestId: string;
  firstRunId?: string;
  continuedExecutionRunId?: string;
  initiator?: temporal.api.enums.v1.ContinueAsNewInitiator;
  continuedFailure?: IFailure | null;
  lastCompletionResult?: IPayloads | null;
  firstTaskBackoffMs: number;
  signal?: { name: string; input: IPayloads | null | undefined; header: IHeader | null | undefined; identity: string };
}

/** Options of the engine. */
export interface EngineOptions {
  /** Start with time skipping unlocked (tests); otherwise virtual time follows real time until TestService unlocks. */
  autoSkip: boolean;
}

/**
 * The state machine of the service: workflow runs, their workflow tasks, timers, signals, queries and closing.
 * Activities live in `activities.ts`, command handling in `commands.ts`; RPC decoding in `workflow-service.ts`.
 */
export class Engine {
  readonly clock: VirtualClock;
  readonly workflowQueues = new TaskQueues<WorkflowQueueTask>();
  readonly activityQueues = new TaskQueues<ActivityTask>();
  readonly runs = new Map<string, WorkflowRun>();
  /** Latest run per namespace + workflow id. */
  readonly current = new Map<string, WorkflowRun>();
  readonly deadStickyQueues = new Set<string>();
  /** Custom search attributes registered through the OperatorService (registration is optional). */
  readonly searchAttributeTypes = new Map<string, temporal.api.enums.v1.IndexedValueType>();
  private taskIdSeq = 1;
  private querySeq = 0;
  /** Called after every state change (persistence marks itself dirty). */
  onChange: () => void = () => undefined;

  constructor(options: EngineOptions) {
    this.clock = new VirtualClock({ autoSkip: options.autoSkip });
  }

  now(): number {
    return this.clock.now();
  }

  nextTaskId(): number {
    return this.taskIdSeq++;
  }

  /** Appends an event to a run's history. */
  append(run: WorkflowRun, event: NewEvent, time = this.now()): number {
    return run.history.append(event, time, this.taskIdSeq++);
  }

  static key(namespace: string, workflowId: string): string {
    return `${namespace}\u0000${workflowId}`;
  }

  /** The run a request names: a specific run id, or the latest run of the workflow id. */
  getRun(namespace: string, workflowId: string, runId?: string | null): WorkflowRun {
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (runId) {
      const run = this.runs.get(runId);
      if (!run || run.workflowId !== workflowId || run.namespace !== namespace) {
        throw notFound(`workflow not found for ID: ${workflowId}`);
      }
      return run;
    }
    const run = this.current.get(Engine.key(namespace, workflowId));
    if (!run) throw notFound(`workflow not found for ID: ${workflowId}`);
    return run;
  }

  /** Like getRun, but the run must still be running. */
  getRunningRun(namespace: string, workflowId: string, runId?: string | null): WorkflowRun {
    const run = this.getRun(namespace, workflowId, runId);
    if (!isRunning(run)) throw notFound('workflow execution already completed');
    return run;
  }

  // ---------------------------------------------------------------- start

  /** Applies ID reuse / conflict policies and starts a run; returns the run id and whether a new run started. */
  start(
    req: temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest,
    signal?: NewRunParams['signal'],
    defaultConflictPolicy: temporal.api.enums.v1.WorkflowIdConflictPolicy = E.WorkflowIdConflictPolicy
      .WORKFLOW_ID_CONFLICT_POLICY_FAIL,
  ): { runId: string; started: boolean } {
    const namespace = req.namespace || 'default';
    const workflowId = req.workflowId ?? '';
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (!req.workflowType?.name) throw invalidArgument('WorkflowType is not set on request.');
    if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    if (req.cronSchedule) throw unimplemented('cronSchedule is not supported by the embedded Temporal service');
    const requestId = req.requestId || randomUUID();
    const existing = this.current.get(Engine.key(namespace, workflowId));
    const reuse = req.workflowIdReusePolicy ?? 0;
    if (existing && existing.config.startRequestId === requestId) {
      if (signal && isRunning(existing))
        this.signalRun(existing, signal.name, signal.input, signal.header, signal.identity);
      return { runId: existing.runId, started: true };
    }
    if (existing && isRunning(existing)) {
      let conflict = req.workflowIdConflictPolicy || defaultConflictPolicy;
      if (reuse === E.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING) {
        conflict = E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING;
      }
      if (conflict === E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) {
        if (signal) this.signalRun(existing, signal.name, signal.input, signal.header, signal.identity);
        return { runId: existing.runId, started: false };
      }
      if (conflict === E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING) {
        this.terminateRun(existing, 'terminated by new runID', undefined, req.identity ?? '');
      } else {
        throw alreadyExists(
          `Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${existing.runId}.`,
        );
      }
    } else if (existing) {
      const lastStatus = existing.status;
      if (reuse === E.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE) {
        throw alreadyExists(
          `Workflow execution already finished. WorkflowId: ${workflowId}, RunId: ${existing.runId}. Workflow Id reuse policy: reject duplicate workflow Id.`,
        );
      }
      if (
        reuse === E.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY &&
        (lastStatus === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED ||
          lastStatus === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
      ) {
        throw alreadyExists(
          `Workflow execution already finished successfully. WorkflowId: ${workflowId}, RunId: ${existing.runId}. Workflow Id reuse policy: allow duplicate workflow Id if last run failed.`,
        );
      }
    }
    const runTimeoutMs = durationMs(req.workflowRunTimeout);
    const executionTimeoutMs = durationMs(req.workflowExecutionTimeout);
    const run = this.createRun({
      namespace,
      workflowId,
      workflowType: req.workflowType.name,
      taskQueue: req.taskQueue.name,
      input: req.input,
      header: req.header,
      memo: req.memo,
      searchAttributes: req.searchAttributes,
      workflowTaskTimeoutMs: durationMs(req.workflowTaskTimeout),
      runTimeoutMs,
      executionTimeoutMs,
      retryPolicy: req.retryPolicy,
      attempt: 1,
      identity: req.identity ?? '',
      requestId,
      continuedFailure: req.continuedFailure,
      lastCompletionResult: req.lastCompletionResult,
      firstTaskBackoffMs: durationMs(req.workflowStartDelay),
      signal,
    });
    return { runId: run.runId, started: true };
  }

  /** Creates a run: writes WorkflowExecutionStarted and schedules the first workflow task (or its backoff). */
  createRun(p: NewRunParams): WorkflowRun {
    const now = this.now();
    const runId = randomUUID();
    const executionTimeoutMs = p.executionTimeoutMs;
    let runTimeoutMs = p.runTimeoutMs;
    if (executionTimeoutMs > 0 && (runTimeoutMs === 0 || runTimeoutMs > executionTimeoutMs)) {
      runTimeoutMs = executionTimeoutMs;
    }
    let wftTimeoutMs = p.workflowTaskTimeoutMs || DEFAULT_WORKFLOW_TASK_TIMEOUT_MS;
    wftTimeoutMs = Math.min(wftTimeoutMs, MAX_WORKFLOW_TASK_TIMEOUT_MS);
    if (runTimeoutMs > 0) wftTimeoutMs = Math.min(wftTimeoutMs, runTimeoutMs);
    const executionExpirationTime =
      p.executionExpirationTime ?? (executionTimeoutMs > 0 ? now + executionTimeoutMs : 0);
    const config: RunConfig = {
      namespace: p.namespace,
      workflowId: p.workflowId,
      runId,
      firstRunId: p.firstRunId ?? runId,
      workflowType: p.workflowType,
      taskQueue: p.taskQueue,
      workflowTaskTimeoutMs: wftTimeoutMs,
      runTimeoutMs,
      executionTimeoutMs,
      executionExpirationTime,
      retryPolicy: p.retryPolicy ? normalizeRetryPolicy(p.retryPolicy) : undefined,
      retryPolicyProto: p.retryPolicy,
      attempt: p.attempt,
      startRequestId: p.requestId,
      startTime: now,
      executionTime: now + p.firstTaskBackoffMs,
    };
    const run = new WorkflowRun(config, new History(), WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING);
    for (const [k, v] of Object.entries(p.memo?.fields ?? {})) run.memo.set(k, ownPayload(v));
    for (const [k, v] of Object.entries(p.searchAttributes?.indexedFields ?? {})) {
      const normalized = normalizeSearchAttribute(v);
      if (normalized) run.searchAttributes.set(k, normalized);
    }
    this.append(
      run,
      {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflowExecutionStartedEventAttributes: {
          workflowType: { name: p.workflowType },
          taskQueue: { name: p.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          input: p.input,
          workflowExecutionTimeout: executionTimeoutMs > 0 ? duration(executionTimeoutMs) : undefined,
          workflowRunTimeout: runTimeoutMs > 0 ? duration(runTimeoutMs) : undefined,
          workflowTaskTimeout: duration(wftTimeoutMs),
          continuedExecutionRunId: p.continuedExecutionRunId,
          initiator: p.initiator,
          continuedFailure: p.continuedFailure,
          lastCompletionResult: p.lastCompletionResult,
          originalExecutionRunId: runId,
          identity: p.identity,
          firstExecutionRunId: config.firstRunId,
          retryPolicy: p.retryPolicy,
          attempt: p.attempt,
          workflowExecutionExpirationTime: executionExpirationTime > 0 ? timestamp(executionExpirationTime) : undefined,
          firstWorkflowTaskBackoff: p.firstTaskBackoffMs > 0 ? duration(p.firstTaskBackoffMs) : undefined,
          memo: run.memo.size > 0 ? { fields: Object.fromEntries(run.memo) } : undefined,
          searchAttributes:
            run.searchAttributes.size > 0 ? { indexedFields: Object.fromEntries(run.searchAttributes) } : undefined,
          header: p.header,
          workflowId: p.workflowId,
        },
      },
      now,
    );
    const previous = this.current.get(Engine.key(p.namespace, p.workflowId));
    if (previous && previous.runId !== runId && isRunning(previous)) {
      throw new Error(`internal: workflow ${p.workflowId} already has a running run`);
    }
    this.runs.set(runId, run);
    this.current.set(Engine.key(p.namespace, p.workflowId), run);
    if (p.signal) {
      this.append(run, signaledEvent(p.signal.name, p.signal.input, p.signal.header, p.signal.identity), now);
    }
    if (p.firstTaskBackoffMs > 0) {
      this.armFirstTaskTimer(run);
    } else {
      this.scheduleWorkflowTask(run);
    }
    this.armRunTimeouts(run);
    this.onChange();
    return run;
  }

  /** Run and execution timeout timers (also re-armed after a snapshot is loaded). */
  armRunTimeouts(run: WorkflowRun): void {
    const c = run.config;
    if (c.runTimeoutMs > 0) {
      run.runTimeoutTimer = this.clock.schedule(c.executionTime + c.runTimeoutMs, () => this.timeoutRun(run, false));
    }
    if (c.executionExpirationTime > 0) {
      run.executionTimeoutTimer = this.clock.schedule(c.executionExpirationTime, () => this.timeoutRun(run, true));
    }
  }

  /** Arms the timer that schedules the first workflow task after a start delay or backoff. */
  armFirstTaskTimer(run: WorkflowRun): void {
    run.firstTaskTimer = this.clock.schedule(run.config.executionTime, () => {
      run.firstTaskTimer = undefined;
      if (isRunning(run)) this.scheduleWorkflowTask(run);
    });
  }

  /** Restores counters from a snapshot. */
  restoreCounters(taskIdSeq: number): void {
    this.taskIdSeq = Math.max(this.taskIdSeq, taskIdSeq);
  }

  get lastTaskId(): number {
    return this.taskIdSeq;
  }

  // ---------------------------------------------------------------- events that need a workflow task

  /**
   * Writes events caused by the outside world (signal, activity result, timer, cancel request): buffered while a
   * workflow task is started, otherwise appended at once with a workflow task scheduled if none is.
   */
  deliverEvent(run: WorkflowRun, item: BufferedEvent): void {
    if (run.wft?.state === 'started') {
      run.buffered.push(item);
    } else {
      this.writeBuffered(run, item);
      if (!run.firstTaskTimer) this.scheduleWorkflowTask(run);
    }
    this.onChange();
  }

  private writeBuffered(run: WorkflowRun, item: BufferedEvent): void {
    let previousId = 0;
    item.events.forEach((event, i) => {
      const link = item.linkStartedTo;
      if (link && i === 1 && previousId > 0) {
        const attrs = event[link];
        event = { ...event, [link]: { ...attrs, startedEventId: previousId } };
      }
      previousId = this.append(run, event, item.times[i] ?? this.now());
    });
  }

  signalRun(
    run: WorkflowRun,
    name: string,
    input: IPayloads | null | undefined,
    header: IHeader | null | undefined,
    identity: string,
  ): void {
    this.deliverEvent(run, { times: [this.now()], events: [signaledEvent(name, input, header, identity)] });
  }

  // ---------------------------------------------------------------- workflow tasks

  /** Schedules a workflow task unless one is already scheduled or started. */
  scheduleWorkflowTask(run: WorkflowRun, attempt = 1, offer = true): WorkflowTaskState | undefined {
    if (run.wft || !isRunning(run)) return undefined;
    const now = this.now();
    // As on the real server: the task is scheduled for the sticky queue (event and schedule-to-start timer), but is
    // dispatched to the normal queue at once when the sticky worker is gone (ShutdownWorker) or has not polled lately.
    const requested = run.sticky;
    let sticky = requested;
    if (
      sticky &&
      (this.deadStickyQueues.has(sticky.name) ||
        !this.workflowQueues.hasRecentPoller(run.namespace, sticky.name, now, STICKY_POLLER_WINDOW_MS))
    ) {
      run.sticky = sticky = undefined;
    }
    const queue = sticky ? sticky.name : run.config.taskQueue;
    const transient = attempt > 1;
    const wft: WorkflowTaskState = {
      seq: ++run.wftSeq,
      attempt,
      state: 'scheduled',
      scheduledEventId: run.history.nextEventId,
      startedEventId: 0,
      transient,
      transientEvents: [],
      queue,
      sticky: sticky !== undefined,
      stickyQueue: transient ? undefined : requested?.name,
      scheduledTime: now,
      originalScheduledTime: now,
      startedTime: 0,
      identity: '',
      queries: new Map(),
      timer: undefined,
    };
    if (!transient) wft.scheduledEventId = this.append(run, this.wftScheduledEvent(run, wft), now);
    run.wft = wft;
    this.clock.busy(1);
    // Queries held for this task's predecessor ride on this task.
    for (const q of run.heldQueries) if (!q.done) wft.queries.set(q.id, q);
    run.heldQueries = [];
    if (requested && !transient) {
      wft.timer = this.clock.schedule(now + requested.scheduleToStartMs, () =>
        this.stickyScheduleToStartTimeout(run, wft),
      );
    }
    if (offer) this.workflowQueues.offer(run.namespace, queue, new WorkflowQueueTask(run, wft, undefined));
    return wft;
  }

  private wftScheduledEvent(run: WorkflowRun, wft: WorkflowTaskState): NewEvent {
    return {
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      workflowTaskScheduledEventAttributes: {
        taskQueue: wft.stickyQueue
          ? { name: wft.stickyQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: run.config.taskQueue }
          : { name: run.config.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        startToCloseTimeout: duration(run.config.workflowTaskTimeoutMs),
        attempt: wft.attempt,
      },
    };
  }

  /** Drops the run's workflow task (completed, failed, timed out or the run closed). */
  clearWorkflowTask(run: WorkflowRun): WorkflowTaskState | undefined {
    const wft = run.wft;
    if (!wft) return undefined;
    wft.timer?.cancel();
    run.wft = undefined;
    this.clock.busy(-1);
    return wft;
  }

  /** A sticky task nobody picked up in time moves to the normal queue (the real server writes WFTTimedOut). */
  private stickyScheduleToStartTimeout(run: WorkflowRun, wft: WorkflowTaskState): void {
    if (run.wft !== wft || wft.state !== 'scheduled') return;
    const queries = [...wft.queries.values()];
    this.clearWorkflowTask(run);
    run.sticky = undefined;
    if (!wft.transient) {
      this.append(run, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        workflowTaskTimedOutEventAttributes: {
          scheduledEventId: wft.scheduledEventId,
          startedEventId: 0,
          timeoutType: E.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
        },
      });
    }
    run.heldQueries.push(...queries);
    this.scheduleWorkflowTask(run, wft.attempt);
    this.onChange();
  }

  /** Starts a workflow task for a poll and builds the poll response (history appended as encoded bytes). */
  startWorkflowTask(run: WorkflowRun, wft: WorkflowTaskState, identity: string, requestId: string): EncodedResponse {
    const now = this.now();
    wft.timer?.cancel();
    if (wft.transient && run.history.nextEventId !== wft.scheduledEventId) {
      // New events arrived since the transient task was scheduled: it becomes a normal task in history.
      wft.transient = false;
      wft.scheduledEventId = this.append(run, this.wftScheduledEvent(run, wft), now);
    }
    const startedEvent: NewEvent = {
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      workflowTaskStartedEventAttributes: {
        scheduledEventId: wft.scheduledEventId,
        identity,
        requestId,
        historySizeBytes: run.history.sizeBytes,
      },
    };
    if (wft.transient) {
      wft.startedEventId = wft.scheduledEventId + 1;
      wft.transientEvents = [
        encodeEvent(this.wftScheduledEvent(run, wft), wft.scheduledEventId, wft.scheduledTime, this.nextTaskId()),
        encodeEvent(startedEvent, wft.startedEventId, now, this.nextTaskId()),
      ];
    } else {
      wft.startedEventId = this.append(run, startedEvent, now);
    }
    wft.state = 'started';
    wft.startedTime = now;
    wft.identity = identity;
    wft.timer = this.clock.schedule(now + run.config.workflowTaskTimeoutMs, () =>
      this.workflowTaskStartToCloseTimeout(run, wft),
    );
    this.onChange();
    const events = wft.sticky ? run.history.slice(run.lastCompletedStartedEventId + 1) : run.history.events;
    const queries: Record<string, temporal.api.query.v1.IWorkflowQuery> = {};
    for (const [id, q] of wft.queries) queries[id] = q.query;
    const head = encodeMessage(api.workflowservice.v1.PollWorkflowTaskQueueResponse, {
      taskToken: workflowTaskToken(run.runId, wft.seq),
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: { name: run.config.workflowType },
      previousStartedEventId: run.lastCompletedStartedEventId,
      startedEventId: wft.startedEventId,
      attempt: wft.attempt,
      workflowExecutionTaskQueue: { name: run.config.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: timestamp(wft.scheduledTime),
      startedTime: timestamp(now),
      queries,
    });
    return new EncodedResponse(
      appendHistoryFieldTo(head, wft.transient ? [...events, ...wft.transientEvents] : events),
    );
  }

  /** Builds the poll response of a legacy query task (no events are written). */
  startQueryTask(run: WorkflowRun, query: PendingQuery, sticky: boolean): EncodedResponse {
    const head = encodeMessage(api.workflowservice.v1.PollWorkflowTaskQueueResponse, {
      taskToken: queryTaskToken(run.runId, query.id),
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: { name: run.config.workflowType },
      previousStartedEventId: run.lastCompletedStartedEventId,
      startedEventId: run.lastCompletedStartedEventId,
      attempt: 1,
      query: query.query,
      workflowExecutionTaskQueue: { name: run.config.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    });
    // A sticky query carries no events (the worker answers from its cache), as on the real server.
    return new EncodedResponse(appendHistoryFieldTo(head, sticky ? [] : run.history.events));
  }

  /** Finds the started workflow task a token names, or throws NOT_FOUND as the real server does. */
  startedTaskFor(token: Uint8Array | null | undefined): { run: WorkflowRun; wft: WorkflowTaskState } {
    const parsed = parseToken(token);
    if (parsed?.kind !== 'w') throw invalidArgument('invalid workflow task token');
    const run = this.runs.get(parsed.runId);
    const wft = run?.wft;
    if (!run || !wft || wft.seq !== parsed.seq || wft.state !== 'started') {
      throw notFound('Workflow task not found.');
    }
    return { run, wft };
  }

  /** Ends a started workflow task as failed (worker report, timeout or bad commands) and schedules the next. */
  failWorkflowTask(
    run: WorkflowRun,
    wft: WorkflowTaskState,
    cause: temporal.api.enums.v1.WorkflowTaskFailedCause,
    failure: IFailure | null | undefined,
    identity: string,
    timedOut = false,
  ): void {
    this.clearWorkflowTask(run);
    if (!wft.transient) {
      if (timedOut) {
        this.append(run, {
          eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
          workflowTaskTimedOutEventAttributes: {
            scheduledEventId: wft.scheduledEventId,
            startedEventId: wft.startedEventId,
            timeoutType: E.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
          },
        });
      } else {
        this.append(run, {
          eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
          workflowTaskFailedEventAttributes: {
            scheduledEventId: wft.scheduledEventId,
            startedEventId: wft.startedEventId,
            cause,
            failure,
            identity,
          },
        });
      }
    }
    run.sticky = undefined;
    this.flushBuffered(run);
    run.heldQueries.unshift(...wft.queries.values());
    // The worker evicts its copy of the run and may drop query tasks it had buffered for it: send them again.
    this.redispatchLegacyQueries(run);
    // An unhandled command is not the worker's fault: the next task is a normal (attempt 1) one.
    const sameAttempt =
      cause === WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND ||
      cause === WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE;
    this.scheduleWorkflowTask(run, sameAttempt ? 1 : wft.attempt + 1);
    this.onChange();
  }

  private workflowTaskStartToCloseTimeout(run: WorkflowRun, wft: WorkflowTaskState): void {
    if (run.wft !== wft || wft.state !== 'started') return;
    this.failWorkflowTask(run, wft, 0, undefined, '', true);
  }

  flushBuffered(run: WorkflowRun): boolean {
    if (run.buffered.length === 0) return false;
    const buffered = run.buffered;
    run.buffered = [];
    for (const b of buffered) this.writeBuffered(run, b);
    return true;
  }

  // ---------------------------------------------------------------- queries

  /** Runs a query: attached to a scheduled task, held for an in-flight one, or sent as a legacy query task. */
  query(run: WorkflowRun, query: temporal.api.query.v1.IWorkflowQuery, aborted: AbortSignal): Promise<QueryOutcome> {
    return new Promise<QueryOutcome>((resolve) => {
      const finish = (): boolean => {
        if (pending.done) return false;
        pending.done = true;
        pending.retryTimer?.cancel();
        this.legacyQueries.delete(pending.id);
        run.legacyQueries.delete(pending);
        this.clock.busy(-1);
        return true;
      };
      const pending: PendingQuery = {
        id: `q${++this.querySeq}`,
        runId: run.runId,
        query,
        done: false,
        offers: 0,
        settle: (outcome) => {
          if (finish()) resolve(outcome);
        },
      };
      this.clock.busy(1);
      aborted.addEventListener('abort', finish);
      const wft = run.wft;
      if (wft?.state === 'scheduled') wft.queries.set(pending.id, pending);
      else if (wft?.state === 'started') run.heldQueries.push(pending);
      else this.dispatchLegacyQuery(run, pending);
    });
  }

  /** Sends a query as a legacy query task: to the run's sticky queue first, then to its normal queue. */
  dispatchLegacyQuery(run: WorkflowRun, query: PendingQuery): void {
    const sticky = isRunning(run) && run.sticky && !this.deadStickyQueues.has(run.sticky.name) ? run.sticky : undefined;
    if (!sticky) {
      this.offerLegacyQuery(run, query, run.config.taskQueue);
      return;
    }
    this.offerLegacyQuery(run, query, sticky.name);
    const offer = query.offers;
    // As on the real server, the sticky attempt is bounded by the sticky schedule-to-start timeout, whether or not a
    // worker took the task: a query still unanswered then goes to the normal queue.
    query.retryTimer = this.clock.schedule(this.now() + sticky.scheduleToStartMs, () => {
      if (!query.done && query.offers === offer) this.offerLegacyQuery(run, query, run.config.taskQueue);
    });
  }

  /** Offers a (new copy of a) legacy query task; earlier copies of the query can no longer be handed out. */
  private offerLegacyQuery(run: WorkflowRun, query: PendingQuery, queue: string): void {
    query.retryTimer?.cancel();
    query.retryTimer = undefined;
    query.offers += 1;
    query.dispatched = false;
    run.legacyQueries.add(query);
    this.workflowQueues.offer(run.namespace, queue, new WorkflowQueueTask(run, undefined, query, query.offers));
  }

  /**
   * Sends the run's unanswered legacy queries again, on its normal queue (with full history). Used when the worker
   * holding them evicts the run (failed workflow task) or the run closes: core drops query tasks still buffered for
   * an evicted run without answering them, and the caller would otherwise wait until its own deadline. A worker
   * that answers the earlier copy after all still settles the query; the later answer is then ignored.
   */
  redispatchLegacyQueries(run: WorkflowRun): void {
    for (const q of [...run.legacyQueries]) {
      if (q.done) run.legacyQueries.delete(q);
      else this.offerLegacyQuery(run, q, run.config.taskQueue);
    }
  }

  /** Legacy query tasks handed to a worker, by query id. */
  readonly legacyQueries = new Map<string, PendingQuery>();

  /** Marks a legacy query task as handed to a worker; offers it again if no answer comes in time. */
  handOutLegacyQuery(run: WorkflowRun, query: PendingQuery): void {
    query.dispatched = true;
    this.legacyQueries.set(query.id, query);
    const offer = query.offers;
    query.retryTimer?.cancel();
    query.retryTimer = this.clock.schedule(this.now() + LEGACY_QUERY_ANSWER_WINDOW_MS, () => {
      if (!query.done && query.offers === offer) this.offerLegacyQuery(run, query, run.config.taskQueue);
    });
  }

  /** Hands queries held for a finished task to the next task, or sends them as legacy query tasks. */
  releaseHeldQueries(run: WorkflowRun): void {
    const held = run.heldQueries.filter((q) => !q.done);
    run.heldQueries = [];
    for (const q of held) {
      if (run.wft?.state === 'scheduled') run.wft.queries.set(q.id, q);
      else this.dispatchLegacyQuery(run, q);
    }
  }

  // ---------------------------------------------------------------- closing

  /** Fails an in-flight workflow task before a forced close (terminate, timeout), as the real server does. */
  private forceCloseWorkflowTask(run: WorkflowRun): void {
    const wft = run.wft;
    if (wft?.state === 'started' && !wft.transient) {
      this.append(run, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        workflowTaskFailedEventAttributes: {
          scheduledEventId: wft.scheduledEventId,
          startedEventId: wft.startedEventId,
          cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
        },
      });
    }
    if (wft) {
      run.heldQueries.push(...wft.queries.values());
      this.clearWorkflowTask(run);
    }
    this.flushBuffered(run);
  }

  /** Marks a run closed after its close event was written: stops its timers, tasks and activities. */
  finishRun(run: WorkflowRun, status: temporal.api.enums.v1.WorkflowExecutionStatus): void {
    run.status = status;
    run.closeTime = this.now();
    if (run.wft) {
      run.heldQueries.push(...run.wft.queries.values());
      this.clearWorkflowTask(run);
    }
    run.buffered = [];
    run.firstTaskTimer?.cancel();
    run.firstTaskTimer = undefined;
    run.runTimeoutTimer?.cancel();
    run.executionTimeoutTimer?.cancel();
    for (const t of run.timers.values()) t.handle.cancel();
    run.timers.clear();
    for (const a of run.activities.values()) {
      for (const t of a.attemptTimers) t.cancel();
      a.scheduleToCloseTimer?.cancel();
      if (a.busy === 'queued') this.clock.busy(-1);
      if (a.busy === 'running') this.clock.running(-1);
      a.busy = 'none';
    }
    run.activities.clear();
    run.sticky = undefined;
    // The worker that held the run evicts it; legacy queries it had not answered yet are sent again.
    this.redispatchLegacyQueries(run);
    this.releaseHeldQueries(run);
    this.onChange();
  }

  terminateRun(run: WorkflowRun, reason: string, details: IPayloads | null | undefined, identity: string): void {
    this.forceCloseWorkflowTask(run);
    this.append(run, {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
      workflowExecutionTerminatedEventAttributes: { reason, details, identity },
    });
    this.finishRun(run, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
  }

  requestCancel(run: WorkflowRun, reason: string, identity: string): void {
    if (run.cancelRequested) return;
    run.cancelRequested = true;
    this.deliverEvent(run, {
      times: [this.now()],
      events: [
        {
          eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
          workflowExecutionCancelRequestedEventAttributes: { cause: reason, identity },
        },
      ],
    });
  }

  /** Run timeout (retried per the workflow retry policy) or execution timeout (final). */
  private timeoutRun(run: WorkflowRun, execution: boolean): void {
    if (!isRunning(run)) return;
    this.forceCloseWorkflowTask(run);
    const retry = execution ? undefined : this.workflowRetry(run, undefined);
    const newRunId = retry ? this.retryRun(run, retry.backoffMs, undefined) : '';
    this.append(run, {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
      workflowExecutionTimedOutEventAttributes: {
        retryState: retry ? E.RetryState.RETRY_STATE_IN_PROGRESS : E.RetryState.RETRY_STATE_TIMEOUT,
        newExecutionRunId: newRunId || undefined,
      },
    });
    this.finishRun(run, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
  }

  /** Whether a failed/timed-out run is retried per its workflow retry policy, and after what backoff. */
  workflowRetry(run: WorkflowRun, failure: IFailure | null | undefined): { backoffMs: number } | undefined {
    const policy = run.config.retryPolicy;
    if (!policy) return undefined;
    const decision = retryDecision(policy, run.config.attempt, failure, this.now(), run.config.executionExpirationTime);
    return decision.retry ? { backoffMs: decision.backoffMs } : undefined;
  }

  /** Starts the next attempt of a run after a failure or timeout; returns its run id. */
  retryRun(run: WorkflowRun, backoffMs: number, failure: IFailure | null | undefined): string {
    const c = run.config;
    const started = run.history.decode(1)?.workflowExecutionStartedEventAttributes;
    const next = this.successorRun(run, {
      namespace: c.namespace,
      workflowId: c.workflowId,
      workflowType: c.workflowType,
      taskQueue: c.taskQueue,
      input: started?.input,
      header: started?.header,
      memo: { fields: Object.fromEntries(run.memo) },
      searchAttributes: { indexedFields: Object.fromEntries(run.searchAttributes) },
      workflowTaskTimeoutMs: c.workflowTaskTimeoutMs,
      runTimeoutMs: c.runTimeoutMs,
      executionTimeoutMs: c.executionTimeoutMs,
      executionExpirationTime: c.executionExpirationTime,
      retryPolicy: c.retryPolicyProto,
      attempt: c.attempt + 1,
      identity: '',
      requestId: randomUUID(),
      firstRunId: c.firstRunId,
      continuedExecutionRunId: c.runId,
      initiator: E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY,
      continuedFailure: failure,
      firstTaskBackoffMs: backoffMs,
    });
    return next.runId;
  }

  /** Creates the run that continues `run` (continue-as-new or retry); `run` must be closed right after. */
  successorRun(run: WorkflowRun, params: NewRunParams): WorkflowRun {
    // The predecessor is still formally running until its close event is written; let the new run replace it.
    const key = Engine.key(run.namespace, run.workflowId);
    this.current.delete(key);
    const next = this.createRun(params);
    run.newExecutionRunId = next.runId;
    return next;
  }

  // ---------------------------------------------------------------- workers

  /** ShutdownWorker: its sticky queue is gone; pending tasks there move to the normal queue at once. */
  shutdownStickyQueue(namespace: string, stickyQueue: string): void {
    if (!stickyQueue) return;
    this.deadStickyQueues.add(stickyQueue);
    for (const task of this.workflowQueues.drain(namespace, stickyQueue)) {
      const run = task.run;
      if (task.query) {
        this.offerLegacyQuery(run, task.query, run.config.taskQueue);
        continue;
      }
      const wft = task.wft;
      if (!wft || run.wft !== wft) continue;
      wft.queue = run.config.taskQueue;
      wft.sticky = false;
      run.sticky = undefined;
      this.workflowQueues.offer(namespace, run.config.taskQueue, new WorkflowQueueTask(run, wft, undefined));
    }
  }

  stop(): void {
    this.clock.stop();
  }
}

/** A response already encoded (poll responses carrying history bytes). */
export class EncodedResponse {
  constructor(readonly bytes: Buffer) {}
}

export function isRunning(run: WorkflowRun): boolean {
  return run.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
}

function appendHistoryFieldTo(head: Uint8Array, events: readonly Uint8Array[]): Buffer {
  return appendHistoryField(head, POLL_RESPONSE_HISTORY_FIELD, events);
}

/** Field number of `history` in PollWorkflowTaskQueueResponse. */
const POLL_RESPONSE_HISTORY_FIELD = 8;

function signaledEvent(
  signalName: string,
  input: IPayloads | null | undefined,
  header: IHeader | null | undefined,
  identity: string,
): NewEvent {
  return {
    eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    workflowExecutionSignaledEventAttributes: { signalName, input, header, identity },
  };
}

/**
 * Search attributes keep the payload the SDK sent, with a `type` metadata entry added when missing (the real server
 * adds it from the registered type). A null / empty value means "unset" and yields undefined.
 */
export function normalizeSearchAttribute(p: IPayload): IPayload | undefined {
  const data = p.data ? Buffer.from(p.data).toString('utf8') : '';
  if (data === '' || data === 'null' || data === '[]') return undefined;
  if (p.metadata?.type && p.metadata.type.length > 0) return ownPayload(p);
  let type = 'Keyword';
  try {
    const value: unknown = JSON.parse(data);
    if (Array.isArray(value)) type = 'KeywordList';
    else if (typeof value === 'number') type = Number.isInteger(value) ? 'Int' : 'Double';
    else if (typeof value === 'boolean') type = 'Bool';
  } catch {
    // Not JSON: keep it as a keyword.
  }
  return ownPayload({ ...p, metadata: { ...p.metadata, type: Buffer.from(type) } });
}
