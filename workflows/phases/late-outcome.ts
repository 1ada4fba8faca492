/**
 * After the engine gave up on authentication (pre-auth): watch Plural's order for a late authorization and cancel it
 * there, so no authorization stays open behind a failed payment.
 */
import { condition } from '@temporalio/workflow';
import { nowMs } from '../clock';
import { AUTO_CANCEL_REASON, RECONCILE_TRIGGER } from '../metrics';
import type { PaymentRun } from '../run';

export async function watchLateOutcome(run: PaymentRun): Promise<void> {
  const { durations, payment, steps, workflowId } = run;
  if (payment.s.pluralOrderId === undefined) return;
  payment.watchingLateOutcome = true;
  const until = nowMs() + durations.lateAuthorizationWatchMs;
  let delay = durations.reconcileInitialDelayMs;
  while (payment.lateOutcome === undefined && nowMs() < until) {
    const wait = Math.max(1, Math.min(delay, until - nowMs()));
    if (await condition(() => payment.lateOutcome !== undefined, wait)) break;
    await steps.reconcile('watch for a late authorization', RECONCILE_TRIGGER.LATE_WATCH);
    delay = Math.min(delay * 2, durations.reconcileMaxDelayMs);
  }
  payment.watchingLateOutcome = false;
  if (payment.lateOutcome === 'AUTHORIZED') {
    payment.metrics.autoCancel(AUTO_CANCEL_REASON.LATE_AUTHORIZATION);
    const orderId = payment.s.pluralOrderId;
    const cancelled = await steps.run(
      'cancel',
      () => steps.acts.cancelOrder({ workflowId, orderId, step: 'late-authorization-cancel' }),
      () => 'stop',
    );
    payment.note(
      cancelled?.status === 'CANCELLED'
        ? 'late authorization cancelled at Plural'
        : 'late authorization could not be cancelled at Plural; check the order',
    );
  } else if (payment.lateOutcome === 'PROCESSED') {
    payment.note('Plural processed the payment after it was given up; Plural auto-refunds late authorizations');
  }
}
