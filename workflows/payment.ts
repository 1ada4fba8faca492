/**
 * The payment lifecycle workflow: one per order, from order creation through authentication (native OTP, the 3-D
 * Secure challenge page or Plural's hosted checkout) to a final status that agrees with Plural's order, then, for a
 * PROCESSED payment, its refund window. It reads as the lifecycle: open the order, run the phase of the payment's
 * status until it is terminal, take refunds until the window is over. The state and its moves live in
 * `payment-state.ts` (over the transition table of `state-machine.ts`), the message handlers in `messages.ts`, each
 * phase in `phases/`.
 */
import { allHandlersFinished, CancellationScope, condition, patched, workflowInfo } from '@temporalio/workflow';
import { DEFAULT_DURATIONS, DEFAULT_LIMITS, DEFAULT_MERCHANT_ID, PAYMENT_STATUS } from './definitions';
import type { PaymentState, PaymentWorkflowInput } from './definitions';
import { MerchantOutbox } from './merchant-outbox';
import { Inbox, registerHandlers } from './messages';
import { RECONCILE_TRIGGER } from './metrics';
import { Payment } from './payment-state';
import { authenticate } from './phases/authenticate';
import { closePayment } from './phases/closing';
import { discardUnusedHandOff, openOrder } from './phases/open-order';
import { awaitSaleProcessed } from './phases/processing';
import { answerPending, answerStaleOtpRequests } from './phases/finish';
import { refundWindow } from './phases/refunds';
import { settle } from './phases/settle';
import type { PaymentRun } from './run';
import { PATCH } from './patches';
import { Steps } from './steps';

export { PATCH } from './patches';

/**
 * Carries a payment from order creation to a terminal status, and a PROCESSED one through its refund window; returns
 * the final state. A run started by continue-as-new (`input.continued`) carries on where the last run was: the refund
 * window, a sale Plural is still processing, or a payment closing.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentState> {
  const durations = { ...DEFAULT_DURATIONS, ...input.durations };
  const limits = { ...DEFAULT_LIMITS, ...input.limits };
  const payment = new Payment(input, durations);
  const inbox = new Inbox();
  for (const seen of input.continued?.seenEvents ?? []) inbox.seenEvents.add(seen);
  inbox.refundOrdersNamed.push(...(input.continued?.refundOrdersNamed ?? []));
  inbox.refundOrdersUnread.push(...(input.continued?.refundOrdersUnread ?? []));
  for (const [id, looks] of Object.entries(input.continued?.refundOrdersNotFound ?? {})) {
    inbox.refundOrdersNotFound.set(id, looks);
  }
  const steps = new Steps(payment, inbox, limits, durations, input.customer?.customerId);
  const workflowId = workflowInfo().workflowId;
  const endpointIds = input.webhookEndpointIds ?? [];
  const outbox =
    endpointIds.length > 0
      ? new MerchantOutbox(
          payment,
          input.merchantId ?? DEFAULT_MERCHANT_ID,
          workflowId,
          endpointIds,
          limits,
          input.continued?.merchantOutbox,
        )
      : undefined;
  payment.events = outbox;
  const run: PaymentRun = { input, workflowId, durations, limits, payment, inbox, steps, outbox };
  registerHandlers(input, payment, inbox);

  // Temporal's own cancellation (`temporal workflow cancel`, the UI's "Request Cancellation") is a cancel request like
  // the merchant's: abandoning the workflow there would leave an authorization open or money taken at Plural. The
  // phases therefore run in a scope it cannot interrupt.
  CancellationScope.current().cancelRequested.catch(() => {
    inbox.requestCancel('Temporal workflow cancellation', 'workflow');
  });
  return CancellationScope.nonCancellable(async () => {
    outbox?.start();
    if (input.continued) {
      // The previous run's search attributes and memo, stated again by this run.
      payment.upsertSearchAttributes();
      payment.upsertMemo();
    } else {
      payment.metrics.started(input.method.kind);
      await openOrder(run);
      await discardUnusedHandOff(run);
    }
    // A continued run is in its refund window, or watching Plural's order (a sale it is processing, a payment closing).
    const watching = payment.status === PAYMENT_STATUS.PROCESSING || payment.status === PAYMENT_STATUS.CLOSING;
    if (!input.continued || watching) {
      for (;;) {
        if (payment.awaiting) {
          await authenticate(run);
          // OTPs or resends queued behind the one that ended authentication are answered now, not at the payment's
          // end (days later for an authorization). `patched` only when there are some: its marker costs a write.
          const stale = !payment.awaiting && (inbox.otps.length > 0 || inbox.resends.length > 0);
          if (stale && patched(PATCH.NOTHING_WAITS_FOREVER)) answerStaleOtpRequests(run);
        } else if (payment.status === PAYMENT_STATUS.PROCESSING) await awaitSaleProcessed(run);
        else if (payment.status === PAYMENT_STATUS.AUTHORIZED) await settle(run);
        else if (payment.status === PAYMENT_STATUS.CLOSING) await closePayment(run);
        else break;
      }
      answerPending(run);
      // A card saved by a sale Plural processed at once may be listed only now: one more look, best effort.
      if (payment.status === PAYMENT_STATUS.PROCESSED && steps.savedCardLookup() !== undefined) {
        await steps.reconcile('Get Order for the saved card', RECONCILE_TRIGGER.SAVED_CARD);
      }
    }
    if (payment.status === PAYMENT_STATUS.PROCESSED) await refundWindow(run);
    answerPending(run);
    // The merchant hears of the end too: the workflow stays until its last event is delivered (or given up on).
    if (outbox) await condition(() => outbox.drained);
    await condition(allHandlersFinished);
    payment.touch();
    return { ...payment.snapshot(), nextActions: [] };
  });
}
