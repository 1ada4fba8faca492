/**
 * Phase 3, settle an authorized pre-auth: capture (full, or Plural's one partial capture) or cancel on the merchant's
 * request, and cancel automatically before the authorization expires.
 */
import { patched } from '@temporalio/workflow';
import { isoAt, nowMs } from '../clock';
import { FAILURE_TYPE, PAYMENT_STATUS } from '../definitions';
import type { CaptureAnswer, CaptureRequest, Money, PaymentStatus } from '../definitions';
import { AUTO_CANCEL_REASON, CAPTURE_KIND, CAPTURE_OUTCOME, RECONCILE_TRIGGER } from '../metrics';
import type { PaymentRun } from '../run';
import { PATCH } from '../patches';
import { stopWhenSince } from '../steps';
import type { FailureInfo } from '../steps';

/** AUTHORIZED pre-auth: wait for capture or cancel; cancel automatically before the authorization expires. */
export async function settle(run: PaymentRun): Promise<void> {
  const { payment, inbox, steps } = run;
  /** Automatic cancels Plural answered with its order still AUTHORIZED. */
  let withoutEffect = 0;
  /** Merchant cancels Plural answered with its order still AUTHORIZED. */
  let merchantCancelsWithoutEffect = 0;
  while (payment.status === PAYMENT_STATUS.AUTHORIZED) {
    if (await steps.confirmEvents()) continue;
    const req = inbox.captures.shift();
    if (req) {
      let answered = false;
      const reply = (a: CaptureAnswer): void => {
        if (answered) return;
        answered = true;
        inbox.answer(req.id, a);
      };
      const { answer, parked, partial } = await capture(run, req, reply);
      reply(answer);
      if (parked) await retryParkedCapture(run, parked, partial);
      // Counted once its outcome is known: a parked capture by what the operator's retries made of it.
      const captured = (payment.status as PaymentStatus) === PAYMENT_STATUS.PROCESSED;
      countCapture(run, req, parked ? (captured ? 'CAPTURED' : 'REJECTED') : answer.outcome);
      continue;
    }
    const cancel = inbox.takeCancel();
    if (cancel) {
      let answered = false;
      const answerCancel = (): void => {
        if (answered) return;
        answered = true;
        inbox.answerAll(cancel.ids, { state: payment.snapshot() });
      };
      // A cancel asked again after Plural answered one without effect goes under a key of its own, as the automatic
      // cancel's does: a Plural that replays a key's answer would answer the merchant's repeat the same. (Activity
      // input only, which replay does not compare: payments under way replay as before.)
      const step = merchantCancelsWithoutEffect === 0 ? 'cancel' : `cancel-${merchantCancelsWithoutEffect + 1}`;
      // Its requests hear the parked cancel at once (before: once an operator acted). `patched` only on this rare
      // path: its marker costs every payment that records it a search-attribute write.
      const took = await cancelAuthorization(run, step, `cancelled: ${cancel.reason ?? 'merchant request'}`, () => {
        if (patched(PATCH.NOTHING_WAITS_FOREVER)) answerCancel();
      });
      if (took && payment.status === PAYMENT_STATUS.AUTHORIZED) merchantCancelsWithoutEffect += 1;
      answerCancel();
      // Parked past its retry time with the authorization still open: the cancel is asked for again.
      if (payment.status === PAYMENT_STATUS.AUTHORIZED && steps.parkDeadlinePassed) {
        inbox.requestCancel(cancel.reason, cancel.source);
      }
      continue;
    }
    const autoCancelAt = Date.parse(payment.s.autoCancelAt ?? isoAt(nowMs()));
    if (nowMs() >= autoCancelAt) {
      // Counted once per payment, however many times Plural answers it without effect.
      if (withoutEffect === 0) payment.metrics.autoCancel(AUTO_CANCEL_REASON.AUTHORIZATION_EXPIRY);
      // Each cancel asked again (Plural answered the one before without effect) under a key of its own: a Plural that
      // replays a key's answer would otherwise answer it the same for ever.
      const answered = await cancelAuthorization(
        run,
        withoutEffect === 0 ? 'auto-cancel' : `auto-cancel-${withoutEffect + 1}`,
        'automatic cancel before the authorization expires',
      );
      if (answered && payment.status === PAYMENT_STATUS.AUTHORIZED && patched(PATCH.CANCEL_AGAIN_AFTER_A_PAUSE)) {
        withoutEffect += 1;
        await pauseBeforeCancellingAgain(run);
      }
      continue;
    }
    await steps.waitFor(
      autoCancelAt,
      () => payment.status !== PAYMENT_STATUS.AUTHORIZED || inbox.captures.length > 0 || inbox.cancel !== undefined,
    );
  }
  // A capture the engine ended without taking the money (abandoned at the automatic cancel time, or refused) whose
  // order a later read finds captured after all: the payment's last capture says what Plural took. (State only.)
  const last = payment.s.lastCapture;
  if (payment.status === PAYMENT_STATUS.PROCESSED && last !== undefined && last.outcome !== 'CAPTURED') {
    payment.s.lastCapture = {
      outcome: 'CAPTURED',
      message: `Plural's order shows it captured (this capture had ended ${last.outcome}: ${last.message ?? ''})`,
    };
  }
}

/** Captures that cannot apply (the payment is not an authorized pre-auth) get an answer instead of silence. */
export function rejectCaptures(run: PaymentRun): void {
  const { payment, inbox } = run;
  for (const req of inbox.captures.splice(0)) {
    const message = `payment is ${payment.status}; it cannot be captured`;
    payment.s.lastCapture = { outcome: 'REJECTED', message };
    countCapture(run, req, 'REJECTED');
    inbox.answer(req.id, { outcome: 'REJECTED', message, state: payment.snapshot() });
  }
}

/** Captures the authorization (or the amount asked for) and says what became of this request. */
async function capture(
  run: PaymentRun,
  req: CaptureRequest,
  reply: (answer: CaptureAnswer) => void,
): Promise<{ answer: CaptureAnswer; parked?: FailureInfo; partial?: Money }> {
  const { payment } = run;
  const s = payment.s;
  const authorized = s.amountAuthorized ?? s.amount;
  // The validator checked the request when it arrived; one capture per order stays the rule here too.
  if (payment.captureAttempted) {
    const message = `a capture of order ${s.pluralOrderId ?? ''} was already asked for (Plural allows one capture)`;
    return { answer: captureAnswer(run, 'REJECTED', message) };
  }
  payment.captureAttempted = true;
  const partial = req.amount !== undefined && req.amount.value < authorized.value ? req.amount : undefined;
  // Plural unreachable past the retries: the step parks inside `run`, and the merchant hears PARKED at once.
  const attempt = await attemptCapture(run, partial, (f) => reply(captureAnswer(run, 'PARKED', f.message)));
  if (attempt.parked) {
    // The merchant hears PARKED now; the operator's retry (or give-up) decides later.
    return { answer: captureAnswer(run, 'PARKED', attempt.parked.message), parked: attempt.parked, partial };
  }
  return { answer: attempt.answer };
}

/** One capture at Plural: the answer, or the refusal to park on when Plural said no but kept the authorization. */
async function attemptCapture(
  run: PaymentRun,
  partial: Money | undefined,
  onParked?: (f: FailureInfo) => void,
  /**
   * An operator's retry of a refused capture, the how-manyth: its first call reads Plural's order first, as a retry
   * does, and it goes under a key of its own (Plural's answer to the refused one's key would be the refusal again).
   */
  afterRefusals?: number,
): Promise<{ answer: CaptureAnswer; parked?: undefined } | { parked: FailureInfo }> {
  const { payment, steps, workflowId } = run;
  const orderId = payment.s.pluralOrderId ?? '';
  let rejected: FailureInfo | undefined;
  // Parked on an outage, it confirms Plural's events while it waits: an order moved on there ends the wait.
  const moot = (): boolean => payment.status !== PAYMENT_STATUS.AUTHORIZED;
  const order = await steps.run(
    'capture',
    (afterOperatorRetry) =>
      steps.acts.captureOrder({
        workflowId,
        orderId,
        amount: partial,
        ...(afterOperatorRetry || afterRefusals !== undefined ? { retried: true } : {}),
        ...(afterRefusals !== undefined ? { afterRefusals } : {}),
      }),
    (f) => {
      rejected = f;
      // An operator's retry of a refused capture, refused again: the step stays parked while Plural's order is read
      // below, so that the retry is answered with the capture parked again (its retries counted), not with a
      // payment that looks unparked for the length of that read. `patched` only on this path.
      return afterRefusals !== undefined && patched(PATCH.CAPTURE_RETRY_STAYS_PARKED) ? 'keep' : 'stop';
    },
    onParked,
    () => autoCancelAtMs(run),
    moot,
  );
  if (order) {
    payment.applyOrder(order, 'captured');
    return {
      answer:
        payment.status === PAYMENT_STATUS.PROCESSED
          ? captureAnswer(run, 'CAPTURED')
          : captureAnswer(run, 'REJECTED', `Plural's order is ${order.status} after the capture`),
    };
  }
  if (!rejected) {
    if (moot()) return { answer: orderMovedWhileParked(run) };
    const why = steps.parkDeadlinePassed
      ? 'capture abandoned while parked: the automatic cancel time came'
      : 'capture abandoned while parked';
    return { answer: captureAnswer(run, 'REJECTED', why) };
  }
  // Plural said no: a declined capture fails the order there; anything else leaves it AUTHORIZED (park it). An
  // order the read finds captured after all (an earlier attempt's capture completed) answers CAPTURED: the merchant is
  // told what Plural took. (The answer and the audit only, no command: replay-safe.)
  await steps.reconcile('Get Order after a rejected capture', RECONCILE_TRIGGER.CAPTURE_REJECTED);
  // (A step kept parked above is unparked here when the capture is over; a no-op on every other path.)
  if (payment.status === PAYMENT_STATUS.PROCESSED) {
    steps.unpark();
    return { answer: captureAnswer(run, 'CAPTURED') };
  }
  if (payment.status !== PAYMENT_STATUS.AUTHORIZED) {
    steps.unpark();
    return { answer: captureAnswer(run, 'REJECTED', rejected.message) };
  }
  return { parked: rejected };
}

/** A parked capture: wait for the operator, capture again, until it is done or the operator gives up. */
async function retryParkedCapture(run: PaymentRun, parked: FailureInfo, partial: Money | undefined): Promise<void> {
  let refusal: FailureInfo | undefined = parked;
  let refusals = 0;
  const { payment } = run;
  // Plural's events are confirmed while the capture waits: an order captured, cancelled or failed there ends the wait.
  const moot = (): boolean => payment.status !== PAYMENT_STATUS.AUTHORIZED;
  while (refusal) {
    payment.s.lastCapture = { outcome: 'PARKED', message: refusal.message };
    if (!(await run.steps.parkUntilOperator('capture', refusal, autoCancelAtMs(run), moot))) {
      if (moot()) {
        orderMovedWhileParked(run);
        return;
      }
      // Abandoned: the merchant's last capture no longer reads PARKED. (State only, no command: replay-safe.)
      run.payment.s.lastCapture = {
        outcome: 'REJECTED',
        message: run.steps.parkDeadlinePassed
          ? 'capture abandoned while parked: the automatic cancel time came'
          : 'capture abandoned while parked: an operator gave up',
      };
      return;
    }
    refusals += 1;
    const attempt = await attemptCapture(run, partial, undefined, refusals);
    refusal = attempt.parked;
  }
}

/** What a parked capture became once Plural's order moved on while it waited: CAPTURED when captured there. */
function orderMovedWhileParked(run: PaymentRun): CaptureAnswer {
  const { payment } = run;
  if (payment.status === PAYMENT_STATUS.PROCESSED) return captureAnswer(run, 'CAPTURED');
  const message = `Plural's order was ${payment.s.pluralOrderStatus ?? payment.status} while the capture was parked`;
  payment.s.lastCapture = { outcome: 'REJECTED', message };
  return { outcome: 'REJECTED', message, state: payment.snapshot() };
}

function captureAnswer(run: PaymentRun, outcome: CaptureAnswer['outcome'], message?: string): CaptureAnswer {
  const { payment } = run;
  const s = payment.s;
  s.lastCapture = { outcome, ...(message !== undefined ? { message } : {}) };
  if (outcome === 'REJECTED' && message !== undefined) payment.note(`capture rejected: ${message}`);
  return {
    outcome,
    ...(outcome === 'CAPTURED' && s.amountCaptured ? { amountCaptured: { ...s.amountCaptured } } : {}),
    ...(message !== undefined ? { message } : {}),
    state: payment.snapshot(),
  };
}

/** One count per capture request, once its outcome is known. */
function countCapture(run: PaymentRun, req: CaptureRequest, outcome: CaptureAnswer['outcome']): void {
  const s = run.payment.s;
  const authorized = s.amountAuthorized ?? s.amount;
  const kind =
    req.amount !== undefined && req.amount.value < authorized.value ? CAPTURE_KIND.PARTIAL : CAPTURE_KIND.FULL;
  run.payment.metrics.capture(kind, outcome === 'CAPTURED' ? CAPTURE_OUTCOME.CAPTURED : CAPTURE_OUTCOME.REJECTED);
}

/** When a parked step must stop waiting for an operator: the automatic cancel time (epoch ms). */
function autoCancelAtMs(run: PaymentRun): number | undefined {
  const at = Date.parse(run.payment.s.autoCancelAt ?? '');
  return Number.isFinite(at) ? at : undefined;
}

/**
 * When a parked cancel is tried again on its own: after the longest reconciliation delay, while the authorization
 * has not expired (after that, Plural has released it; the operator decides).
 */
export function cancelRetryAtMs(run: PaymentRun): number | undefined {
  const expires = Date.parse(run.payment.s.authorizationExpiresAt ?? '');
  const now = nowMs();
  if (!Number.isFinite(expires) || now >= expires) return undefined;
  return Math.min(now + run.durations.reconcileMaxDelayMs, expires);
}

/**
 * Plural answered the automatic cancel, but its order still reads AUTHORIZED (its order can trail its payment): the
 * order is read again after the longest reconciliation delay, and the loop cancels again only if it is still
 * AUTHORIZED then. Past the authorization's expiry the cancel parks for an operator instead (Plural has released the
 * authorization; the operator decides, as for a parked cancel). Captures are refused meanwhile: the engine is
 * cancelling. Before, the loop cancelled again at once, with no timer between the cancels.
 */
async function pauseBeforeCancellingAgain(run: PaymentRun): Promise<void> {
  const { payment, inbox, steps } = run;
  payment.noteOnce(CANCEL_ANSWERED_AUTHORIZED_NOTE);
  // Only the capture validator reads it (validators never run on replay): no command depends on it.
  payment.cancelling = true;
  try {
    const retryAt = cancelRetryAtMs(run);
    if (retryAt === undefined) {
      // Parked, it confirms Plural's events as they come: an order cancelled (or captured) there ends the park.
      await steps.parkUntilOperator(
        'cancel',
        {
          type: FAILURE_TYPE.CANCEL_REJECTED,
          code: 'CANCEL_WITHOUT_EFFECT',
          message: "Plural's order still reads AUTHORIZED after its cancel, and the authorization has expired",
        },
        undefined,
        () => payment.status !== PAYMENT_STATUS.AUTHORIZED,
      );
      return;
    }
    await steps.waitFor(
      retryAt,
      () => payment.status !== PAYMENT_STATUS.AUTHORIZED || inbox.captures.length > 0 || inbox.cancel !== undefined,
    );
    if (payment.status === PAYMENT_STATUS.AUTHORIZED) {
      await steps.reconcile('Get Order before cancelling again', RECONCILE_TRIGGER.CANCEL_INCOMPLETE);
    }
  } finally {
    // Still AUTHORIZED, the loop cancels again next (after confirming any event that ended the pause early): captures
    // stay refused until that cancel's own step clears it. (The validator's input only: no command changes.)
    if (payment.status !== PAYMENT_STATUS.AUTHORIZED) payment.cancelling = false;
  }
}

/** The audit note (once per payment) of a cancel Plural answered with its order still AUTHORIZED. */
export const CANCEL_ANSWERED_AUTHORIZED_NOTE =
  'Plural answered the cancel, but its order still reads AUTHORIZED: reading it again before cancelling again';

/** Cancels the authorization at Plural; whether Plural answered (false: parked and abandoned, or not completed). */
async function cancelAuthorization(
  run: PaymentRun,
  stepName: string,
  cause: string,
  onParked?: () => void,
): Promise<boolean> {
  const { payment, steps, workflowId } = run;
  const orderId = payment.s.pluralOrderId ?? '';
  payment.note(`${cause}: cancelling at Plural`);
  // Only the capture validator reads it (validators never run on replay): no command depends on it.
  payment.cancelling = true;
  try {
    const order = await steps.run(
      'cancel',
      () => steps.acts.cancelOrder({ workflowId, orderId, step: stepName }),
      () => 'park',
      onParked,
      () => cancelRetryAtMs(run),
      // Parked, it confirms Plural's events as they come: an order cancelled (or captured) there ends the park.
      stopWhenSince(PATCH.PARKED_CANCEL_CONFIRMS_EVENTS, () => payment.status !== PAYMENT_STATUS.AUTHORIZED),
    );
    if (order) payment.applyOrder(order, cause);
    else await steps.reconcile(`Get Order after ${stepName} was not completed`, RECONCILE_TRIGGER.CANCEL_INCOMPLETE);
    return order !== undefined;
  } finally {
    payment.cancelling = false;
  }
}
