/**
 * The payment has ended: every request still waiting gets an answer (an Update left unanswered would keep the
 * workflow from completing, and its caller waiting).
 */
import type { PaymentRun } from '../run';
import { rejectCaptures } from './settle';

export function answerPending(run: PaymentRun): void {
  const { inbox } = run;
  rejectCaptures(run);
  answerStaleOtpRequests(run);
  const cancel = inbox.takeCancel();
  if (cancel) inbox.answerAll(cancel.ids, { state: run.payment.snapshot() });
}

/** OTPs and resends still queued when the payment no longer awaits one: answered IGNORED, never sent. */
export function answerStaleOtpRequests(run: PaymentRun): void {
  const { payment, inbox } = run;
  const message = `payment is ${payment.status}`;
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
}
