import type { temporal } from '@temporalio/proto';
import type { Engine } from './engine';
import { invalidArgument, notFound } from './errors';
import { EventType, RetryState, TimeoutType, WorkflowExecutionStatus, duration, durationMs, timestamp } from './proto';
import type { IFailure, IPayloads, Loose } from './proto';
import { normalizeRetryPolicy, retryDecision, retryPolicyProto, timeoutTypeName } from './retry';
import type { QueuedTask } from './task-queues';
import { activityTaskToken, parseToken } from './task-tokens';
import type { NewEvent } from './history';
import type { ActivityCloseAttributes, ActivityState, WorkflowRun } from './workflow-run';

type ScheduleAttrs = temporal.api.command.v1.IScheduleActivityTaskCommandAttributes;
export type PollActivityResponse = Loose<temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse>;

/** One attempt of an activity, waiting in an activity task queue. */
export class ActivityTask implements QueuedTask {
  constructor(
    readonly run: WorkflowRun,
    readonly activity: ActivityState,
    readonly dispatchSeq: number,
  ) {}

  isValid(): boolean {
    const a = this.activity;
    return (
      a.state === 'scheduled' && a.dispatchSeq === this.dispatchSeq && this.run.activities.get(a.scheduledEventId) === a
    );
  }
}

/**
 * ScheduleActivityTask command: validates and fills timeouts as the real server does, writes the event, offers.
 * With `eager` the attempt is prepared but not offered: the caller starts it inline (eager activity execution).
 */
export function scheduleActivity(
  engine: Engine,
  run: WorkflowRun,
  attrs: ScheduleAttrs,
  wftCompletedEventId: number,
  eager = false,
): ActivityState {
  const activityId = attrs.activityId ?? '';
  const activityType = attrs.activityType?.name ?? '';
  if (!activityId) throw invalidArgument('ActivityId is not set on command.');
  if (!activityType) throw invalidArgument('ActivityType is not set on command.');
  for (const a of run.activities.values()) {
    if (a.activityId === activityId) throw invalidArgument(`Activity ID already exists: ${activityId}`);
  }
  const runTimeoutMs = run.config.runTimeoutMs;
  let scheduleToCloseMs = durationMs(attrs.scheduleToCloseTimeout);
  let startToCloseMs = durationMs(attrs.startToCloseTimeout);
  let scheduleToStartMs = durationMs(attrs.scheduleToStartTimeout);
  let heartbeatMs = durationMs(attrs.heartbeatTimeout);
  if (scheduleToCloseMs === 0 && startToCloseMs === 0) {
    throw invalidArgument('A valid StartToClose or ScheduleToCloseTimeout is not set on command.');
  }
  if (runTimeoutMs > 0 && (scheduleToCloseMs === 0 || scheduleToCloseMs > runTimeoutMs))
    scheduleToCloseMs = runTimeoutMs;
  if (scheduleToStartMs === 0 || (scheduleToCloseMs > 0 && scheduleToStartMs > scheduleToCloseMs)) {
    scheduleToStartMs = scheduleToCloseMs;
  }
  if (startToCloseMs === 0 || (scheduleToCloseMs > 0 && startToCloseMs > scheduleToCloseMs)) {
    startToCloseMs = scheduleToCloseMs;
  }
  if (heartbeatMs > startToCloseMs) heartbeatMs = startToCloseMs;
  const retryPolicy = normalizeRetryPolicy(attrs.retryPolicy);
  const retryProto = retryPolicyProto(retryPolicy);
  const taskQueue = attrs.taskQueue?.name || run.config.taskQueue;
  const now = engine.now();
  const scheduledEventId = engine.append(run, {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    activityTaskScheduledEventAttributes: {
      activityId,
      activityType: { name: activityType },
      taskQueue: { name: taskQueue, kind: attrs.taskQueue?.kind || 1 },
      header: attrs.header,
      input: attrs.input,
      scheduleToCloseTimeout: duration(scheduleToCloseMs),
      scheduleToStartTimeout: duration(scheduleToStartMs),
      startToCloseTimeout: duration(startToCloseMs),
      heartbeatTimeout: duration(heartbeatMs),
      workflowTaskCompletedEventId: wftCompletedEventId,
      retryPolicy: retryProto,
      priority: attrs.priority,
    },
  });
  const activity: ActivityState = {
    scheduledEventId,
    activityId,
    activityType,
    taskQueue,
    header: attrs.header,
    input: attrs.input,
    scheduleToCloseMs,
    scheduleToStartMs,
    startToCloseMs,
    heartbeatMs,
    retryPolicy,
    retryPolicyProto: retryProto,
    attempt: 1,
    state: 'scheduled',
    dispatchSeq: 0,
    scheduledTime: now,
    currentAttemptScheduledTime: now,
    startedTime: 0,
    lastHeartbeatTime: 0,
    heartbeatDetails: undefined,
    lastFailure: undefined,
    lastIdentity: '',
    lastRequestId: '',
    cancelRequested: false,
    cancelRequestedEventId: 0,
    retryAt: 0,
    attemptTimers: [],
    scheduleToCloseTimer: undefined,
    busy: 'none',
  };
  run.activities.set(scheduledEventId, activity);
  armScheduleToCloseTimer(engine, run, activity);
  if (eager) prepareAttempt(engine, run, activity);
  else offerAttempt(engine, run, activity);
  return activity;
}

function clearAttemptTimers(a: ActivityState): void {
  for (const t of a.attemptTimers) t.cancel();
  a.attemptTimers = [];
}

/** Moves an activity between "waiting for a worker", "running in a worker" and "neither" for time skipping. */
export function setBusy(engine: Engine, a: ActivityState, busy: ActivityState['busy']): void {
  if (a.busy === busy) return;
  if (a.busy === 'queued') engine.clock.busy(-1);
  if (a.busy === 'running') engine.clock.running(-1);
  a.busy = busy;
  if (busy === 'queued') engine.clock.busy(1);
  if (busy === 'running') engine.clock.running(1);
}

/** Offers the current attempt to the activity task queue (with its schedule-to-start timeout). */
export function offerAttempt(engine: Engine, run: WorkflowRun, a: ActivityState): void {
  prepareAttempt(engine, run, a);
  engine.activityQueues.offer(run.namespace, a.taskQueue, new ActivityTask(run, a, a.dispatchSeq));
  engine.onChange();
}

/** Makes the current attempt the one waiting for a worker (with its schedule-to-start timeout), without offering it. */
function prepareAttempt(engine: Engine, run: WorkflowRun, a: ActivityState): void {
  const now = engine.now();
  clearAttemptTimers(a);
  a.state = 'scheduled';
  a.dispatchSeq++;
  a.currentAttemptScheduledTime = now;
  setBusy(engine, a, 'queued');
  if (a.scheduleToStartMs > 0 && a.scheduleToStartMs !== a.scheduleToCloseMs) {
    const seq = a.dispatchSeq;
    a.attemptTimers.push(
      engine.clock.schedule(now + a.scheduleToStartMs, () => {
        if (a.state === 'scheduled' && a.dispatchSeq === seq) {
          timeoutActivity(engine, run, a, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
        }
      }),
    );
  }
}

/** Starts an attempt for a poll and builds the activity task. */
export function startActivity(
  engine: Engine,
  task: ActivityTask,
  identity: string,
  requestId: string,
): PollActivityResponse {
  const { run, activity: a } = task;
  const now = engine.now();
  clearAttemptTimers(a);
  a.state = 'started';
  a.startedTime = now;
  setBusy(engine, a, 'running');
  a.lastHeartbeatTime = 0;
  a.lastIdentity = identity;
  a.lastRequestId = requestId;
  armStartedTimers(engine, run, a);
  engine.onChange();
  return {
    taskToken: activityTaskToken(run.runId, a.scheduledEventId, a.dispatchSeq),
    workflowNamespace: run.namespace,
    workflowType: { name: run.config.workflowType },
    workflowExecution: { workflowId: run.workflowId, runId: run.runId },
    activityType: { name: a.activityType },
    activityId: a.activityId,
    header: a.header,
    input: a.input,
    heartbeatDetails: a.heartbeatDetails,
    scheduledTime: timestamp(a.scheduledTime),
    currentAttemptScheduledTime: timestamp(a.currentAttemptScheduledTime),
    startedTime: timestamp(now),
    attempt: a.attempt,
    // Always present (zero = none): the TS worker rejects a task without it.
    scheduleToCloseTimeout: duration(a.scheduleToCloseMs),
    startToCloseTimeout: duration(a.startToCloseMs),
    heartbeatTimeout: duration(a.heartbeatMs),
    retryPolicy: a.retryPolicyProto,
  };
}

/** Start-to-close and heartbeat timers of a started attempt (also re-armed after a snapshot is loaded). */
export function armStartedTimers(engine: Engine, run: WorkflowRun, a: ActivityState): void {
  const seq = a.dispatchSeq;
  if (a.startToCloseMs > 0) {
    a.attemptTimers.push(
      engine.clock.schedule(a.startedTime + a.startToCloseMs, () => {
        if (a.state === 'started' && a.dispatchSeq === seq) {
          timeoutActivity(engine, run, a, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
        }
      }),
    );
  }
  armHeartbeatTimer(engine, run, a);
}

function armHeartbeatTimer(engine: Engine, run: WorkflowRun, a: ActivityState): void {
  if (a.heartbeatMs <= 0) return;
  const seq = a.dispatchSeq;
  const last = Math.max(a.lastHeartbeatTime, a.startedTime);
  a.attemptTimers.push(
    engine.clock.schedule(last + a.heartbeatMs, () => {
      if (a.state !== 'started' || a.dispatchSeq !== seq) return;
      if (Math.max(a.lastHeartbeatTime, a.startedTime) + a.heartbeatMs > engine.now()) {
        armHeartbeatTimer(engine, run, a);
        return;
      }
      timeoutActivity(engine, run, a, TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    }),
  );
}

/** Finds the started attempt an activity task token names. */
export function activityForToken(
  engine: Engine,
  token: Uint8Array | null | undefined,
): { run: WorkflowRun; activity: ActivityState } {
  const parsed = parseToken(token);
  if (parsed?.kind !== 'a') throw invalidArgument('invalid activity task token');
  const run = engine.runs.get(parsed.runId);
  if (!run) throw notFound('workflow execution not found');
  if (run.status !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
    throw notFound('workflow execution already completed');
  }
  const activity = run.activities.get(parsed.scheduledEventId);
  if (!activity || activity.dispatchSeq !== parsed.dispatchSeq || activity.state !== 'started') {
    throw notFound('activity task not found');
  }
  return { run, activity };
}

/** Finds the started activity a workflow id / run id / activity id triple names (the *ById RPCs). */
export function activityById(
  engine: Engine,
  namespace: string,
  workflowId: string,
  runId: string | null | undefined,
  activityId: string,
): { run: WorkflowRun; activity: ActivityState } {
  const run = engine.getRunningRun(namespace, workflowId, runId);
  for (const activity of run.activities.values()) {
    if (activity.activityId === activityId && activity.state === 'started') return { run, activity };
  }
  throw notFound('activity task not found');
}

/** Removes the activity and writes ActivityTaskStarted (final attempt) plus its close event, buffered if needed. */
function closeActivity(
  engine: Engine,
  run: WorkflowRun,
  a: ActivityState,
  field: ActivityCloseAttributes,
  closeEvent: NewEvent,
): void {
  clearAttemptTimers(a);
  a.scheduleToCloseTimer?.cancel();
  setBusy(engine, a, 'none');
  run.activities.delete(a.scheduledEventId);
  const now = engine.now();
  if (a.state !== 'started') {
    engine.deliverEvent(run, {
      activityScheduledEventId: a.scheduledEventId,
      times: [now],
      events: [closeEvent],
    });
    return;
  }
  const startedEvent: NewEvent = {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    activityTaskStartedEventAttributes: {
      scheduledEventId: a.scheduledEventId,
      identity: a.lastIdentity,
      requestId: a.lastRequestId,
      attempt: a.attempt,
      lastFailure: a.lastFailure,
    },
  };
  engine.deliverEvent(run, {
    activityScheduledEventId: a.scheduledEventId,
    times: [a.startedTime, now],
    events: [startedEvent, closeEvent],
    linkStartedTo: field,
  });
}

export function completeActivity(
  engine: Engine,
  run: WorkflowRun,
  a: ActivityState,
  result: IPayloads | null | undefined,
  identity: string,
): void {
  closeActivity(engine, run, a, 'activityTaskCompletedEventAttributes', {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    activityTaskCompletedEventAttributes: {
      result,
      scheduledEventId: a.scheduledEventId,
      identity,
    },
  });
}

/** A failed attempt: retried inside the server per the retry policy, or written as ActivityTaskFailed. */
export function failActivity(
  engine: Engine,
  run: WorkflowRun,
  a: ActivityState,
  failure: IFailure | null | undefined,
  lastHeartbeatDetails: IPayloads | null | undefined,
  identity: string,
): void {
  if (lastHeartbeatDetails) a.heartbeatDetails = lastHeartbeatDetails;
  const now = engine.now();
  const decision = retryDecision(a.retryPolicy, a.attempt, failure, now, expirationOf(a));
  if (decision.retry) {
    scheduleRetry(engine, run, a, failure, decision.backoffMs);
    return;
  }
  closeActivity(engine, run, a, 'activityTaskFailedEventAttributes', {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    activityTaskFailedEventAttributes: {
      failure,
      scheduledEventId: a.scheduledEventId,
      identity,
      retryState: decision.retryState,
    },
  });
}

export function cancelActivity(
  engine: Engine,
  run: WorkflowRun,
  a: ActivityState,
  details: IPayloads | null | undefined,
  identity: string,
): void {
  closeActivity(engine, run, a, 'activityTaskCanceledEventAttributes', {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    activityTaskCanceledEventAttributes: {
      details,
      latestCancelRequestedEventId: a.cancelRequestedEventId,
      scheduledEventId: a.scheduledEventId,
      identity,
    },
  });
}

/** Records a heartbeat; returns whether cancellation was requested. */
export function heartbeatActivity(engine: Engine, a: ActivityState, details: IPayloads | null | undefined): boolean {
  a.lastHeartbeatTime = engine.now();
  if (details) a.heartbeatDetails = details;
  return a.cancelRequested;
}

function expirationOf(a: ActivityState): number {
  return a.scheduleToCloseMs > 0 ? a.scheduledTime + a.scheduleToCloseMs : 0;
}

function scheduleRetry(
  engine: Engine,
  run: WorkflowRun,
  a: ActivityState,
  failure: IFailure | null | undefined,
  backoffMs: number,
): void {
  clearAttemptTimers(a);
  setBusy(engine, a, 'none');
  a.state = 'backoff';
  a.retryAt = engine.now() + backoffMs;
  a.lastFailure = failure;
  a.attempt++;
  a.dispatchSeq++;
  armRetryTimer(engine, run, a);
  engine.onChange();
}

/** The timer that offers the next attempt after a retry backoff (also re-armed after a snapshot is loaded). */
export function armRetryTimer(engine: Engine, run: WorkflowRun, a: ActivityState): void {
  a.attemptTimers.push(
    engine.clock.schedule(a.retryAt, () => {
      if (run.activities.get(a.scheduledEventId) === a && a.state === 'backoff') offerAttempt(engine, run, a);
    }),
  );
}

/** The schedule-to-close timer of an activity (also re-armed after a snapshot is loaded). */
export function armScheduleToCloseTimer(engine: Engine, run: WorkflowRun, a: ActivityState): void {
  if (a.scheduleToCloseMs <= 0) return;
  a.scheduleToCloseTimer = engine.clock.schedule(a.scheduledTime + a.scheduleToCloseMs, () =>
    timeoutActivity(engine, run, a, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE),
  );
}

function timeoutActivity(
  engine: Engine,
  run: WorkflowRun,
  a: ActivityState,
  timeoutType: temporal.api.enums.v1.TimeoutType,
): void {
  if (run.activities.get(a.scheduledEventId) !== a) return;
  const now = engine.now();
  const failure: IFailure = {
    message: `activity ${timeoutTypeName(timeoutType)} timeout`,
    source: 'Server',
    timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: a.heartbeatDetails },
  };
  let retryState: temporal.api.enums.v1.RetryState = RetryState.RETRY_STATE_TIMEOUT;
  if (timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) {
    const decision = retryDecision(a.retryPolicy, a.attempt, failure, now, expirationOf(a));
    if (decision.retry) {
      scheduleRetry(engine, run, a, failure, decision.backoffMs);
      return;
    }
    retryState = decision.retryState;
  } else if (timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE && a.lastFailure) {
    failure.cause = a.lastFailure;
  }
  closeActivity(engine, run, a, 'activityTaskTimedOutEventAttributes', {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    activityTaskTimedOutEventAttributes: {
      failure,
      scheduledEventId: a.scheduledEventId,
      retryState,
    },
  });
}

/**
 * RequestCancelActivityTask command. An activity not running an attempt is cancelled at once (and a new workflow
 * task is needed, returned true); a running one is marked so its next heartbeat reports the request.
 */
export function requestCancelActivity(
  engine: Engine,
  run: WorkflowRun,
  scheduledEventId: number,
  wftCompletedEventId: number,
  identity: string,
): boolean {
  const cancelRequestedEventId = engine.append(run, {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    activityTaskCancelRequestedEventAttributes: { scheduledEventId, workflowTaskCompletedEventId: wftCompletedEventId },
  });
  const a = run.activities.get(scheduledEventId);
  if (!a) return false;
  a.cancelRequested = true;
  a.cancelRequestedEventId = cancelRequestedEventId;
  if (a.state === 'started') return false;
  clearAttemptTimers(a);
  a.scheduleToCloseTimer?.cancel();
  setBusy(engine, a, 'none');
  run.activities.delete(scheduledEventId);
  engine.append(run, {
    eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    activityTaskCanceledEventAttributes: {
      latestCancelRequestedEventId: cancelRequestedEventId,
      scheduledEventId,
      startedEventId: 0,
      identity,
    },
  });
  return true;
}
