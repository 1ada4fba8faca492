/**
 * A sale Plural has authorized but not yet processed (PROCESSING): neither capture nor cancel applies, and nothing
 * cancels it automatically. The engine reads Plural's order on a backoff (and at every callback or webhook) until it
 * is processed, failed, or cancelled there. A sale Plural leaves unprocessed for days continues as new once its history
 * is long (its reads would otherwise grow it to Temporal's limit), with nothing in flight.
 */
import { patched } from '@temporalio/workflow';
import { nowMs } from '../clock';
import { continueRun, mayContinue } from '../continue-as-new';
import { PAYMENT_STATUS } from '../definitions';
import { RECONCILE_TRIGGER } from '../metrics';
import { PATCH } from '../patches';
import type { PaymentRun } from '../run';
import { rejectCaptures } from './settle';

export async function awaitSaleProcessed(run: PaymentRun): Promise<void> {
  const { durations, payment, inbox, steps } = run;
  let delay = durations.reconcileInitialDelayMs;
  let nextAt = nowMs() + delay;
  /** This run has read Plural's order: a run continues as new only after one look of its own (never in a loop). */
  let looked = false;
  while (payment.status === PAYMENT_STATUS.PROCESSING) {
    rejectCaptures(run);
    // A cancel that arrived before Plural authorized the sale: refused now (the validator refuses new ones).
    const cancel = inbox.takeCancel();
    if (cancel) {
      payment.note('cancel refused: a sale Plural has authorized is processed, not cancelled');
      inbox.answerAll(cancel.ids, { state: payment.snapshot() });
    }
    if (await steps.confirmEvents()) {
      looked = true;
      continue;
    }
    if (looked && mayContinue(run) && patched(PATCH.PROCESSING_SALE_CONTINUES_AS_NEW)) await continueRun(run);
    if (nowMs() >= nextAt) {
      await steps.reconcile('Get Order while the sale is processing', RECONCILE_TRIGGER.SALE_PROCESSING);
      looked = true;
      delay = Math.min(delay * 2, durations.reconcileMaxDelayMs);
      nextAt = nowMs() + delay;
      continue;
    }
    await steps.waitFor(
      nextAt,
      () => payment.status !== PAYMENT_STATUS.PROCESSING || inbox.captures.length > 0 || inbox.cancel !== undefined,
    );
  }
}
