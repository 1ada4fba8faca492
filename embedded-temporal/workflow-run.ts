import type { History, NewEvent } from './history';
import type {
  IFailure,
  IHeader,
  IPayload,
  IPayloads,
  IRetryPolicy,
  IWorkflowQuery,
  Loose,
  WorkflowExecutionStatusValue,
} from './proto';
import type { TimerHandle } from './time';

/** Retry policy with defaults applied, in milliseconds. */
export interface RetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 = unlimited. */
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}

/** The outcome a query caller is waiting for. */
export type QueryOutcome =
  | { kind: 'answered'; answer: IPayloads | null | undefined }
  | { kind: 'failed'; message: string; failure?: IFailure | null };

/** A query waiting for a worker to answer it. */
export interface PendingQuery {
  readonly id: string;
  readonly runId: string;
  readonly query: IWorkflowQuery;
  done: boolean;
  /**
   * Legacy query tasks offered for this query so far; only the latest offer may be handed out, so a query offered
   * again (sticky fallback, or its worker evicted the run) is never handed to two polls for the same offer.
   */
  offers: number;
  /** Set once the latest offer was handed to a worker as a legacy query task. */
  dispatched?: boolean;
  /** Sends the query again when its sticky attempt or a worker's answer takes too long; cancelled once settled. */
  retryTimer?: TimerHandle;
  settle(outcome: QueryOutcome): void;
}

/** The workflow task of a run: at most one is scheduled or started at a time. */
export interface WorkflowTaskState {
  readonly seq: number;
  attempt: number;
  state: 'scheduled' | 'started';
  /** Real id, or the id it would get when the task is transient (attempt > 1, kept out of history). */
  scheduledEventId: number;
  startedEventId: number;
  transient: boolean;
  /** Encoded scheduled/started events of a transient task, appended to responses but not to history. */
  transientEvents: Uint8Array[];
  /** The queue the task is offered on, and whether that is a sticky queue (the response then has only new events). */
  queue: string;
  sticky: boolean;
  /** The sticky queue the task was scheduled for (its event and schedule-to-start timeout), even if redirected. */
  stickyQueue: string | undefined;
  scheduledTime: number;
  originalScheduledTime: number;
  startedTime: number;
  identity: string;
  /** Queries attached to this task (delivered in its `queries`, answered in `queryResults`). */
  readonly queries: Map<string, PendingQuery>;
  timer: TimerHandle | undefined;
}

/** Run-time state of one scheduled activity (retries happen here, writing no events until it closes). */
export interface ActivityState {
  readonly scheduledEventId: number;
  readonly activityId: string;
  readonly activityType: string;
  readonly taskQueue: string;
  readonly header: IHeader | null | undefined;
  readonly input: IPayloads | null | undefined;
  readonly scheduleToCloseMs: number;
  readonly scheduleToStartMs: number;
  readonly startToCloseMs: number;
  readonly heartbeatMs: number;
  readonly retryPolicy: RetryPolicy;
  readonly retryPolicyProto: Loose<IRetryPolicy>;
  attempt: number;
  state: 'scheduled' | 'started' | 'backoff';
  /** Incremented each time an attempt is offered, so stale tokens and queued tasks are recognised. */
  dispatchSeq: number;
  readonly scheduledTime: number;
  currentAttemptScheduledTime: number;
  startedTime: number;
  lastHeartbeatTime: number;
  heartbeatDetails: IPayloads | null | undefined;
  lastFailure: IFailure | null | undefined;
  lastIdentity: string;
  lastRequestId: string;
  cancelRequested: boolean;
  cancelRequestedEventId: number;
  /** When the next attempt is offered (state 'backoff'). */
  retryAt: number;
  /** Attempt-level timers: schedule-to-start, start-to-close, heartbeat or retry backoff. */
  attemptTimers: TimerHandle[];
  scheduleToCloseTimer: TimerHandle | undefined;
  /** How the attempt counts for time skipping: waiting for a worker, running in one, or neither (backoff). */
  busy: 'none' | 'queued' | 'running';
}

/** A user timer started by the workflow. */
export interface UserTimer {
  readonly timerId: string;
  readonly startedEventId: number;
  readonly firesAt: number;
  handle: TimerHandle;
}

/**
 * Events caused by the outside world (signal, activity result, timer, cancel request). While a workflow task is
 * started they wait in the buffer and are written, with their ids, when that task ends. Plain data, so a snapshot
 * can hold it.
 */
export interface BufferedEvent {
  /** Lets a CancelTimer command drop a buffered TimerFired. */
  readonly timerId?: string;
  /** The activity whose result this is. */
  readonly activityScheduledEventId?: number;
  /** Event times (virtual ms), one per event. */
  readonly times: number[];
  readonly events: NewEvent[];
  /**
   * Set for an activity result after its ActivityTaskStarted event: the attributes field of the second event whose
   * `startedEventId` receives the first event's id.
   */
  readonly linkStartedTo?: ActivityCloseAttributes;
}

/** Attribute fields of the events that close an activity. */
export type ActivityCloseAttributes =
  | 'activityTaskCompletedEventAttributes'
  | 'activityTaskFailedEventAttributes'
  | 'activityTaskTimedOutEventAttributes'
  | 'activityTaskCanceledEventAttributes';

/** Sticky execution settings from the last completed workflow task. */
export interface StickyQueue {
  readonly name: string;
  readonly scheduleToStartMs: number;
}

/** Static settings of a run, fixed at start. */
export interface RunConfig {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly firstRunId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly workflowTaskTimeoutMs: number;
  readonly runTimeoutMs: number;
  readonly executionTimeoutMs: number;
  /** 0 when there is no execution timeout. */
  readonly executionExpirationTime: number;
  readonly retryPolicy: RetryPolicy | undefined;
  readonly retryPolicyProto: IRetryPolicy | null | undefined;
  readonly attempt: number;
  readonly startRequestId: string;
  readonly startTime: number;
  readonly executionTime: number;
}

/** Mutable state of one workflow run. */
export class WorkflowRun {
  status: WorkflowExecutionStatusValue;
  closeTime = 0;
  readonly memo = new Map<string, IPayload>();
  readonly searchAttributes = new Map<string, IPayload>();
  wft: WorkflowTaskState | undefined;
  wftSeq = 0;
  /** Started-event id of the last completed workflow task (the poll response's `previousStartedEventId`). */
  lastCompletedStartedEventId = 0;
  sticky: StickyQueue | undefined;
  buffered: BufferedEvent[] = [];
  readonly activities = new Map<number, ActivityState>();
  readonly timers = new Map<string, UserTimer>();
  /** Queries held while a workflow task is in flight. */
  heldQueries: PendingQuery[] = [];
  /** Queries sent as legacy query tasks and not answered yet (offered or handed to a worker). */
  readonly legacyQueries = new Set<PendingQuery>();
  cancelRequested = false;
  /** Set while the first workflow task waits for a start delay or retry/continue-as-new backoff. */
  firstTaskTimer: TimerHandle | undefined;
  runTimeoutTimer: TimerHandle | undefined;
  executionTimeoutTimer: TimerHandle | undefined;
  newExecutionRunId = '';
  /** Request ids of signals already applied, for idempotent retries (created on first use). */
  signalRequestIds: Set<string> | undefined;

  constructor(
    readonly config: RunConfig,
    readonly history: History,
    status: WorkflowExecutionStatusValue,
  ) {
    this.status = status;
  }

  get runId(): string {
    return this.config.runId;
  }

  get workflowId(): string {
    return this.config.workflowId;
  }

  get namespace(): string {
    return this.config.namespace;
  }
}
