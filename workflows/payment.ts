/**
 * The payment lifecycle workflow: one per order, from order creation through authentication (native OTP, the 3-D
 * Secure challenge page or Plural's hosted checkout), authorization, and capture or cancellation. It reads as the
 * lifecycle: open the order, authenticate, settle. The state and its moves live in `payment-state.ts` (over the
 * transition table of `state-machine.ts`), the message handlers in `messages.ts`, each phase in `phases/`.
 */
import { allHandlersFinished, condition, workflowInfo } from '@temporalio/workflow';
import { DEFAULT_DURATIONS, DEFAULT_LIMITS, PAYMENT_STATUS } from './definitions';
import type { PaymentState, PaymentWorkflowInput } from './definitions';
import { Inbox, registerHandlers } from './messages';
import { Payment } from './payment-state';
import { authenticate } from './phases/authenticate';
import { watchLateOutcome } from './phases/late-outcome';
import { openOrder } from './phases/open-order';
import { answerLateCaptures, settle } from './phases/settle';
import type { PaymentRun } from './run';
import { Steps } from './steps';

export { PATCH } from './patches';

/** Carries a card payment from order creation to a terminal status; returns the final state. */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentState> {
  const durations = { ...DEFAULT_DURATIONS, ...input.durations };
  const limits = { ...DEFAULT_LIMITS, ...input.limits };
  const payment = new Payment(input, durations);
  const inbox = new Inbox();
  const steps = new Steps(payment, inbox, limits);
  const run: PaymentRun = { input, workflowId: workflowInfo().workflowId, durations, limits, payment, inbox, steps };
  registerHandlers(payment, inbox);

  payment.metrics.started(input.method.kind);
  await openOrder(run);
  if (payment.awaiting) {
    const gaveUp = await authenticate(run);
    if (gaveUp && input.preAuth) await watchLateOutcome(run);
  }
  if (payment.status === PAYMENT_STATUS.AUTHORIZED && !input.preAuth) {
    payment.note('authorized without pre-auth; waiting for Plural to process it');
  }
  await settle(run);
  answerLateCaptures(run);
  await condition(allHandlersFinished);
  payment.touch();
  return { ...payment.s, nextActions: [] };
}
