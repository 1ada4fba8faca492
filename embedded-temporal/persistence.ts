import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { armRetryTimer, armScheduleToCloseTimer, armStartedTimers, offerAttempt, setBusy } from './activities';
import { fireTimer } from './commands';
import { Engine, WorkflowQueueTask, isRunning } from './engine';
import { History } from './history';
import type { NewEvent } from './history';
import { api, encodeMessage } from './proto';
import type { IFailure, IHeader, IPayload, IPayloads, IRetryPolicy, Loose } from './proto';
import { WorkflowRun } from './workflow-run';
import type { ActivityCloseAttributes, ActivityState, RunConfig, WorkflowTaskState } from './workflow-run';

const SNAPSHOT_VERSION = 1;
const WRITE_INTERVAL_MS = 500;

const v1 = api;
type B64 = string;

interface WftSnapshot {
  seq: number;
  attempt: number;
  state: 'scheduled' | 'started';
  scheduledEventId: number;
  startedEventId: number;
  transient: boolean;
  transientEvents: B64[];
  queue: string;
  sticky: boolean;
  stickyQueue?: string;
  scheduledTime: number;
  originalScheduledTime: number;
  startedTime: number;
  identity: string;
}

interface ActivitySnapshot {
  scheduledEventId: number;
  activityId: string;
  activityType: string;
  taskQueue: string;
  header?: B64;
  input?: B64;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  retryPolicy: ActivityState['retryPolicy'];
  retryPolicyProto: B64;
  attempt: number;
  state: ActivityState['state'];
  dispatchSeq: number;
  scheduledTime: number;
  currentAttemptScheduledTime: number;
  startedTime: number;
  lastHeartbeatTime: number;
  heartbeatDetails?: B64;
  lastFailure?: B64;
  lastIdentity: string;
  lastRequestId: string;
  cancelRequested: boolean;
  cancelRequestedEventId: number;
  retryAt: number;
}

interface RunSnapshot {
  config: Omit<RunConfig, 'retryPolicyProto'> & { retryPolicyProto?: B64 };
  status: number;
  closeTime: number;
  memo: Record<string, B64>;
  searchAttributes: Record<string, B64>;
  events: B64[];
  wft?: WftSnapshot;
  wftSeq: number;
  lastCompletedStartedEventId: number;
  sticky?: { name: string; scheduleToStartMs: number };
  buffered: {
    timerId?: string;
    activityScheduledEventId?: number;
    times: number[];
    events: B64[];
    linkStartedTo?: ActivityCloseAttributes;
  }[];
  activities: ActivitySnapshot[];
  timers: { timerId: string; startedEventId: number; firesAt: number }[];
  cancelRequested: boolean;
  newExecutionRunId: string;
  firstTaskPending: boolean;
}

interface Snapshot {
  version: number;
  savedAt: number;
  clockOffset: number;
  taskIdSeq: number;
  searchAttributeTypes: Record<string, number>;
  current: string[];
  runs: RunSnapshot[];
}

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

function enc<T>(type: Codec<T>, value: Loose<T> | T | null | undefined): B64 | undefined {
  if (value === null || value === undefined) return undefined;
  return Buffer.from(encodeMessage(type, value as Loose<T>)).toString('base64');
}

function dec<T>(type: Codec<T>, value: B64 | undefined): T | undefined {
  return value === undefined ? undefined : type.decode(Buffer.from(value, 'base64'));
}

const b64 = (bytes: Uint8Array): B64 => Buffer.from(bytes).toString('base64');
const unb64 = (text: B64): Buffer => Buffer.from(text, 'base64');

const PayloadT = v1.common.v1.Payload as unknown as Codec<IPayload>;
const PayloadsT = v1.common.v1.Payloads as unknown as Codec<IPayloads>;
const HeaderT = v1.common.v1.Header as unknown as Codec<IHeader>;
const FailureT = v1.failure.v1.Failure as unknown as Codec<IFailure>;
const RetryPolicyT = v1.common.v1.RetryPolicy as unknown as Codec<IRetryPolicy>;
const HistoryEventT = v1.history.v1.HistoryEvent as unknown as Codec<temporal.api.history.v1.IHistoryEvent>;

/**
 * Write-behind snapshot of the whole service state to one JSON file (written at most every 500 ms after a change,
 * atomically via rename, and on stop), loaded at start. After a load, scheduled tasks are offered again, started
 * workflow tasks time out at once (their worker is gone) and every timer is re-armed at its original deadline.
 */
export class Persistence {
  private dirty = false;
  private writing: Promise<void> | undefined;
  private interval: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly file: string,
  ) {}

  /** Loads the snapshot if the file exists. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const snapshot = JSON.parse(text) as Snapshot;
    if (snapshot.version !== SNAPSHOT_VERSION) {
      throw new Error(
        `persistence file ${this.file} has version ${snapshot.version}, expected ${SNAPSHOT_VERSION}; move it away to start empty`,
      );
    }
    restore(this.engine, snapshot);
  }

  /** Starts writing snapshots after changes. */
  start(): void {
    this.engine.onChange = () => {
      this.dirty = true;
    };
    // Loading may have changed state (timed-out workflow tasks); write it once.
    this.dirty = true;
    this.interval = setInterval(() => void this.flush(), WRITE_INTERVAL_MS);
    this.interval.unref();
  }

  /** Writes the snapshot now if anything changed since the last write. */
  async flush(): Promise<void> {
    if (this.writing) await this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
    });
    await this.writing;
  }

  async stop(): Promise<void> {
    if (this.interval) clearInterval(this.interval);
    this.dirty = true;
    await this.flush();
  }

  private async write(): Promise<void> {
    const text = JSON.stringify(snapshotOf(this.engine));
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, this.file);
  }
}

function snapshotOf(engine: Engine): Snapshot {
  return {
    version: SNAPSHOT_VERSION,
    savedAt: Date.now(),
    clockOffset: engine.clock.offset,
    taskIdSeq: engine.lastTaskId,
    searchAttributeTypes: Object.fromEntries(engine.searchAttributeTypes),
    current: [...engine.current.values()].map((r) => r.runId),
    runs: [...engine.runs.values()].map(runSnapshot),
  };
}

function payloadMap(map: Map<string, IPayload>): Record<string, B64> {
  const out: Record<string, B64> = {};
  for (const [k, v] of map) out[k] = enc(PayloadT, v)!;
  return out;
}

function runSnapshot(run: WorkflowRun): RunSnapshot {
  const { retryPolicyProto, ...config } = run.config;
  const wft = run.wft;
  return {
    config: { ...config, retryPolicyProto: enc(RetryPolicyT, retryPolicyProto) },
    status: run.status,
    closeTime: run.closeTime,
    memo: payloadMap(run.memo),
    searchAttributes: payloadMap(run.searchAttributes),
    events: run.history.events.map(b64),
    wft: wft
      ? {
          seq: wft.seq,
          attempt: wft.attempt,
          state: wft.state,
          scheduledEventId: wft.scheduledEventId,
          startedEventId: wft.startedEventId,
          transient: wft.transient,
          transientEvents: wft.transientEvents.map(b64),
          queue: wft.queue,
          sticky: wft.sticky,
          stickyQueue: wft.stickyQueue,
          scheduledTime: wft.scheduledTime,
          originalScheduledTime: wft.originalScheduledTime,
          startedTime: wft.startedTime,
          identity: wft.identity,
        }
      : undefined,
    wftSeq: run.wftSeq,
    lastCompletedStartedEventId: run.lastCompletedStartedEventId,
    sticky: run.sticky,
    buffered: run.buffered.map((b) => ({
      timerId: b.timerId,
      activityScheduledEventId: b.activityScheduledEventId,
      times: b.times,
      events: b.events.map((e) => enc(HistoryEventT, { ...e, eventId: 0 })!),
      linkStartedTo: b.linkStartedTo,
    })),
    activities: [...run.activities.values()].map((a) => ({
      scheduledEventId: a.scheduledEventId,
      activityId: a.activityId,
      activityType: a.activityType,
      taskQueue: a.taskQueue,
      header: enc(HeaderT, a.header),
      input: enc(PayloadsT, a.input),
      scheduleToCloseMs: a.scheduleToCloseMs,
      scheduleToStartMs: a.scheduleToStartMs,
      startToCloseMs: a.startToCloseMs,
      heartbeatMs: a.heartbeatMs,
      retryPolicy: a.retryPolicy,
      retryPolicyProto: enc(RetryPolicyT, a.retryPolicyProto)!,
      attempt: a.attempt,
      state: a.state,
      dispatchSeq: a.dispatchSeq,
      scheduledTime: a.scheduledTime,
      currentAttemptScheduledTime: a.currentAttemptScheduledTime,
      startedTime: a.startedTime,
      lastHeartbeatTime: a.lastHeartbeatTime,
      heartbeatDetails: enc(PayloadsT, a.heartbeatDetails),
      lastFailure: enc(FailureT, a.lastFailure),
      lastIdentity: a.lastIdentity,
      lastRequestId: a.lastRequestId,
      cancelRequested: a.cancelRequested,
      cancelRequestedEventId: a.cancelRequestedEventId,
      retryAt: a.retryAt,
    })),
    timers: [...run.timers.values()].map((t) => ({
      timerId: t.timerId,
      startedEventId: t.startedEventId,
      firesAt: t.firesAt,
    })),
    cancelRequested: run.cancelRequested,
    newExecutionRunId: run.newExecutionRunId,
    firstTaskPending: run.firstTaskTimer !== undefined,
  };
}

function restore(engine: Engine, snapshot: Snapshot): void {
  engine.clock.restoreOffset(snapshot.clockOffset);
  engine.restoreCounters(snapshot.taskIdSeq);
  for (const [k, v] of Object.entries(snapshot.searchAttributeTypes)) engine.searchAttributeTypes.set(k, v);
  const restored: { run: WorkflowRun; snap: RunSnapshot }[] = [];
  for (const snap of snapshot.runs) {
    const { retryPolicyProto, ...config } = snap.config;
    const run = new WorkflowRun(
      { ...config, retryPolicyProto: dec(RetryPolicyT, retryPolicyProto) },
      new History(snap.events.map(unb64)),
      snap.status,
    );
    run.closeTime = snap.closeTime;
    for (const [k, v] of Object.entries(snap.memo)) run.memo.set(k, dec(PayloadT, v)!);
    for (const [k, v] of Object.entries(snap.searchAttributes)) run.searchAttributes.set(k, dec(PayloadT, v)!);
    run.wftSeq = snap.wftSeq;
    run.lastCompletedStartedEventId = snap.lastCompletedStartedEventId;
    run.cancelRequested = snap.cancelRequested;
    run.newExecutionRunId = snap.newExecutionRunId;
    run.buffered = snap.buffered.map((b) => ({
      timerId: b.timerId,
      activityScheduledEventId: b.activityScheduledEventId,
      times: b.times,
      events: b.events.map((e) => dec(HistoryEventT, e) as NewEvent),
      linkStartedTo: b.linkStartedTo,
    }));
    engine.runs.set(run.runId, run);
    restored.push({ run, snap });
  }
  for (const runId of snapshot.current) {
    const run = engine.runs.get(runId);
    if (run) engine.current.set(Engine.key(run.namespace, run.workflowId), run);
  }
  // Re-arm timers and re-offer tasks only once every run exists.
  for (const { run, snap } of restored) {
    if (!isRunning(run)) continue;
    engine.armRunTimeouts(run);
    if (snap.firstTaskPending) engine.armFirstTaskTimer(run);
    for (const t of snap.timers) {
      const handle = engine.clock.schedule(t.firesAt, () => fireTimer(engine, run, t.timerId, t.startedEventId));
      run.timers.set(t.timerId, { ...t, handle });
    }
    for (const a of snap.activities) restoreActivity(engine, run, a);
    if (snap.wft) restoreWorkflowTask(engine, run, snap.wft);
  }
}

function restoreActivity(engine: Engine, run: WorkflowRun, s: ActivitySnapshot): void {
  const a: ActivityState = {
    ...s,
    header: dec(HeaderT, s.header),
    input: dec(PayloadsT, s.input),
    retryPolicyProto: dec(RetryPolicyT, s.retryPolicyProto) ?? {},
    heartbeatDetails: dec(PayloadsT, s.heartbeatDetails),
    lastFailure: dec(FailureT, s.lastFailure),
    attemptTimers: [],
    scheduleToCloseTimer: undefined,
    busy: 'none',
  };
  run.activities.set(a.scheduledEventId, a);
  armScheduleToCloseTimer(engine, run, a);
  if (a.state === 'scheduled') {
    offerAttempt(engine, run, a);
  } else if (a.state === 'started') {
    // The attempt may still be running in a worker that outlived the restart; its timeouts still apply.
    setBusy(engine, a, 'running');
    armStartedTimers(engine, run, a);
  } else {
    armRetryTimer(engine, run, a);
  }
}

function restoreWorkflowTask(engine: Engine, run: WorkflowRun, s: WftSnapshot): void {
  const wft: WorkflowTaskState = {
    ...s,
    stickyQueue: undefined,
    transientEvents: s.transientEvents.map(unb64),
    queries: new Map(),
    timer: undefined,
  };
  run.wft = wft;
  engine.clock.busy(1);
  if (wft.state === 'started') {
    // Its worker is gone with the old process: time it out now, as the real server would after the timeout.
    engine.failWorkflowTask(run, wft, 0, undefined, '', true);
    return;
  }
  // The sticky worker is gone too: offer the task on the normal queue.
  wft.queue = run.config.taskQueue;
  wft.sticky = false;
  run.sticky = undefined;
  engine.workflowQueues.offer(run.namespace, wft.queue, new WorkflowQueueTask(run, wft, undefined));
}
