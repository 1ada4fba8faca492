/**
 * The refund window of a PROCESSED payment: the workflow stays open for `refundWindowMs` after PROCESSED (waiting on a
 * timer, evicted from the worker's cache like any idle workflow) and takes the merchant's refunds as Updates. Each
 * refund is one step at Plural whose merchant reference derives from `<workflowId>:refund:<merchant refund reference>`,
 * so a retry (Temporal's, or an operator's after the step parked) is the same refund at Plural. A refund Plural
 * reports PENDING is confirmed by its REFUND_* webhook (confirmed in turn with a Get Order of the refund order) or by
 * Get Order on a backoff. A refund of the order made outside the engine (Plural's dashboard) is recorded when its
 * REFUND_* webhook names it (`EXTERNAL`), so that what was refunded agrees with Plural. The window closes early once
 * everything captured is refunded; the workflow then completes.
 * A long window continues as new when the history grows, carrying the payment's state.
 */
import { allHandlersFinished, patched } from '@temporalio/workflow';
import { isoAt, nowMs } from '../clock';
import { continueRun, historyIsLong } from '../continue-as-new';
import { MIN_REFUND_VALUE } from '../definitions';
import type { RefundAnswer, RefundRecord } from '../definitions';
import type { RefundSnapshot } from '../../activities';
import { PATCH } from '../patches';
import { REFUND_OUTCOME, REFUND_REASON } from '../metrics';
import type { PaymentRun } from '../run';
import type { FailureInfo } from '../steps';
import { refundOutcome } from '../plural-order';
import { refundableValue } from '../validators';
import { answerPending } from './finish';

/** The merchant's refund, as its idempotency key names it (the activity derives Plural's reference from it). */
const stepOf = (merchantRefundReference: string): string => `refund:${merchantRefundReference}`;

/**
 * Reads of a refund order that Plural's event named but Plural has no order for, before it is given up: the first,
 * then one at each of the refund window's next looks (30 s, then 1, 2, 4… minutes apart by default: about an hour in
 * all), since Plural's order may lag its event.
 */
const REFUND_ORDER_NOT_FOUND_READS = 8;

/**
 * Takes refunds until the window is over (or nothing is left to refund) and no refund is in flight. Returns then;
 * continues as new instead when the history has grown and nothing is in flight.
 */
export async function refundWindow(run: PaymentRun): Promise<void> {
  const { payment, inbox, steps, durations, outbox } = run;
  payment.takingRefunds = true;
  const windowEnd = Date.parse(payment.s.refundWindowEndsAt ?? '') || nowMs();
  let delay = durations.reconcileInitialDelayMs;
  let nextCheckAt = nowMs() + delay;
  const checkSoon = (): void => {
    delay = durations.reconcileInitialDelayMs;
    nextCheckAt = nowMs() + delay;
  };
  let handled = false;
  /** This run has handled something and its history is long. */
  const longHistory = (): boolean => handled && historyIsLong(run);
  /** This run has handled something, its history is long, and nothing is in flight but a merchant event. */
  const canContinue = (): boolean =>
    longHistory() && inbox.refunds.length === 0 && inbox.unconfirmed.length === 0 && allHandlersFinished();
  /**
   * Whether the window's wait ends for a continue-as-new (once the Updates it answered have finished): with merchant
   * webhooks always, as before; without, behind its patch, asked only once the history is long.
   */
  let wakesToContinue = outbox !== undefined;
  const delivering = (): boolean => outbox?.inFlight ?? false;
  // A merchant event in flight is delivered first (the next run would send it again): no other starts meanwhile.
  outbox?.pauseWhen(canContinue);
  // A refund's webhook that came before the payment was PROCESSED (confirmed by the phase before) named its order.
  // Awaited only when there is something to read: an extra await would reorder commands in histories from before.
  let toRead = refundOrdersToRead(run, inbox.refundOrdersNamed.splice(0));
  if (toRead.length > 0 && (await recordExternalRefunds(run, toRead))) checkSoon();
  for (;;) {
    // Requests accepted just before the payment was final (a capture, a cancel, an OTP) or an operator's give-up of a
    // parked refund: each gets its answer.
    answerPending(run);
    const request = inbox.refunds.shift();
    if (request) {
      await merchantRefund(run, request);
      handled = true;
      checkSoon();
      continue;
    }
    if (await steps.confirmEvents()) {
      // A refund's webhook: record a refund made outside the engine that it names, and ask Plural about each refund
      // still pending (the parent's Get Order is done above).
      toRead = refundOrdersToRead(run, inbox.refundOrdersNamed.splice(0));
      if (toRead.length > 0 && (await recordExternalRefunds(run, toRead))) checkSoon();
      await checkPendingRefunds(run);
      handled = true;
      continue;
    }
    const pending = pendingAtPlural(run);
    // Refund orders Plural could not be asked about are read again until the window's end, also when nothing is left
    // to refund (Plural's word on what it refunded still counts); then they are given up, noted, rather than holding
    // the payment open. Only the external-refunds patch (or a run continued from one) puts any there.
    const windowOpen = nowMs() < windowEnd;
    const open = windowOpen && refundableValue(payment.s) >= MIN_REFUND_VALUE;
    if (!windowOpen) giveUpUnreadRefundOrders(run, "before the window's end: not recorded");
    const unread = inbox.refundOrdersUnread.length > 0;
    if ((pending.length > 0 || unread) && nowMs() >= nextCheckAt) {
      if (unread) await recordExternalRefunds(run, inbox.refundOrdersUnread.splice(0));
      await checkPendingRefunds(run);
      delay = Math.min(delay * 2, durations.refundReconcileMaxDelayMs);
      nextCheckAt = nowMs() + delay;
      handled = true;
      continue;
    }
    if (!open && pending.length === 0 && !unread && inbox.refunds.length === 0) break;
    if (canContinue() && !delivering()) await continueRun(run);
    // Wake for the next look at a pending refund (or an unread one made outside the engine), and at the window's end
    // while it is open (for an unread one, also with nothing left to refund: it is given up then).
    const look = pending.length > 0 || unread;
    const until = !look ? windowEnd : open || (unread && windowOpen) ? Math.min(nextCheckAt, windowEnd) : nextCheckAt;
    // Also when the run may continue as new: once the Updates just answered have finished (the look above came before
    // their handlers did), and with merchant webhooks once the event in flight is delivered.
    wakesToContinue ||= longHistory() && patched(PATCH.REFUND_WINDOW_WAKES_TO_CONTINUE);
    await steps.waitFor(until, () => hasWork(run) || (wakesToContinue && canContinue() && !delivering()));
  }
  outbox?.pauseWhen(() => false);
  payment.takingRefunds = false;
  payment.refundWindowClosed = true;
  payment.note(
    `refund window closed: refunded ${payment.s.amountRefunded?.value ?? 0} of ${payment.s.amountCaptured?.value ?? 0} captured`,
  );
}

function hasWork(run: PaymentRun): boolean {
  const { inbox } = run;
  return (
    inbox.refunds.length > 0 ||
    inbox.cancel !== undefined ||
    inbox.captures.length > 0 ||
    inbox.otps.length > 0 ||
    inbox.resends.length > 0
  );
}

/** Refunds Plural has taken and not yet reported PROCESSED or FAILED. */
function pendingAtPlural(run: PaymentRun): RefundRecord[] {
  return run.payment.s.refunds.filter((r) => r.status === 'PENDING' && r.refundOrderId !== undefined);
}

/** Reads each pending refund's order at Plural and applies what it says. */
async function checkPendingRefunds(run: PaymentRun): Promise<void> {
  const { payment, steps } = run;
  let changed = false;
  for (const record of pendingAtPlural(run)) {
    const order = await steps.lookup(record.refundOrderId ?? '');
    if (order && payment.settleRefund(record, order.status) !== undefined) changed = true;
  }
  if (changed) payment.syncMemo();
}

/** Whether one of the payment's refunds is Plural's refund order `id`. */
const knownRefund = (run: PaymentRun, id: string): boolean => run.payment.s.refunds.some((r) => r.refundOrderId === id);

/**
 * Of `named`, the refund orders gateway events named, those none of the payment's refunds has, to read at Plural;
 * none for payments whose events came before this existed (no marker in their history): they ignored them.
 * Synchronous, so that a caller awaits only when there is something to read.
 */
function refundOrdersToRead(run: PaymentRun, named: string[]): string[] {
  const unknown = named.filter((id) => !knownRefund(run, id));
  return unknown.length > 0 && patched(PATCH.EXTERNAL_REFUNDS_RECORDED) ? unknown : [];
}

/**
 * Whether a payment closing after Plural took money has refunds to record that Plural's events named (one made by hand
 * on Plural's dashboard, say), or that Plural could not be asked about before (`unread`, at the closing phase's
 * looks). The named ones behind their patch, asked only when there are some; only that branch fills the unread list
 * while a payment closes. Synchronous, so that a history from before awaits nothing more.
 */
export function closingHasRefundsToRecord(run: PaymentRun, unread: boolean): boolean {
  const { inbox } = run;
  return (
    (unread && inbox.refundOrdersUnread.length > 0) ||
    (inbox.refundOrdersNamed.length > 0 && patched(PATCH.CLOSING_COUNTS_NAMED_REFUNDS))
  );
}

/** Gives up, noted (`when` ends the note), the refund orders Plural could not be asked about, or had no order for. */
export function giveUpUnreadRefundOrders(run: PaymentRun, when: string): void {
  const { inbox, payment } = run;
  if (inbox.refundOrdersUnread.length === 0) return;
  const given = inbox.refundOrdersUnread.splice(0);
  inbox.refundOrdersNotFound.clear();
  payment.note(`refund orders ${given.join(', ')} could not be read at Plural ${when}`);
}

/**
 * Records the refunds {@link closingHasRefundsToRecord} found, so that the engine's own refund is of what Plural still
 * holds.
 */
export async function recordRefundsWhileClosing(run: PaymentRun, unread: boolean): Promise<void> {
  const { inbox } = run;
  if (unread && inbox.refundOrdersUnread.length > 0) {
    await recordExternalRefunds(run, inbox.refundOrdersUnread.splice(0));
  }
  const toRead = refundOrdersToRead(run, inbox.refundOrdersNamed.splice(0));
  if (toRead.length > 0) await recordExternalRefunds(run, toRead);
}

/**
 * Reads each of `unknown` (refund orders of the payment's order that gateway events named) at Plural and records
 * Plural's refund: one made outside the engine (Plural's dashboard) as `EXTERNAL`, with the amount and status Plural
 * gives it (a PENDING one is then confirmed like the merchant's); one under the reference of the payment's own refund
 * that ended FAILED (given up while Plural could not say it had it) on that refund's record. One Plural cannot be
 * asked about now is read again at the next look; one Plural has no order for (its event came before the order could
 * be read) again at the next looks, {@link REFUND_ORDER_NOT_FOUND_READS} reads in all, then given up, noted. Returns
 * whether one was not found for the first time (the caller's backoff then starts again, so that those looks come
 * within minutes).
 */
async function recordExternalRefunds(run: PaymentRun, unknown: string[]): Promise<boolean> {
  const { payment, inbox, steps, workflowId } = run;
  const ownSteps = payment.s.refunds.flatMap((r) =>
    r.merchantRefundReference !== undefined ? [stepOf(r.merchantRefundReference)] : [],
  );
  const orderId = payment.s.pluralOrderId ?? '';
  let changed = false;
  let firstNotFound = false;
  for (const refundOrderId of unknown) {
    if (knownRefund(run, refundOrderId)) continue;
    const read = await steps.readRefund({ workflowId, orderId, refundOrderId, steps: ownSteps });
    if (read === undefined) {
      if (!inbox.refundOrdersUnread.includes(refundOrderId)) inbox.refundOrdersUnread.push(refundOrderId);
      continue;
    }
    if (read !== null && 'notFound' in read) {
      // A build before this one answered null here (and dropped the order): that history replays its own branch.
      const looks = (inbox.refundOrdersNotFound.get(refundOrderId) ?? 0) + 1;
      firstNotFound ||= looks === 1;
      if (looks < REFUND_ORDER_NOT_FOUND_READS) {
        inbox.refundOrdersNotFound.set(refundOrderId, looks);
        if (!inbox.refundOrdersUnread.includes(refundOrderId)) inbox.refundOrdersUnread.push(refundOrderId);
      } else {
        inbox.refundOrdersNotFound.delete(refundOrderId);
        payment.note(`refund order ${refundOrderId} was not found at Plural in ${looks} reads: not recorded`);
      }
      continue;
    }
    inbox.refundOrdersNotFound.delete(refundOrderId);
    if (read === null) {
      payment.note(`refund order ${refundOrderId} is not a refund of Plural order ${orderId}: ignored`);
      continue;
    }
    if (read.ownStep !== undefined) {
      const own = payment.s.refunds.find(
        (r) => r.merchantRefundReference !== undefined && stepOf(r.merchantRefundReference) === read.ownStep,
      );
      if (own?.status === 'FAILED' && own.refundOrderId === undefined && refundOutcome(read.status) !== 'FAILED') {
        // Given up on as never taken, yet Plural has it: Plural's word stands.
        payment.note(`refund ${own.merchantRefundReference ?? ''} given up on is at Plural as order ${refundOrderId}`);
        own.status = 'PENDING';
        own.failure = undefined;
        own.reference = read.reference;
        own.refundOrderId = refundOrderId;
        if (payment.settleRefund(own, read.status) === undefined) payment.announceRefund(own);
        changed = true;
      } else {
        // Its own step records it (a reference used again after Plural refused it, on its way to Plural).
        payment.note(`refund order ${refundOrderId} is this payment's own ${read.ownStep}`);
      }
      continue;
    }
    if (refundOutcome(read.status) === 'FAILED') {
      payment.note(
        `a refund of ${read.amount.value} made outside the engine failed at Plural (order ${refundOrderId})`,
      );
      continue;
    }
    const record: RefundRecord = {
      reason: 'EXTERNAL',
      amount: { ...read.amount },
      reference: read.reference,
      refundOrderId,
      status: 'PENDING',
      at: isoAt(nowMs()),
    };
    payment.s.refunds.push(record);
    payment.note(
      `a refund of ${read.amount.value} made outside the engine found at Plural as order ${refundOrderId} (${read.status})`,
    );
    if (payment.settleRefund(record, read.status) === undefined) payment.announceRefund(record);
    changed = true;
  }
  if (changed) payment.syncMemo();
  return firstNotFound;
}

/**
 * Sends one merchant refund to Plural and answers its Update: at once with PARKED when Plural keeps failing (the step
 * then waits for an operator), else once Plural has answered.
 */
async function merchantRefund(
  run: PaymentRun,
  request: { id: string; merchantRefundReference: string },
): Promise<void> {
  const { payment, steps, inbox, workflowId } = run;
  const ref = request.merchantRefundReference;
  const record = payment.merchantRefund(ref);
  if (!record) throw new Error(`refund ${ref} was accepted but has no record`);
  let answered = false;
  const reply = (outcome: RefundAnswer['outcome'], message?: string, refund: RefundRecord = record): void => {
    if (answered) return;
    answered = true;
    inbox.answer(request.id, {
      outcome,
      refund: { ...refund, amount: { ...refund.amount } },
      ...(message !== undefined ? { message } : {}),
      state: payment.snapshot(),
    } satisfies RefundAnswer);
  };
  const step = stepOf(ref);
  /** An operator retried the refund from a give-up Plural could not answer: its earlier attempts' outcome is unknown. */
  let retriedAfterGiveUp = false;
  for (;;) {
    let rejected: FailureInfo | undefined;
    const refund = await steps.run(
      'refund',
      (afterOperatorRetry) =>
        steps.acts.refundOrder({
          workflowId,
          orderId: payment.s.pluralOrderId ?? '',
          amount: record.amount,
          step,
          // Activity input only (replay compares no input): payments under way replay as before.
          ...(afterOperatorRetry || retriedAfterGiveUp ? { retried: true as const } : {}),
        }),
      (f) => {
        rejected = f;
        return 'stop';
      },
      // The merchant hears PARKED now; an operator's retry (or give-up) decides later.
      (f) => reply('PARKED', f.message),
    );
    if (refund) {
      takenByPlural(run, record, refund);
      reply('REFUNDED');
      return;
    }
    if (rejected) {
      // Plural refused: nothing was refunded, so nothing is kept (the reference may be used again) but the audit entry.
      payment.s.refunds.splice(payment.s.refunds.indexOf(record), 1);
      record.status = 'FAILED';
      record.failure = { code: rejected.code, message: rejected.message };
      payment.note(`refund ${ref} of ${record.amount.value} refused by Plural: ${rejected.code}`);
      payment.metrics.refund(REFUND_REASON.MERCHANT, REFUND_OUTCOME.REJECTED);
      payment.announceRefund(record);
      reply('REJECTED', rejected.message);
      return;
    }
    // An operator gave up on the parked refund. Plural may have taken it all the same (an answer lost in an outage).
    if (!patched(PATCH.REFUND_GIVE_UP_ASKS_PLURAL)) {
      // Payments that reached this point before the lookup existed: recorded abandoned, as they were.
      abandonRefund(run, record);
      reply('REJECTED', record.failure?.message);
      return;
    }
    if (await settleGivenUpRefund(run, record, step)) return;
    // Plural could not say: the refund stays parked, until an operator retries it (loop) or gives up again.
    retriedAfterGiveUp = true;
  }
}

/**
 * An operator gave up on a parked refund: Plural's refund under its reference decides. Taken → recorded as Plural has
 * it; none → abandoned (FAILED, its amount freed); Plural unreachable → the give-up is answered with the refund still
 * parked, and the step waits for the operator again. Returns whether the refund is settled (false: retry it).
 */
async function settleGivenUpRefund(run: PaymentRun, record: RefundRecord, step: string): Promise<boolean> {
  const { payment, steps, inbox, workflowId } = run;
  const request = { workflowId, orderId: payment.s.pluralOrderId ?? '', amount: record.amount, step };
  for (;;) {
    const found = await steps.findRefund(request);
    if (found === null) {
      abandonRefund(run, record, 'an operator gave up on the refund, and Plural holds no refund under its reference');
      return true;
    }
    if ('refundOrderId' in found) {
      payment.note(`refund ${record.merchantRefundReference} found at Plural after an operator gave up on it`);
      takenByPlural(run, record, found);
      return true;
    }
    const giveUp = inbox.takeCancel();
    const f = {
      ...found,
      message: `Plural could not be asked whether it took refund ${record.merchantRefundReference}: ${found.message}`,
    };
    if (giveUp) payment.note(`give-up of refund ${record.merchantRefundReference} held: ${f.message}`);
    // Parked again before the give-up is answered (parking happens before the call's first await), so the operator's
    // answer shows the refund parked.
    const retry = steps.parkUntilOperator('refund', f);
    if (giveUp) inbox.answerAll(giveUp.ids, { state: payment.snapshot() });
    if (await retry) return false;
    if (payment.ended) return true;
  }
}

/** Records a refund Plural took (its answer, or found by its reference). */
function takenByPlural(run: PaymentRun, record: RefundRecord, refund: RefundSnapshot): void {
  const { payment } = run;
  // Recorded already as made outside the engine (its webhook came after Plural refused a request under this
  // reference, and the reference was used again): it is this refund, counted once. Only histories with the
  // external-refunds patch hold such a record.
  const recorded = payment.s.refunds.find((r) => r.reason === 'EXTERNAL' && r.refundOrderId === refund.refundOrderId);
  if (recorded) {
    payment.s.refunds.splice(payment.s.refunds.indexOf(recorded), 1);
    Object.assign(record, {
      reference: refund.reference,
      refundOrderId: refund.refundOrderId,
      status: recorded.status,
    });
    payment.note(
      `refund ${record.merchantRefundReference ?? ''} is refund order ${refund.refundOrderId}, recorded before as made outside the engine`,
    );
    return;
  }
  record.reference = refund.reference;
  record.refundOrderId = refund.refundOrderId;
  if (refund.amount.value !== record.amount.value || refund.amount.currency !== record.amount.currency) {
    // Plural holds another amount under this refund's reference (a refund an earlier request under the reference made,
    // refused in its answer yet taken): Plural's word stands, so that the refunded amount agrees with Plural's. (State
    // only: the commands that follow are those of any refund.)
    payment.note(
      `refund ${record.merchantRefundReference ?? ''} of ${record.amount.value} is Plural's refund order ${refund.refundOrderId} of ${refund.amount.value} ${refund.amount.currency}: recorded as Plural has it`,
    );
    record.amount = { ...refund.amount };
  }
  payment.note(
    `refund ${record.merchantRefundReference} of ${record.amount.value} taken by Plural as order ${refund.refundOrderId} (${refund.status})`,
  );
  if (payment.settleRefund(record, refund.status) !== undefined) payment.syncMemo();
  else if (record.status === 'PENDING') payment.announceRefund(record);
}

/** Records a parked refund an operator gave up on, which Plural does not hold (or, before the lookup, unasked). */
function abandonRefund(
  run: PaymentRun,
  record: RefundRecord,
  message = 'an operator gave up on the refund while Plural could not be reached',
): void {
  const { payment } = run;
  record.status = 'FAILED';
  record.failure = { code: 'REFUND_ABANDONED', message };
  payment.note(`refund ${record.merchantRefundReference} abandoned by an operator while parked`);
  payment.metrics.refund(REFUND_REASON.MERCHANT, REFUND_OUTCOME.FAILED);
  payment.announceRefund(record);
}
