/**
 * A payment's shape, counted from its history: what the floor must do to be "the same payment, minus the work".
 * Phases start at each accepted Update (update-with-start, OTP, capture); an activity belongs to the phase in which it
 * was scheduled, and counts as awaited by the answer when it completed before that phase's Update did; signals,
 * search-attribute upserts and memo updates belong to the phase in which they happened.
 */
import type { temporal } from '@temporalio/proto';
import type { FloorPhase, FloorShape } from './definitions';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Everything counted in one history (for the report), and the shape the floor is given. */
export interface HistoryCount {
  events: number;
  workflowTasks: number;
  /** Activity type → times scheduled. */
  activities: Record<string, number>;
  activitiesTotal: number;
  /** Accepted Updates, in order. */
  updates: string[];
  /** Signal name → times received. */
  signals: Record<string, number>;
  timersStarted: number;
  searchAttributeUpserts: number;
  memoUpdates: number;
  shape: FloorShape;
}

// Event types by their proto name (the enum's numbers are the wire format; names read better and are stable).
const T = {
  WORKFLOW_TASK_COMPLETED: 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
  ACTIVITY_SCHEDULED: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
  ACTIVITY_COMPLETED: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
  UPDATE_ACCEPTED: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
  UPDATE_COMPLETED: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
  SIGNALED: 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED',
  TIMER_STARTED: 'EVENT_TYPE_TIMER_STARTED',
  UPSERT_SEARCH_ATTRIBUTES: 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
  PROPERTIES_MODIFIED: 'EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED',
} as const;

const PHASES = ['open', 'otp', 'capture'] as const;

/**
 * Counts `events` of one payment (create → OTP → capture). `typeName` turns an event's numeric type into its proto
 * name (`temporal.api.enums.v1.EventType[n]`), passed in so this module stays free of the proto runtime.
 * @throws {Error} when the history does not have the three Updates of the benchmark's payment.
 */
export function countHistory(events: readonly HistoryEvent[], typeName: (type: number) => string): HistoryCount {
  const count: Omit<HistoryCount, 'shape'> = {
    events: events.length,
    workflowTasks: 0,
    activities: {},
    activitiesTotal: 0,
    updates: [],
    signals: {},
    timersStarted: 0,
    searchAttributeUpserts: 0,
    memoUpdates: 0,
  };
  const phases: FloorPhase[] = PHASES.map(() => ({ activities: 0, background: 0, signals: 0, upserts: 0, memos: 0 }));
  const answered = PHASES.map(() => false);
  const phaseOfUpdate = new Map<string, number>();
  const phaseOfActivity = new Map<string, number>();
  let current = 0;
  for (const e of events) {
    const id = String(e.eventId ?? '');
    switch (typeName(e.eventType ?? 0)) {
      case T.WORKFLOW_TASK_COMPLETED:
        count.workflowTasks += 1;
        break;
      case T.UPDATE_ACCEPTED: {
        const a = e.workflowExecutionUpdateAcceptedEventAttributes;
        current = count.updates.length;
        count.updates.push(a?.acceptedRequest?.input?.name ?? '?');
        phaseOfUpdate.set(a?.acceptedRequest?.meta?.updateId ?? a?.protocolInstanceId ?? '', current);
        break;
      }
      case T.UPDATE_COMPLETED: {
        const phase = phaseOfUpdate.get(e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId ?? '');
        if (phase !== undefined) answered[phase] = true;
        break;
      }
      case T.ACTIVITY_SCHEDULED: {
        const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        count.activities[name] = (count.activities[name] ?? 0) + 1;
        count.activitiesTotal += 1;
        phaseOfActivity.set(id, current);
        break;
      }
      case T.ACTIVITY_COMPLETED: {
        const phase = phaseOfActivity.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? ''));
        const p = phase === undefined ? undefined : phases[phase];
        if (phase !== undefined && p) {
          if (answered[phase]) p.background += 1;
          else p.activities += 1;
        }
        break;
      }
      case T.SIGNALED: {
        const name = e.workflowExecutionSignaledEventAttributes?.signalName ?? '?';
        count.signals[name] = (count.signals[name] ?? 0) + 1;
        const p = phases[current];
        if (p) p.signals += 1;
        break;
      }
      case T.TIMER_STARTED:
        count.timersStarted += 1;
        break;
      case T.UPSERT_SEARCH_ATTRIBUTES: {
        count.searchAttributeUpserts += 1;
        const p = phases[current];
        if (p) p.upserts += 1;
        break;
      }
      case T.PROPERTIES_MODIFIED: {
        count.memoUpdates += 1;
        const p = phases[current];
        if (p) p.memos += 1;
        break;
      }
      default:
        break;
    }
  }
  const [open, otp, capture] = phases;
  if (count.updates.length !== PHASES.length || !open || !otp || !capture) {
    throw new Error(
      `a benchmark payment's history should hold 3 Updates (create, OTP, capture), not ${count.updates.join(', ') || 'none'}`,
    );
  }
  return { ...count, shape: { open, otp, capture } };
}

/** The shape most of `counts` share, with how many share it (payments differ when a webhook comes early or late). */
export function commonShape(counts: readonly HistoryCount[]): { count: HistoryCount; share: number } {
  const byShape = new Map<string, HistoryCount[]>();
  for (const c of counts) {
    const key = JSON.stringify(c.shape);
    byShape.set(key, [...(byShape.get(key) ?? []), c]);
  }
  const best = [...byShape.values()].sort((a, b) => b.length - a.length)[0];
  const first = best?.[0];
  if (!best || !first) throw new Error('no payment history to count');
  return { count: first, share: best.length };
}
