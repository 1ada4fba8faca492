/**
 * Temporal calls with a deadline, and the report on a payment that did not settle. Every call the suite makes to
 * Temporal (describe, query, result, count, list, signal, fetchHistory) goes through {@link withinDeadline}, so a run
 * whose payments cannot settle fails with a list of them instead of hanging.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { getPaymentQuery, SEARCH_ATTRIBUTE } from '../../workflows/definitions';

/** A Temporal call that did not answer in time. */
export class TemporalCallTimeoutError extends Error {
  override readonly name = 'TemporalCallTimeoutError';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`Temporal call ${what} did not answer within ${timeoutMs} ms`);
  }
}

/** Grace after the gRPC deadline before our own timer gives up on the call. */
const GUARD_GRACE_MS = 2_000;

/**
 * Runs `fn` (one or more Temporal calls) under a gRPC deadline `timeoutMs` from now, so the server stops waiting too,
 * and under a timer of our own a little later, so nothing in the SDK (a retry loop, a paging iterator, a long poll)
 * can hold the caller past it.
 * @throws {TemporalCallTimeoutError} when our timer fires first; otherwise whatever the call threw
 */
export async function withinDeadline<T>(
  client: Client,
  what: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TemporalCallTimeoutError(what, timeoutMs)), timeoutMs + GUARD_GRACE_MS);
  });
  try {
    return await Promise.race([client.withDeadline(Date.now() + timeoutMs, fn), guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is known about a payment workflow that has not closed when the run is over. */
export interface UnsettledPayment {
  workflowId: string;
  /** Temporal's execution status (`RUNNING`), or why it could not be described. */
  execution: string;
  /**
   * The workflow's own answer to the payment query (`status`, parked operation, last audit entries), or, when the
   * query does not answer, the `PaymentStatus` search attribute it last upserted.
   */
  lastKnownState: string;
  /** What the driver last read through the API. */
  lastSeenByDriver: string | undefined;
  historyLength: number | undefined;
  /** Pending activities: type, attempt, state (`SCHEDULED`, `STARTED`, `CANCEL_REQUESTED`). */
  pendingActivities: string[];
  /** The pending workflow task, if any: state and attempt (a task failing over and over shows here). */
  pendingWorkflowTask: string | undefined;
  /** The last few history event types. */
  lastEvents: string[];
}

const reason = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

const { EventType, PendingActivityState, PendingWorkflowTaskState } = temporal.api.enums.v1;
/** A proto enum value by its name without the common prefix (`WORKFLOW_TASK_FAILED`), or its number. */
const enumName = (names: Record<number, string>, value: number | null | undefined, prefix: string): string =>
  value === null || value === undefined ? '?' : (names[value]?.replace(prefix, '') ?? String(value));

/** Collects what Temporal knows about an unsettled payment workflow; every call has a deadline, none may throw. */
export async function diagnoseUnsettled(
  client: Client,
  workflowId: string,
  lastSeenByDriver: string | undefined,
  callTimeoutMs: number,
): Promise<UnsettledPayment> {
  const handle = client.workflow.getHandle(workflowId);
  const out: UnsettledPayment = {
    workflowId,
    execution: 'unknown',
    lastKnownState: 'unknown',
    lastSeenByDriver,
    historyLength: undefined,
    pendingActivities: [],
    pendingWorkflowTask: undefined,
    lastEvents: [],
  };
  try {
    const d = await withinDeadline(client, `describe ${workflowId}`, callTimeoutMs, () => handle.describe());
    out.execution = d.status.name;
    out.historyLength = d.historyLength;
    const status = d.typedSearchAttributes.get(SEARCH_ATTRIBUTE.PAYMENT_STATUS);
    const parked = d.typedSearchAttributes.get(SEARCH_ATTRIBUTE.PARKED_OPERATION);
    out.lastKnownState = `search attributes: status ${status ?? '?'}, parked ${parked ?? '?'}`;
    out.pendingActivities = (d.raw.pendingActivities ?? []).map(
      (a) =>
        `${a.activityType?.name ?? '?'} attempt ${a.attempt ?? '?'} ${enumName(PendingActivityState, a.state, 'PENDING_ACTIVITY_STATE_')}`,
    );
    const task = d.raw.pendingWorkflowTask;
    if (task) {
      const state = enumName(PendingWorkflowTaskState, task.state, 'PENDING_WORKFLOW_TASK_STATE_');
      out.pendingWorkflowTask = `${state} attempt ${task.attempt ?? '?'}`;
    }
  } catch (err) {
    out.execution = `describe failed (${reason(err)})`;
  }
  try {
    const s = await withinDeadline(client, `query ${workflowId}`, callTimeoutMs, () => handle.query(getPaymentQuery));
    const audit = s.audit
      .slice(-3)
      .map((a) => `${a.from}->${a.to} ${a.cause}`)
      .join('; ');
    out.lastKnownState = `query: status ${s.status}, parked ${s.parked?.operation ?? 'none'}, last audit [${audit}]`;
  } catch (err) {
    out.lastKnownState += ` (the query failed: ${reason(err)})`;
  }
  try {
    const history = await withinDeadline(client, `fetchHistory ${workflowId}`, callTimeoutMs, () =>
      handle.fetchHistory(),
    );
    out.lastEvents = (history.events ?? []).slice(-4).map((e) => enumName(EventType, e.eventType, 'EVENT_TYPE_'));
  } catch (err) {
    out.lastEvents = [`fetchHistory failed (${reason(err)})`];
  }
  return out;
}

/** One line per unsettled payment, for the failure message and the log. */
export function formatUnsettled(u: UnsettledPayment): string {
  return [
    `${u.workflowId}: ${u.execution}`,
    `last known state ${u.lastKnownState}`,
    `driver last saw ${u.lastSeenByDriver ?? 'nothing'}`,
    `history length ${u.historyLength ?? '?'}`,
    `pending activities [${u.pendingActivities.join(', ')}]`,
    `pending workflow task ${u.pendingWorkflowTask ?? 'none'}`,
    `last events [${u.lastEvents.join(', ')}]`,
  ].join(', ');
}
