/**
 * A workflow interceptor that keeps a cached payment from moving outside a workflow task, where it would write a
 * history its own replay refuses.
 *
 * The hazard (the Temporal SDK's core, @temporalio 1.24.0; reproduced by test/worker/query-split.test.ts): a query
 * that a worker takes from the normal task queue carries the whole history. When that worker holds the payment in
 * its cache and the history ends in events no workflow task has processed yet (an activity's result, a fired timer,
 * a signal), the worker applies them to the cached payment to answer the query: the payment moves, and queues its
 * commands, outside any workflow task. The workflow task that follows brings only what arrived since — an Update,
 * say — in an activation of its own, so the history records the Update after the activity's effects; a replay
 * delivers both in one activation, Updates first, and fails (`Update machine does not handle this event:
 * UpsertWorkflowSearchAttributes`). The resilience suite met it: its client reads a payment (a query) while the
 * worker is slow after a restart, sees AWAITING_OTP and sends the OTP at once.
 *
 * How it is recognised: workflow time only moves at a workflow task's start, so an activation whose history length
 * moved past the previous activation's while its time did not applies events outside a workflow task. That
 * activation fails here before any of its jobs run: the query is refused (the API reads the memo or asks again), the
 * worker drops the cached payment, and the next workflow task replays it from history, receiving everything in one
 * activation in replay's order. Replays never meet the case and this changes no command, so running payments replay
 * as before.
 */
import type { ActivateInput, Next, WorkflowInterceptors, WorkflowInternalsInterceptor } from '@temporalio/workflow';

/** In the message of the failure below (what a refused query's caller reads, through the codec). */
const OUTSIDE_WORKFLOW_TASK = 'outside a workflow task';

type Timestamp = ActivateInput['activation']['timestamp'];

const sameTime = (a: Timestamp, b: Timestamp): boolean =>
  a != null && b != null && String(a.seconds) === String(b.seconds) && (a.nanos ?? 0) === (b.nanos ?? 0);

/** Fails the activation that would apply events outside a workflow task (see the module's comment). */
export class TaskBoundaryInterceptor implements WorkflowInternalsInterceptor {
  private last: { historyLength: number; timestamp: Timestamp } | undefined;

  activate(input: ActivateInput, next: Next<WorkflowInternalsInterceptor, 'activate'>): void {
    const { activation, batchIndex } = input;
    const jobs = activation.jobs ?? [];
    if (batchIndex === 0 && jobs.some((job) => job.queryWorkflow == null)) {
      const historyLength = Number(activation.historyLength ?? 0);
      const last = this.last;
      if (
        last !== undefined &&
        !activation.isReplaying &&
        historyLength > last.historyLength &&
        sameTime(activation.timestamp, last.timestamp)
      ) {
        throw new Error(
          `refused to apply history events ${last.historyLength + 1}–${historyLength} ${OUTSIDE_WORKFLOW_TASK} ` +
            '(a query reached a worker before their task ran); ask again once the task has run',
        );
      }
      this.last = { historyLength, timestamp: activation.timestamp };
    }
    next(input);
  }
}

/** Registered with every payment worker and bundle (worker/worker.ts, `workflowInterceptorModules`). */
export const interceptors = (): WorkflowInterceptors => ({ internals: [new TaskBoundaryInterceptor()] });
