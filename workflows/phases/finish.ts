/**
 * The payment has ended: every request still waiting gets an answer (an Update left unanswered would keep the
 * workflow from completing, and its caller waiting).
 */
import type { PaymentRun } from '../run';
import { rejectCaptures } from './settle';

export function answerPending(run: PaymentRun): void {
  const { payment, inbox } = run;
  const message = `payment is ${payment.status}`;
  rejectCaptures(run);
  for (const otp of inbox.otps.splice(0)) {
    inbox.answerOtp(otp, {
      outcome: 'IGNORED',
      attemptsLeft: payment.s.otp?.attemptsLeft ?? 0,
      message,
      state: payment.snapshot(),
    });
  }
  for (const resend of inbox.resends.splice(0)) {
    inbox.answer(resend.id, { outcome: 'IGNORED', message, state: payment.snapshot() });
  }
  const cancel = inbox.takeCancel();
  if (cancel) inbox.answerAll(cancel.ids, { state: payment.snapshot() });
}
