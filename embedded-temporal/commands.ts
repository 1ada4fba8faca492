import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { ActivityTask, offerAttempt, requestCancelActivity, scheduleActivity, startActivity } from './activities';
import type { PollActivityResponse } from './activities';
import type { Engine, EncodedResponse } from './engine';
import { isRunning, normalizeSearchAttribute } from './engine';
import { invalidArgument, unimplemented } from './errors';
import {
  CommandType,
  EventType,
  WorkflowExecutionStatus,
  WorkflowTaskFailedCause,
  api,
  duration,
  durationMs,
  ownPayload,
} from './proto';
import type { ICommand } from './proto';
import type { ActivityState, WorkflowRun, WorkflowTaskState } from './workflow-run';

type CompletedRequest = temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest;
const E = api.enums.v1;

const CLOSING_COMMANDS = new Set<number>([
  CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

const SUPPORTED_COMMANDS = new Set<number>([
  ...CLOSING_COMMANDS,
  CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
  CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
  CommandType.COMMAND_TYPE_START_TIMER,
  CommandType.COMMAND_TYPE_CANCEL_TIMER,
  CommandType.COMMAND_TYPE_RECORD_MARKER,
  CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES,
]);

/**
 * Result of a workflow task completion: a new task started inline when the worker asked for one, and the activity
 * attempts started eagerly for it.
 */
export interface CompletionResult {
  newTask: EncodedResponse | undefined;
  activityTasks: PollActivityResponse[];
}

/**
 * RespondWorkflowTaskCompleted: writes WFTCompleted, the command events, then buffered events, then a new workflow
 * task if anything was buffered (or the worker forces one). A closing command while events are buffered fails the
 * task with UNHANDLED_COMMAND and answers INVALID_ARGUMENT, as the real server does.
 */
export function completeWorkflowTask(
  engine: Engine,
  run: WorkflowRun,
  wft: WorkflowTaskState,
  req: CompletedRequest,
): CompletionResult {
  const commands = req.commands ?? [];
  const identity = req.identity ?? '';
  for (const c of commands) {
    const type = c.commandType ?? 0;
    if (!SUPPORTED_COMMANDS.has(type)) {
      const name = E.CommandType[type] ?? String(type);
      throw unimplemented(`command ${name} is not supported by the embedded Temporal service`);
    }
  }
  const closing = commands.some((c) => CLOSING_COMMANDS.has(c.commandType ?? 0));
  if (closing && run.buffered.length > 0) {
    // As the real server does (handleBufferedQueries runs before the UnhandledCommand error is returned), answers
    // that came with the rejected completion still reach their callers; only unanswered queries ride on the next task.
    settleQueryResults(wft, req);
    engine.failWorkflowTask(
      run,
      wft,
      WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
      { message: 'UnhandledCommand', source: 'Server' },
      identity,
    );
    throw invalidArgument('UnhandledCommand');
  }
  const duplicateTimer = findDuplicateTimer(run, commands);
  if (duplicateTimer) {
    settleQueryResults(wft, req);
    engine.failWorkflowTask(
      run,
      wft,
      WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
      { message: `invalid history builder state for action: add-timer-started-event, timer ID ${duplicateTimer}` },
      identity,
    );
    throw invalidArgument(`TimerId ${duplicateTimer} already exists.`);
  }

  const now = engine.now();
  if (wft.transient) {
    // A retried task that completes is written to history after all, exactly as the worker saw it.
    wft.transient = false;
    for (const bytes of wft.transientEvents) run.history.appendEncoded(bytes);
    wft.transientEvents = [];
  }
  const completedId = engine.append(
    run,
    {
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
      workflowTaskCompletedEventAttributes: {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        identity,
        binaryChecksum: req.binaryChecksum,
        workerVersion: req.workerVersionStamp,
        sdkMetadata: req.sdkMetadata,
        meteringMetadata: req.meteringMetadata,
        deployment: req.deployment,
        versioningBehavior: req.versioningBehavior,
      },
    },
    now,
  );
  // The task is done: from here, new events are appended (not buffered).
  const finished = wft;
  engine.clearWorkflowTask(run);
  run.lastCompletedStartedEventId = finished.startedEventId;

  let needNewTask = req.forceCreateNewWorkflowTask === true;
  // Activities the worker asked to run eagerly: prepared but not offered, started below and returned inline.
  const eager: ActivityState[] = [];
  try {
    for (const command of commands) {
      if (!isRunning(run)) break;
      if (applyCommand(engine, run, command, completedId, identity, eager)) needNewTask = true;
    }
  } catch (err) {
    // A later command was rejected: the eager attempts prepared so far go to the task queue as usual.
    for (const a of eager) if (isWaiting(run, a)) offerAttempt(engine, run, a);
    throw err;
  }

  settleQueryResults(finished, req);
  // Queries attached but not answered are retried with the next task.
  run.heldQueries.unshift(...[...finished.queries.values()].filter((q) => !q.done));

  let newTask: EncodedResponse | undefined;
  if (isRunning(run)) {
    if (engine.flushBuffered(run)) needNewTask = true;
    const stickyName = req.stickyAttributes?.workerTaskQueue?.name;
    run.sticky = stickyName
      ? { name: stickyName, scheduleToStartMs: durationMs(req.stickyAttributes?.scheduleToStartTimeout) || 10_000 }
      : undefined;
    if (needNewTask) {
      const inline = req.returnNewWorkflowTask === true && run.sticky !== undefined;
      const next = engine.scheduleWorkflowTask(run, 1, !inline);
      if (next && inline) newTask = engine.startWorkflowTask(run, next, identity, randomUUID());
    }
  }
  engine.releaseHeldQueries(run);
  // Eager activity execution, as the real server does (system.enableActivityEagerExecution, on in the dev server):
  // attempts the worker asked for (same task queue as the workflow) start now and ride on this response, saving an
  // activity poll. A run closed by this completion has no activities left to start.
  const activityTasks: PollActivityResponse[] = [];
  for (const a of eager) {
    if (isWaiting(run, a)) {
      activityTasks.push(startActivity(engine, new ActivityTask(run, a, a.dispatchSeq), identity, randomUUID()));
    }
  }
  engine.onChange();
  return { newTask, activityTasks };
}

/** Settles the task's queries answered in a completion (and forgets them, so they are not sent again). */
function settleQueryResults(wft: WorkflowTaskState, req: CompletedRequest): void {
  for (const [id, result] of Object.entries(req.queryResults ?? {})) {
    const q = wft.queries.get(id);
    if (!q) continue;
    wft.queries.delete(id);
    if (result.resultType === E.QueryResultType.QUERY_RESULT_TYPE_ANSWERED) {
      q.settle({ kind: 'answered', answer: result.answer });
    } else {
      q.settle({ kind: 'failed', message: result.errorMessage ?? 'query failed', failure: result.failure });
    }
  }
}

/** True when an activity attempt was prepared and still waits for a worker. */
function isWaiting(run: WorkflowRun, a: ActivityState): boolean {
  return isRunning(run) && run.activities.get(a.scheduledEventId) === a && a.state === 'scheduled';
}

function findDuplicateTimer(run: WorkflowRun, commands: ICommand[]): string | undefined {
  const seen = new Set<string>();
  for (const c of commands) {
    if (c.commandType !== CommandType.COMMAND_TYPE_START_TIMER) continue;
    const id = c.startTimerCommandAttributes?.timerId ?? '';
    if (run.timers.has(id) || seen.has(id)) return id;
    seen.add(id);
  }
  return undefined;
}

/** Applies one command; returns true when it requires a new workflow task. */
function applyCommand(
  engine: Engine,
  run: WorkflowRun,
  c: ICommand,
  completedId: number,
  identity: string,
  eager: ActivityState[],
): boolean {
  switch (c.commandType) {
    case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
      const attrs = c.scheduleActivityTaskCommandAttributes ?? {};
      // Only on the workflow's own task queue, where the asking worker polls (as on the real server).
      const queue = attrs.taskQueue?.name || run.config.taskQueue;
      const isEager = attrs.requestEagerExecution === true && queue === run.config.taskQueue;
      const activity = scheduleActivity(engine, run, attrs, completedId, isEager);
      if (isEager) eager.push(activity);
      return false;
    }
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
      const sid = Number(c.requestCancelActivityTaskCommandAttributes?.scheduledEventId ?? 0);
      return requestCancelActivity(engine, run, sid, completedId, identity);
    }
    case CommandType.COMMAND_TYPE_START_TIMER:
      startTimer(engine, run, c.startTimerCommandAttributes ?? {}, completedId);
      return false;
    case CommandType.COMMAND_TYPE_CANCEL_TIMER:
      cancelTimer(engine, run, c.cancelTimerCommandAttributes?.timerId ?? '', completedId, identity);
      return false;
    case CommandType.COMMAND_TYPE_RECORD_MARKER: {
      const a = c.recordMarkerCommandAttributes ?? {};
      engine.append(run, {
        eventType: EventType.EVENT_TYPE_MARKER_RECORDED,
        markerRecordedEventAttributes: {
          markerName: a.markerName,
          details: a.details,
          workflowTaskCompletedEventId: completedId,
          header: a.header,
          failure: a.failure,
        },
      });
      return false;
    }
    case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      const fields = c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes?.indexedFields ?? {};
      const normalized: Record<string, temporal.api.common.v1.IPayload> = {};
      for (const [k, v] of Object.entries(fields)) {
        const n = normalizeSearchAttribute(v);
        if (n) {
          run.searchAttributes.set(k, n);
          normalized[k] = n;
        } else {
          run.searchAttributes.delete(k);
          normalized[k] = v;
        }
      }
      engine.append(run, {
        eventType: EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        upsertWorkflowSearchAttributesEventAttributes: {
          workflowTaskCompletedEventId: completedId,
          searchAttributes: { indexedFields: normalized },
        },
      });
      return false;
    }
    case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
      const memo = c.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo;
      for (const [k, v] of Object.entries(memo?.fields ?? {})) {
        if (!v.data || v.data.length === 0) run.memo.delete(k);
        else run.memo.set(k, ownPayload(v));
      }
      engine.append(run, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
        workflowPropertiesModifiedEventAttributes: { workflowTaskCompletedEventId: completedId, upsertedMemo: memo },
      });
      return false;
    }
    case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
      engine.append(run, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        workflowExecutionCompletedEventAttributes: {
          result: c.completeWorkflowExecutionCommandAttributes?.result,
          workflowTaskCompletedEventId: completedId,
        },
      });
      engine.finishRun(run, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
      return false;
    case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
      const failure = c.failWorkflowExecutionCommandAttributes?.failure;
      const retry = engine.workflowRetry(run, failure);
      const newRunId = retry ? engine.retryRun(run, retry.backoffMs, failure) : '';
      engine.append(run, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        workflowExecutionFailedEventAttributes: {
          failure,
          retryState: retry
            ? E.RetryState.RETRY_STATE_IN_PROGRESS
            : run.config.retryPolicy
              ? failureRetryState(run, failure)
              : E.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET,
          workflowTaskCompletedEventId: completedId,
          newExecutionRunId: newRunId || undefined,
        },
      });
      engine.finishRun(run, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED);
      return false;
    }
    case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      engine.append(run, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        workflowExecutionCanceledEventAttributes: {
          workflowTaskCompletedEventId: completedId,
          details: c.cancelWorkflowExecutionCommandAttributes?.details,
        },
      });
      engine.finishRun(run, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED);
      return false;
    case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      continueAsNew(engine, run, c.continueAsNewWorkflowExecutionCommandAttributes ?? {}, completedId);
      return false;
    default:
      throw unimplemented(`command ${String(c.commandType)} is not supported`);
  }
}

function failureRetryState(
  run: WorkflowRun,
  failure: temporal.api.failure.v1.IFailure | null | undefined,
): temporal.api.enums.v1.RetryState {
  const policy = run.config.retryPolicy;
  if (!policy) return E.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET;
  if (failure?.applicationFailureInfo?.nonRetryable) return E.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE;
  const type = failure?.applicationFailureInfo?.type;
  if (type && policy.nonRetryableErrorTypes.includes(type)) return E.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE;
  if (policy.maximumAttempts > 0 && run.config.attempt >= policy.maximumAttempts) {
    return E.RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED;
  }
  return E.RetryState.RETRY_STATE_TIMEOUT;
}

function startTimer(
  engine: Engine,
  run: WorkflowRun,
  a: temporal.api.command.v1.IStartTimerCommandAttributes,
  completedId: number,
): void {
  const timerId = a.timerId ?? '';
  const ms = durationMs(a.startToFireTimeout);
  const startedEventId = engine.append(run, {
    eventType: EventType.EVENT_TYPE_TIMER_STARTED,
    timerStartedEventAttributes: {
      timerId,
      startToFireTimeout: a.startToFireTimeout,
      workflowTaskCompletedEventId: completedId,
    },
  });
  const firesAt = engine.now() + ms;
  const handle = engine.clock.schedule(firesAt, () => fireTimer(engine, run, timerId, startedEventId));
  run.timers.set(timerId, { timerId, startedEventId, firesAt, handle });
}

/** Fires a user timer: TimerFired, buffered while a workflow task is started. */
export function fireTimer(engine: Engine, run: WorkflowRun, timerId: string, startedEventId: number): void {
  const timer = run.timers.get(timerId);
  if (!timer || timer.startedEventId !== startedEventId || !isRunning(run)) return;
  run.timers.delete(timerId);
  engine.deliverEvent(run, {
    timerId,
    times: [engine.now()],
    events: [{ eventType: EventType.EVENT_TYPE_TIMER_FIRED, timerFiredEventAttributes: { timerId, startedEventId } }],
  });
}

function cancelTimer(engine: Engine, run: WorkflowRun, timerId: string, completedId: number, identity: string): void {
  let startedEventId = 0;
  const timer = run.timers.get(timerId);
  if (timer) {
    timer.handle.cancel();
    run.timers.delete(timerId);
    startedEventId = timer.startedEventId;
  } else {
    // The timer fired while the task ran: its buffered TimerFired is dropped, as the real server does.
    const i = run.buffered.findIndex((b) => b.timerId === timerId);
    if (i < 0) throw invalidArgument(`invalid history builder state for action: add-timer-canceled-event, ${timerId}`);
    run.buffered.splice(i, 1);
  }
  engine.append(run, {
    eventType: EventType.EVENT_TYPE_TIMER_CANCELED,
    timerCanceledEventAttributes: { timerId, startedEventId, workflowTaskCompletedEventId: completedId, identity },
  });
}

function continueAsNew(
  engine: Engine,
  run: WorkflowRun,
  a: temporal.api.command.v1.IContinueAsNewWorkflowExecutionCommandAttributes,
  completedId: number,
): void {
  const c = run.config;
  const started = run.history.decode(1)?.workflowExecutionStartedEventAttributes;
  const workflowType = a.workflowType?.name || c.workflowType;
  const taskQueue = a.taskQueue?.name || c.taskQueue;
  const runTimeoutMs = durationMs(a.workflowRunTimeout) || c.runTimeoutMs;
  const wftTimeoutMs = durationMs(a.workflowTaskTimeout) || c.workflowTaskTimeoutMs;
  const backoffMs = durationMs(a.backoffStartInterval);
  const memo = a.memo ?? { fields: Object.fromEntries(run.memo) };
  const searchAttributes = a.searchAttributes ?? { indexedFields: Object.fromEntries(run.searchAttributes) };
  const next = engine.successorRun(run, {
    namespace: c.namespace,
    workflowId: c.workflowId,
    workflowType,
    taskQueue,
    input: a.input,
    header: a.header ?? started?.header,
    memo,
    searchAttributes,
    workflowTaskTimeoutMs: wftTimeoutMs,
    runTimeoutMs,
    executionTimeoutMs: c.executionTimeoutMs,
    executionExpirationTime: c.executionExpirationTime,
    retryPolicy: a.retryPolicy ?? c.retryPolicyProto,
    attempt: 1,
    identity: '',
    requestId: randomUUID(),
    firstRunId: c.firstRunId,
    continuedExecutionRunId: c.runId,
    initiator: a.initiator || E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
    continuedFailure: a.failure,
    lastCompletionResult: a.lastCompletionResult,
    firstTaskBackoffMs: backoffMs,
  });
  engine.append(run, {
    eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    workflowExecutionContinuedAsNewEventAttributes: {
      newExecutionRunId: next.runId,
      workflowType: { name: workflowType },
      taskQueue: { name: taskQueue, kind: 1 },
      input: a.input,
      workflowRunTimeout: runTimeoutMs > 0 ? duration(runTimeoutMs) : undefined,
      workflowTaskTimeout: duration(wftTimeoutMs),
      workflowTaskCompletedEventId: completedId,
      backoffStartInterval: a.backoffStartInterval,
      initiator: a.initiator || E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
      failure: a.failure,
      lastCompletionResult: a.lastCompletionResult,
      header: a.header,
      memo,
      searchAttributes,
    },
  });
  engine.finishRun(run, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
}
