/**
 * A payment that waits a long time (a PROCESSED payment's refund window, a sale Plural is still processing, a payment
 * closing while Plural's order is not final) continues
 * as new once its history is long, so that Temporal's history limit never ends it: the next run carries the payment's
 * state, the gateway events seen most recently (`limits.seenEventsCarried`), the merchant events not yet delivered and
 * the refund orders still to read.
 */
import { allHandlersFinished, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { PaymentRun } from './run';

/** Temporal suggests continuing as new, or the history has reached the payment's own limit. */
export function historyIsLong(run: PaymentRun): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= run.limits.continueAsNewAfterEvents;
}

/** Ends this run with a note and starts the next with what it carries; call with nothing in flight. */
export async function continueRun(run: PaymentRun): Promise<never> {
  const { payment, inbox, outbox } = run;
  payment.note(`continued as new after ${workflowInfo().historyLength} history events`);
  return continueAsNew<(input: typeof run.input) => Promise<unknown>>({
    ...run.input,
    continued: {
      state: payment.snapshot(),
      seenEvents: mostRecent([...inbox.seenEvents], run.limits.seenEventsCarried),
      ...(outbox ? { merchantOutbox: outbox.state() } : {}),
      ...(inbox.refundOrdersNamed.length > 0 ? { refundOrdersNamed: [...inbox.refundOrdersNamed] } : {}),
      ...(inbox.refundOrdersUnread.length > 0 ? { refundOrdersUnread: [...inbox.refundOrdersUnread] } : {}),
      ...(inbox.refundOrdersNotFound.size > 0
        ? { refundOrdersNotFound: Object.fromEntries(inbox.refundOrdersNotFound) }
        : {}),
    },
  });
}

/**
 * The last `keep` of `ids` (a Set keeps the order its ids were first seen in). A continue-as-new's input is not
 * compared on replay, so the bound needs no patch: a run recorded carrying every id replays the same.
 */
function mostRecent(ids: readonly string[], keep: number): string[] {
  return keep > 0 ? ids.slice(-keep) : [];
}

/**
 * The history is long and nothing is in flight: no request waits for its answer, no gateway event for its
 * confirmation, and no merchant event is queued or being delivered (the next run would send it again). The phases
 * that wait on a backoff check it at each look.
 */
export function mayContinue(run: PaymentRun): boolean {
  const { inbox, outbox } = run;
  return (
    historyIsLong(run) &&
    inbox.captures.length === 0 &&
    inbox.cancel === undefined &&
    inbox.otps.length === 0 &&
    inbox.resends.length === 0 &&
    inbox.unconfirmed.length === 0 &&
    inbox.lagging.length === 0 &&
    allHandlersFinished() &&
    (outbox === undefined || (outbox.drained && !outbox.inFlight))
  );
}
