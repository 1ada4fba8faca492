/**
 * Phase 3, settle an authorized pre-auth: capture (full, or Plural's one partial capture) or cancel on the merchant's
 * request, and cancel automatically before the authorization expires.
 */
import { isoAt, nowMs } from '../clock';
import { PAYMENT_STATUS } from '../definitions';
import type { CaptureRequestedSignal } from '../definitions';
import { AUTO_CANCEL_REASON, CAPTURE_KIND, CAPTURE_OUTCOME, RECONCILE_TRIGGER } from '../metrics';
import type { PaymentRun } from '../run';
import type { FailureInfo } from '../steps';

/** AUTHORIZED pre-auth: wait for capture or cancel; cancel automatically before the authorization expires. */
export async function settle(run: PaymentRun): Promise<void> {
  const { payment, inbox, steps } = run;
  while (payment.status === PAYMENT_STATUS.AUTHORIZED) {
    if (await steps.confirmEvents()) continue;
    const req = inbox.captures.shift();
    if (req) {
      await capture(run, req);
      countCapture(run, req);
      continue;
    }
    if (inbox.cancel) {
      const reason = inbox.cancel.reason ?? 'merchant request';
      inbox.cancel = undefined;
      await cancelAuthorization(run, 'cancel', `cancelled: ${reason}`);
      continue;
    }
    const autoCancelAt = Date.parse(payment.s.autoCancelAt ?? isoAt(nowMs()));
    if (nowMs() >= autoCancelAt) {
      payment.metrics.autoCancel(AUTO_CANCEL_REASON.AUTHORIZATION_EXPIRY);
      await cancelAuthorization(run, 'auto-cancel', 'automatic cancel before the authorization expires');
      continue;
    }
    await steps.waitFor(
      autoCancelAt,
      () => payment.status !== PAYMENT_STATUS.AUTHORIZED || inbox.captures.length > 0 || inbox.cancel !== undefined,
    );
  }
}

/** Captures that cannot apply (the payment is not an authorized pre-auth) get an answer instead of silence. */
export function rejectCaptures(run: PaymentRun): void {
  const { payment, inbox } = run;
  for (const req of inbox.captures.splice(0)) {
    payment.s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message: `payment is ${payment.status}` };
    countCapture(run, req);
  }
}

async function capture(run: PaymentRun, req: CaptureRequestedSignal): Promise<void> {
  const { payment, steps, workflowId } = run;
  const s = payment.s;
  const authorized = s.amountAuthorized ?? s.amount;
  const reject = (message: string): void => {
    s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message };
    payment.note(`capture ${req.requestId} rejected: ${message}`);
  };
  if (payment.captureAttempted) return reject(`order ${s.pluralOrderId ?? ''} was already captured once`);
  const amount = req.amount;
  if (amount !== undefined) {
    if (amount.currency !== authorized.currency) {
      return reject(`capture currency ${amount.currency} differs from authorized ${authorized.currency}`);
    }
    if (!Number.isSafeInteger(amount.value) || amount.value <= 0) {
      return reject(`capture amount ${amount.value} must be a positive integer of minor units`);
    }
    if (amount.value > authorized.value) {
      return reject(
        `capture amount ${amount.value} exceeds authorized ${authorized.value} for order ${s.pluralOrderId ?? ''}`,
      );
    }
  }
  payment.captureAttempted = true;
  const partial = amount !== undefined && amount.value < authorized.value ? amount : undefined;
  const orderId = s.pluralOrderId ?? '';
  for (;;) {
    let rejected: FailureInfo | undefined;
    const order = await steps.run(
      'capture',
      () => steps.acts.captureOrder({ workflowId, orderId, amount: partial }),
      (f) => {
        rejected = f;
        return 'stop';
      },
    );
    if (order) {
      payment.applyOrder(order, `captured (${req.requestId})`);
      if (payment.status === PAYMENT_STATUS.PROCESSED)
        s.lastCapture = { requestId: req.requestId, outcome: 'CAPTURED' };
      return;
    }
    if (!rejected) {
      s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message: 'capture abandoned while parked' };
      return;
    }
    // Plural said no: a declined capture fails the order there; anything else leaves it AUTHORIZED (park it).
    await steps.reconcile('Get Order after a rejected capture', RECONCILE_TRIGGER.CAPTURE_REJECTED);
    if (payment.status !== PAYMENT_STATUS.AUTHORIZED) {
      s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message: rejected.message };
      return;
    }
    s.lastCapture = { requestId: req.requestId, outcome: 'PARKED', message: rejected.message };
    if (!(await steps.parkUntilOperator('capture', rejected))) return;
  }
}

/** One count per capture request, once its outcome is known (`lastCapture` answers that request). */
function countCapture(run: PaymentRun, req: CaptureRequestedSignal): void {
  const s = run.payment.s;
  const authorized = s.amountAuthorized ?? s.amount;
  const kind =
    req.amount !== undefined && req.amount.value < authorized.value ? CAPTURE_KIND.PARTIAL : CAPTURE_KIND.FULL;
  const captured = s.lastCapture?.requestId === req.requestId && s.lastCapture.outcome === 'CAPTURED';
  run.payment.metrics.capture(kind, captured ? CAPTURE_OUTCOME.CAPTURED : CAPTURE_OUTCOME.REJECTED);
}

async function cancelAuthorization(run: PaymentRun, stepName: string, cause: string): Promise<void> {
  const { payment, steps, workflowId } = run;
  const orderId = payment.s.pluralOrderId ?? '';
  payment.note(`${cause}: cancelling at Plural`);
  const order = await steps.run(
    'cancel',
    () => steps.acts.cancelOrder({ workflowId, orderId, step: stepName }),
    () => 'park',
  );
  if (order) payment.applyOrder(order, cause);
  else await steps.reconcile(`Get Order after ${stepName} was not completed`, RECONCILE_TRIGGER.CANCEL_INCOMPLETE);
}
