/**
 * A payment being stopped (CLOSING): the merchant or an operator cancelled before authorization, or the customer did
 * not authenticate in time, while Plural's order could still take money — Plural cancels only authorized orders, so a
 * checkout link or a pending challenge keeps working until Plural ends it. Until Plural's order is final the engine
 * reads it (on a backoff capped by `closingReconcileMaxDelayMs`, and at every callback or webhook) and acts on it:
 * an authorization is cancelled, money Plural took is refunded (idempotently) and confirmed. The payment then ends
 * CANCELLED, or FAILED when the customer did not authenticate in time, with the money Plural took and returned in its
 * amounts. A watch that lasts continues as new once its history is long.
 */
import { patched } from '@temporalio/workflow';
import { isoAt, nowMs } from '../clock';
import { continueRun, mayContinue } from '../continue-as-new';
import { MIN_REFUND_VALUE, PAYMENT_STATUS } from '../definitions';
import type { ClosingReason, RefundRecord } from '../definitions';
import { AUTO_CANCEL_REASON, AUTO_REFUND_OUTCOME, AUTO_REFUND_REASON, RECONCILE_TRIGGER } from '../metrics';
import type { AutoRefundReason } from '../metrics';
import { PATCH } from '../patches';
import { isFinalStage } from '../plural-order';
import type { PaymentRun } from '../run';
import { stopWhenSince } from '../steps';
import { refundableValue } from '../validators';
import { closingHasRefundsToRecord, giveUpUnreadRefundOrders, recordRefundsWhileClosing } from './refunds';
import { CANCEL_ANSWERED_AUTHORIZED_NOTE, cancelRetryAtMs, rejectCaptures } from './settle';

const MIN_REFUND = MIN_REFUND_VALUE;

const refundReason = (reason: ClosingReason | undefined): AutoRefundReason =>
  reason === 'OPERATOR_CANCEL'
    ? AUTO_REFUND_REASON.OPERATOR_CANCEL
    : reason === 'WORKFLOW_CANCELLED'
      ? AUTO_REFUND_REASON.WORKFLOW_CANCELLED
      : reason === 'AUTHENTICATION_WINDOW_CLOSED'
        ? AUTO_REFUND_REASON.AUTHENTICATION_WINDOW_CLOSED
        : AUTO_REFUND_REASON.MERCHANT_CANCEL;

export async function closePayment(run: PaymentRun): Promise<void> {
  const { durations, payment, inbox, steps, input } = run;
  let delay = durations.reconcileInitialDelayMs;
  // The first look at Plural's order comes at once: it may be final already.
  let nextAt = nowMs();
  const lookSoon = (): void => {
    nextAt = nowMs();
  };
  /** Not before then is a late authorization cancelled again (after Plural answered a cancel without effect). */
  let cancelAgainAt = 0;
  /** Cancels of a late authorization Plural answered with its order still AUTHORIZED. */
  let withoutEffect = 0;
  while (payment.status === PAYMENT_STATUS.CLOSING) {
    rejectCaptures(run);
    const cancel = inbox.takeCancel();
    if (cancel) {
      payment.note('cancel requested again: the payment is already closing');
      inbox.answerAll(cancel.ids, { state: payment.snapshot() });
    }
    if (payment.s.pluralOrderId === undefined) {
      // Nothing was created at Plural: nothing can take money.
      payment.finishClosing('closed: no order exists at Plural');
      return;
    }
    if (await steps.confirmEvents()) continue;
    // Refunds Plural's events named count before the engine refunds what Plural kept (else Plural refuses it); then
    // the loop looks again (another may have been named meanwhile).
    if (closingHasRefundsToRecord(run, false)) {
      await recordRefundsWhileClosing(run, false);
      continue;
    }
    let pending = payment.s.refunds.find((r) => r.status === 'PENDING');
    if (nowMs() >= nextAt) {
      if (pending?.refundOrderId !== undefined) await checkRefund(run, pending);
      await steps.reconcile('Get Order while the payment is closing', RECONCILE_TRIGGER.CLOSING);
      if (closingHasRefundsToRecord(run, true)) {
        await recordRefundsWhileClosing(run, true);
        // One just recorded PENDING (made by hand) is waited for like the engine's own.
        pending ??= payment.s.refunds.find((r) => r.status === 'PENDING');
      }
      delay = Math.min(delay * 2, durations.closingReconcileMaxDelayMs);
      nextAt = nowMs() + delay;
    }
    const stage = payment.stage;
    if (stage === 'AUTHORIZED' && input.preAuth && nowMs() >= cancelAgainAt) {
      const answered = await cancelLateAuthorization(run, withoutEffect);
      // Plural answered but its order still reads AUTHORIZED: looked at again on the backoff and cancelled again then,
      // not at once (a loop of cancels and reads with no timer between them).
      if (answered && payment.stage === 'AUTHORIZED' && patched(PATCH.CANCEL_AGAIN_AFTER_A_PAUSE)) {
        payment.noteOnce(CANCEL_ANSWERED_AUTHORIZED_NOTE);
        nextAt = nowMs() + delay;
        cancelAgainAt = nextAt;
        withoutEffect += 1;
      } else lookSoon();
      continue;
    }
    if ((stage === 'CAPTURED' || stage === 'REFUNDED') && payment.netCaptured > 0 && pending === undefined) {
      await refundTakenMoney(run);
      lookSoon();
      continue;
    }
    // A refund of money Plural took that is still PENDING is confirmed (at the next look) before the payment ends.
    const refundAwaited = payment.s.refunds.some((r) => r.status === 'PENDING' && r.refundOrderId !== undefined);
    const settled =
      (isFinalStage(stage) && (!refundAwaited || !patched(PATCH.CLOSING_WAITS_FOR_ITS_REFUND))) ||
      ((stage === 'CAPTURED' || stage === 'REFUNDED') && payment.netCaptured <= 0 && pending === undefined) ||
      // A seamless payment's failed attempt: only the engine could make another, and it will not.
      (stage === 'ATTEMPT_FAILED' && input.method.kind !== 'hosted_checkout');
    if (settled) {
      giveUpUnreadRefundOrders(run, 'before the payment ended');
      const refunded = payment.s.amountRefunded?.value ?? 0;
      payment.finishClosing(
        `closed: Plural order ${payment.s.pluralOrderStatus ?? 'unknown'}` +
          (refunded > 0 ? `, ${refunded} refunded of ${payment.s.amountCaptured?.value ?? 0} taken` : ''),
      );
      return;
    }
    // A watch that lasts (Plural never ends the order): the run continues as new when its history is long (after its
    // first look, above), unless a late authorization's cancel is being asked again (its pause and idempotency key
    // are this run's).
    const cancelPausing = stage === 'AUTHORIZED' && input.preAuth;
    if (!cancelPausing && mayContinue(run) && patched(PATCH.CLOSING_WATCH_CONTINUES_AS_NEW)) {
      await continueRun(run);
    }
    await steps.waitFor(nextAt, () => payment.status !== PAYMENT_STATUS.CLOSING || inbox.captures.length > 0);
  }
}

/** The audit note of a late authorization's cancel (its first one dates when the engine first saw the authorization). */
const LATE_AUTHORIZATION_NOTE =
  'Plural authorized the payment while it was closing: cancelling the authorization at Plural';

/** Plural authorized a pre-auth while the payment was closing: cancel the authorization there; whether Plural answered. */
async function cancelLateAuthorization(run: PaymentRun, withoutEffect: number): Promise<boolean> {
  const { payment, steps, workflowId, durations } = run;
  const orderId = payment.s.pluralOrderId ?? '';
  const firstSeen = payment.s.audit.find((e) => e.cause === LATE_AUTHORIZATION_NOTE);
  // Counted once per payment, however many times a parked cancel is tried again.
  if (!firstSeen) payment.metrics.autoCancel(AUTO_CANCEL_REASON.LATE_AUTHORIZATION);
  payment.note(LATE_AUTHORIZATION_NOTE);
  // Tried again after the longest reconciliation delay (a payment closed before it was AUTHORIZED has no expiry of its
  // own), for as long as an authorization lives from when the engine first saw it; then it waits for an operator.
  const seenAt = Date.parse((firstSeen ?? payment.s.audit.at(-1))?.at ?? '');
  const retryAt = (): number | undefined => {
    const now = nowMs();
    const until = seenAt + durations.authorizationLifetimeMs;
    return Number.isFinite(until) && now < until ? Math.min(now + durations.reconcileMaxDelayMs, until) : undefined;
  };
  const order = await steps.run(
    'cancel',
    // Asked again after Plural answered one without effect: under a key of its own (see settle's automatic cancel).
    () =>
      steps.acts.cancelOrder({
        workflowId,
        orderId,
        step: withoutEffect === 0 ? 'late-authorization-cancel' : `late-authorization-cancel-${withoutEffect + 1}`,
      }),
    () => 'park',
    undefined,
    () => cancelRetryAtMs(run) ?? (patched(PATCH.LATE_AUTHORIZATION_CANCEL_RETRIED) ? retryAt() : undefined),
    // Parked, it confirms Plural's events as they come: an order cancelled (or captured) there ends the park.
    stopWhenSince(PATCH.PARKED_CANCEL_CONFIRMS_EVENTS, () => payment.stage !== 'AUTHORIZED'),
  );
  if (order) payment.applyOrder(order, 'late authorization cancelled');
  return order !== undefined;
}

/** Plural took money while the payment was closing: refund what it kept, once, and record it. */
async function refundTakenMoney(run: PaymentRun): Promise<void> {
  const { payment, steps, workflowId } = run;
  const s = payment.s;
  let amount = { value: payment.netCaptured, currency: s.amount.currency };
  const reason = refundReason(s.closing?.reason);
  payment.note(`Plural took ${amount.value} while the payment was closing: refunding it`);
  const lastAuto = s.refunds.filter((r) => r.reason === 'AUTO').at(-1);
  const blocked =
    amount.value < MIN_REFUND
      ? {
          code: 'REFUND_BELOW_MINIMUM',
          message: `${amount.value} is below Plural's minimum refund of ${MIN_REFUND}; refund it by hand, then retry`,
        }
      : // The engine's own last refund: one made by hand that failed is not the engine's to retry.
        lastAuto?.status === 'FAILED'
        ? {
            code: 'REFUND_FAILED',
            message: `Plural failed refund ${lastAuto.refundOrderId ?? ''}; retry to refund again`,
          }
        : undefined;
  if (blocked) {
    // An operator looks at the order, refunds by hand or not, then retries: Plural's order decides what is left.
    if (await steps.parkUntilOperator('refund', { type: 'RefundBlocked', ...blocked })) {
      steps.unpark();
      await steps.reconcile("Get Order after the operator's retry", RECONCILE_TRIGGER.CLOSING);
      // A part the operator refunded by hand meanwhile (its webhook named it) counts: the rest is refunded, less a
      // hand refund still PENDING at Plural (should that one fail, the loop refunds what it leaves).
      if (closingHasRefundsToRecord(run, true)) {
        await recordRefundsWhileClosing(run, true);
        amount = { value: refundableValue(s), currency: s.amount.currency };
      }
    }
    if (payment.netCaptured <= 0 || amount.value < MIN_REFUND) return;
  }
  // Each refund's step name makes a retry of its activity (or a replayed answer) the same refund at Plural.
  const step = `auto-refund-${s.refunds.length + 1}`;
  const refund = await steps.run(
    'refund',
    // An operator's retry looks the refund up first (activity input only: payments under way replay as before).
    (afterOperatorRetry) =>
      steps.acts.refundOrder({
        workflowId,
        orderId: s.pluralOrderId ?? '',
        amount,
        step,
        ...(afterOperatorRetry ? { retried: true as const } : {}),
      }),
    () => 'park',
  );
  if (!refund) return;
  const record: RefundRecord = {
    reason: 'AUTO',
    amount: refund.amount,
    reference: refund.reference,
    refundOrderId: refund.refundOrderId,
    status: 'PENDING',
    at: isoAt(nowMs()),
  };
  s.refunds.push(record);
  applyRefundStatus(run, record, refund.status, reason);
  if (record.status === 'PENDING') run.payment.announceRefund(record);
}

/** Reads a pending refund's order at Plural. */
async function checkRefund(run: PaymentRun, record: RefundRecord): Promise<void> {
  const order = await run.steps.lookup(record.refundOrderId ?? '');
  if (order) applyRefundStatus(run, record, order.status, refundReason(run.payment.s.closing?.reason));
}

function applyRefundStatus(run: PaymentRun, record: RefundRecord, status: string, reason: AutoRefundReason): void {
  const outcome = run.payment.settleRefund(record, status);
  // A refund made by hand (`EXTERNAL`) that the closing payment confirms is not one of the engine's automatic ones.
  if (outcome === undefined || record.reason !== 'AUTO') return;
  run.payment.metrics.autoRefund(
    reason,
    outcome === 'PROCESSED' ? AUTO_REFUND_OUTCOME.REFUNDED : AUTO_REFUND_OUTCOME.FAILED,
  );
}
